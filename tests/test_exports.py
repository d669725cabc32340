"""Public names: eventlet's top-level names that greenlane maps, and every module's ``__all__``.

Each must exist and carry a docstring, and every public module must import.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from typing import Any

import pytest

import greenlane

# eventlet's top-level names (reference eventlet.md, section 2, "eventlet (top level)").
EVENTLET_TOP_LEVEL = [
    "spawn", "spawn_n", "spawn_after", "sleep", "kill", "getcurrent",
    "GreenPool", "GreenPile", "Queue", "Event",
    "Semaphore", "BoundedSemaphore", "CappedSemaphore",
    "Timeout", "with_timeout", "is_timeout", "wrap_is_timeout",
    "listen", "connect", "serve", "StopServe", "wrap_ssl",
    "monkey_patch", "import_patched",
    "__version__", "EventletDeprecationWarning",
    "TimeoutError", "exc_after", "call_after_global",
]

# Deliberately not offered at the top level (deprecated in eventlet, or eventlet-specific).
NOT_PROVIDED = {"EventletDeprecationWarning", "TimeoutError", "exc_after", "call_after_global"}

# Modules the core must always provide: never skipped.
CORE = ["greenlane.greenthread", "greenlane.event", "greenlane.timeout", "greenlane.hubs",
        "greenlane.hubs.hub", "greenlane.hubs.timer", "greenlane.hubs.epolls",
        "greenlane.hubs.poll", "greenlane.hubs.selects", "greenlane.hubs.kqueue",
        "greenlane.debug"]


def _import(name: str) -> types.ModuleType:
    return importlib.import_module(name)


def _public_modules() -> list[str]:
    names = set(CORE)
    for info in pkgutil.walk_packages(greenlane.__path__, "greenlane.",
                                      onerror=lambda name: None):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.add(info.name)
    return sorted(names)


def _has_doc(obj: Any) -> bool:
    doc = inspect.getdoc(obj)
    return bool(doc and doc.strip())


def _needs_doc(obj: Any) -> bool:
    # Names greenlane defines; stdlib objects that green.* modules re-export as they are
    # (os.DirEntry, ssl.MemoryBIO, ...) keep whatever documentation they come with.
    if isinstance(obj, types.ModuleType):
        return obj.__name__.startswith("greenlane")
    if not (inspect.isclass(obj) or callable(obj)):
        return False
    return str(getattr(obj, "__module__", "") or "").startswith("greenlane")


def test_every_eventlet_name_is_mapped_or_known_missing() -> None:
    unmapped = [name for name in EVENTLET_TOP_LEVEL
                if name not in greenlane._EXPORTS and name != "__version__"
                and name not in NOT_PROVIDED]
    assert unmapped == []


def test_all_lists_exports() -> None:
    assert set(greenlane.__all__) == {"__version__", *greenlane._EXPORTS}
    assert set(dir(greenlane)) >= set(greenlane.__all__)
    assert isinstance(greenlane.__version__, str)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        greenlane.no_such_name  # noqa: B018


@pytest.mark.parametrize("name", sorted(greenlane._EXPORTS))
def test_top_level_name(name: str) -> None:
    module = _import(greenlane._EXPORTS[name])
    value = getattr(greenlane, name)
    assert value is getattr(module, name)
    assert _has_doc(value), f"greenlane.{name} has no docstring"
    if name in EVENTLET_TOP_LEVEL or name in ("GreenThread", "spawn_after_local"):
        assert name in module.__all__, f"{module.__name__}.__all__ lacks {name}"


@pytest.mark.parametrize("module_name", _public_modules())
def test_module_all(module_name: str) -> None:
    module = _import(module_name)
    assert _has_doc(module), f"{module_name} has no module docstring"
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ has duplicates"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{module_name}.__all__ names that do not exist: {missing}"
    undocumented = [name for name in exported
                    if _needs_doc(getattr(module, name)) and not _has_doc(getattr(module, name))]
    assert undocumented == [], f"{module_name}: names without a docstring: {undocumented}"


@pytest.mark.parametrize("module_name", CORE)
def test_core_public_methods_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    undocumented = []
    for name in module.__all__:
        cls = getattr(module, name)
        if not inspect.isclass(cls) or cls.__module__ != module_name:
            continue
        for attr, value in vars(cls).items():
            if attr.startswith("_") or not (callable(value) or isinstance(value, property)):
                continue
            if not _has_doc(value):
                undocumented.append(f"{name}.{attr}")
    assert undocumented == []
