"""The import hook behind the ``eventlet`` alias: ``eventlet.X.Y`` is ``greenlane.X.Y``.

A ``sys.meta_path`` finder answers for ``eventlet`` and every ``eventlet.*`` name. Its loader
does not execute anything: ``create_module`` hands back the greenlane module, imported the
normal way under its own name, so both names are bound to one module object. Aliasing only the
top package in ``sys.modules`` would not do: ``import eventlet.hubs`` would then run the hub
module a second time under another name, with a second copy of its per-thread state.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Optional

__all__ = [
    "ALIAS",
    "TARGET",
    "EventletAliasFinder",
    "EventletAliasWarning",
    "install",
    "is_installed",
    "has_eventlet_defaults",
    "uninstall",
]

ALIAS = "eventlet"
"""The package name the alias answers for."""

TARGET = "greenlane"
"""The package every aliased name resolves to."""


class EventletAliasWarning(RuntimeWarning):
    """The alias could not take effect, e.g. because the real eventlet is already imported."""


def _target_name(fullname: str) -> Optional[str]:
    if fullname == ALIAS:
        return TARGET
    if fullname.startswith(ALIAS + "."):
        return TARGET + fullname[len(ALIAS):]
    return None


def _is_greenlane_module(module: object) -> bool:
    name = getattr(module, "__name__", None)
    return isinstance(name, str) and (name == TARGET or name.startswith(TARGET + "."))


def _import_target(fullname: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        # Only "this greenlane module does not exist" becomes the alias's error; a module that
        # exists but fails to import (an optional dependency missing, a bug) keeps its own.
        missing = exc.name or ""
        if not (target == missing or target.startswith(missing + ".")):
            raise
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: the eventlet alias looked for {target!r}, which "
            f"greenlane does not have (greenlane.compat maps eventlet.X to greenlane.X)",
            name=fullname) from None


class _AliasLoader(importlib.abc.Loader):
    """Loads an ``eventlet.*`` name by returning the greenlane module already imported."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self._module

    def exec_module(self, module: ModuleType) -> None:
        # importlib has just set the module's __spec__ to the alias spec; the module is still
        # greenlane's (its __name__ says so), so give it back its own spec: reload() and
        # pickling by module name then keep working on the greenlane name.
        module.__spec__ = self._spec


class EventletAliasFinder(importlib.abc.MetaPathFinder):
    """The ``sys.meta_path`` entry that serves ``eventlet`` and ``eventlet.*`` from greenlane.

    Any other name is left to the finders after it. A name greenlane lacks raises
    ``ModuleNotFoundError`` naming both the eventlet module asked for and the greenlane module
    looked for.
    """

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        """Build the spec for an aliased name (importing the greenlane module), else None."""
        target_name = _target_name(fullname)
        if target_name is None:
            return None
        module = _import_target(fullname, target_name)
        is_package = hasattr(module, "__path__")
        return importlib.util.spec_from_loader(fullname, _AliasLoader(module),
                                               is_package=is_package)

    def invalidate_caches(self) -> None:
        """Nothing is cached: every look-up asks the import system for the greenlane module."""

    def __repr__(self) -> str:
        return f"<EventletAliasFinder {ALIAS}.* -> {TARGET}.*>"


def is_installed() -> bool:
    """Whether the alias finder is on ``sys.meta_path``."""
    return any(isinstance(f, EventletAliasFinder) for f in sys.meta_path)


def _foreign_eventlet() -> Optional[ModuleType]:
    for name in (ALIAS, *(n for n in list(sys.modules) if n.startswith(ALIAS + "."))):
        module = sys.modules.get(name)
        if module is not None and not _is_greenlane_module(module):
            return module
    return None


# The servers' process-wide settings that eventlet's defaults change: (module, class,
# attribute, greenlane's value, eventlet's value). Each is a documented class attribute of a
# server-layer class, set when its module is imported (patcher.after_import), so installing
# the alias imports none of them.
_EVENTLET_DEFAULTS = (
    ("greenlane.wsgi", "Server", "require_host_default", True, False),
    ("greenlane.wsgi", "HttpProtocol", "minimum_chunk_size", 0, 4096),  # MINIMUM_CHUNK_SIZE
    ("greenlane.websocket", "WebSocketWSGI", "support_legacy_versions", False, True),
    ("greenlane.green.threading", "CurrentThreadAlias", "warns", True, False),
)


class _Mode:
    """The alias's record: whether eventlet's defaults are on (the only state it keeps)."""

    eventlet_defaults = False
    watching = False


def has_eventlet_defaults() -> bool:
    """Whether eventlet's defaults are on (``install()``'s default; see there)."""
    return _Mode.eventlet_defaults


