"""The architecture's rules, checked: layers import downwards only, and the hub is sealed.

The layer map below is the one in docs/architecture.md; a new module must be placed in it (the
test fails for an unknown module), which keeps that document true.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "greenlane"

# Bottom up. A module may import from its own layer and the ones below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("hub", ("greenlane.hubs", "greenlane._originals")),
    ("green threads and primitives", (
        "greenlane.greenthread", "greenlane.timeout", "greenlane.event", "greenlane.semaphore",
        "greenlane.lock", "greenlane.queue", "greenlane.greenpool", "greenlane.pools",
        "greenlane.corolocal", "greenlane.dagpool", "greenlane.debug", "greenlane.testing",
        "greenlane.asyncio")),
    ("green I/O and real threads", ("greenlane.greenio", "greenlane.tpool")),
    ("green stdlib and patcher", (
        "greenlane.green", "greenlane.patcher", "greenlane.convenience", "greenlane.support",
        "greenlane.db_pool")),
    ("sans-IO protocols", ("greenlane._http1", "greenlane._ws")),
    ("servers", ("greenlane.wsgi", "greenlane.websocket", "greenlane.backdoor")),
    ("integrations", ("greenlane._cli", "greenlane.__main__", "greenlane.gunicorn",
                      "greenlane.compat")),
]
SANS_IO = "sans-IO protocols"

# Imports that go upwards on purpose, each with its reason.
ALLOWED_UPWARDS = {
    ("greenlane.hubs", "greenlane.timeout"):
        "trampoline()'s default timeout exception is eventlet's Timeout class; imported at "
        "call time, only when a timeout is given",
}


def _layer_of(module: str) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> list[tuple[str, Path]]:
    return sorted((_module_name(p), p) for p in SRC.rglob("*.py"))


def _greenlane_imports(module: str, path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        # `if TYPE_CHECKING:` blocks are for annotations only; they may point anywhere.
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                type_only.add(id(child))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target]
            # `from greenlane import x` imports the submodule greenlane.x
            if target == "greenlane":
                names = [f"greenlane.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(name, node.lineno) for name in names
                  if name == "greenlane" or name.startswith("greenlane.")]
    return found


def test_every_module_has_a_layer() -> None:
    unknown = [m for m, _ in _modules() if m != "greenlane" and _layer_of(m) < 0]
    assert not unknown, ("place these modules in a layer (here and in docs/architecture.md): "
                         f"{unknown}")


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_go_downwards(module: str, path: Path) -> None:
    if module == "greenlane":
        return  # the package root only re-exports, lazily
    own = _layer_of(module)
    problems = []
    for target, lineno in _greenlane_imports(module, path):
        if target == "greenlane":
            continue
        layer = _layer_of(target)
        if LAYERS[own][0] == SANS_IO:
            own_package = ".".join(module.split(".")[:2])
            if not (target == own_package or target.startswith(own_package + ".")):
                problems.append(f"line {lineno}: sans-IO module imports {target}")
            continue
        if layer > own:
            allowed = any(module.startswith(a) and target.startswith(b)
                          for a, b in ALLOWED_UPWARDS)
            if not allowed:
                problems.append(f"line {lineno}: {target} ({LAYERS[layer][0]}) is above "
                                f"{module} ({LAYERS[own][0]})")
    assert not problems, "\n".join(problems)


_PRIVATE_HUB = re.compile(r"\b_?hub\w*\s*\.\s*_[A-Za-z]|\b_poller_\w+")


def test_hub_internals_stay_inside_hubs() -> None:
    offenders = []
    for module, path in _modules():
        if module.startswith("greenlane.hubs"):
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if _PRIVATE_HUB.search(line.split("#", 1)[0]):
                offenders.append(f"{path.relative_to(SRC.parent)}:{lineno}: {line.strip()}")
    assert not offenders, ("code outside hubs/ must use the hub's public methods:\n"
                           + "\n".join(offenders))


def test_the_private_hub_pattern_catches_what_it_should() -> None:
    assert _PRIVATE_HUB.search("waiter.hub._ready.append(x)")
    assert _PRIVATE_HUB.search("hub._poller_forget(fd)")
    assert _PRIVATE_HUB.search("self._hub._ready")
    assert _PRIVATE_HUB.search("from greenlane.hubs._waiter import Waiter")
    assert not _PRIVATE_HUB.search("hub.push_ready((fn, args))")
    assert not _PRIVATE_HUB.search("from greenlane.hubs import WaitQueue")