def _apply_defaults(only: Optional[str] = None) -> None:
    # ``only``: the module just imported. Its import must not reset the settings of modules
    # imported earlier, which the program may have changed since.
    on = _Mode.eventlet_defaults
    for module_name, class_name, attribute, ours, eventlets in _EVENTLET_DEFAULTS:
        module = sys.modules.get(module_name)
        if module is not None and (only is None or module_name == only):
            setattr(getattr(module, class_name), attribute, eventlets if on else ours)


def _set_eventlet_defaults(on: bool) -> None:
    _Mode.eventlet_defaults = on
    if not _Mode.watching:
        # Imported here: the patcher is a lower layer, but the alias is installed before
        # anything else and should not cost its import when the defaults stay greenlane's.
        import functools

        from greenlane import patcher
        _Mode.watching = True
        for module_name in sorted({entry[0] for entry in _EVENTLET_DEFAULTS}):
            # Already imported: after_import calls at once, and _apply_defaults() below
            # covers it anyway.
            patcher.after_import(module_name, functools.partial(_apply_defaults, module_name))
    _apply_defaults()


def install(eventlet_defaults: bool = True) -> bool:
    """Make ``import eventlet`` and every ``eventlet.X.Y`` resolve to greenlane's modules.

    Puts the alias finder first on ``sys.meta_path``, so it wins over a real eventlet that is
    installed but not imported yet. Idempotent. Returns True when the alias is in place.

    ``eventlet_defaults`` (default True) also switches, process-wide, four defaults where
    greenlane alone differs from eventlet without it being a matter of the server's safety,
    so that code and clients that worked against eventlet keep working:

    * an HTTP/1.1 request without ``Host`` is served, not answered 400 (old health checkers
      and scripts send them; ``greenlane.wsgi.Server.require_host_default``);
    * ``wsgi.server()`` holds response pieces back until 4 KiB are ready, as eventlet's did
      (``greenlane.wsgi.HttpProtocol.minimum_chunk_size``; greenlane's default sends each
      piece as produced), so an application failing early in its body still gets a clean
      500; a request opts out with ``environ["eventlet.minimum_write_chunk_size"] = 0``, as
      under eventlet;
    * ``WebSocketWSGI`` accepts the hixie-75/76 drafts
      (``greenlane.websocket.WebSocketWSGI.support_legacy_versions``);
    * the patched ``threading.currentThread()`` gives no DeprecationWarning, as eventlet's
      (``greenlane.green.threading.CurrentThreadAlias.warns``).

    What protects the server stays greenlane's: strict request framing (no smuggling), size
    limits and timeouts, ``debug=False`` (no tracebacks to clients), bounded websocket
    messages, a handler error never stopping ``serve()``. ``eventlet_defaults=False`` (or
    ``GREENLANE_EVENTLET_ALIAS=strict`` for the ``.pth`` and ``eventlet_alias``) keeps all of
    greenlane's defaults. An explicit argument to a server or ``WebSocketWSGI`` wins either
    way.

    If a real eventlet (or any of its submodules) is already imported, nothing is changed:
    the modules already bound to that eventlet would keep its hub while new imports got
    greenlane's, two event loops in one thread. An ``EventletAliasWarning`` naming the real
    eventlet's file is issued and False is returned.
    """
    foreign = _foreign_eventlet()
    if foreign is not None:
        where = getattr(foreign, "__file__", None) or repr(foreign)
        warnings.warn(
            f"the real eventlet is already imported ({foreign.__name__} from {where}); the "
            f"greenlane eventlet alias was NOT installed. Install it before anything imports "
            f"eventlet (import greenlane.compat.eventlet_alias first, or set "
            f"GREENLANE_EVENTLET_ALIAS=1 with the .pth from 'python -m greenlane.compat "
            f"install-pth').", EventletAliasWarning, stacklevel=2)
        return False
    if not is_installed():
        sys.meta_path.insert(0, EventletAliasFinder())
    if eventlet_defaults or _Mode.eventlet_defaults:
        _set_eventlet_defaults(eventlet_defaults)
    return True


def uninstall() -> None:
    """Remove the alias: take the finder off ``sys.meta_path`` and forget the aliased names.

    The greenlane modules themselves stay imported under their own names; only the
    ``eventlet`` / ``eventlet.*`` entries of ``sys.modules`` that point at them are dropped, so
    a later ``import eventlet`` finds whatever is installed (or nothing). greenlane's own
    defaults are put back. Meant for tests.
    """
    if _Mode.eventlet_defaults:
        _set_eventlet_defaults(False)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, EventletAliasFinder)]
    for name in [n for n in list(sys.modules) if n == ALIAS or n.startswith(ALIAS + ".")]:
        if _is_greenlane_module(sys.modules.get(name)):
            del sys.modules[name]
