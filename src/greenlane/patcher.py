"""Monkey patching (a first, deliberately small version): ``monkey_patch``, ``is_monkey_patched``,
``original``.

``monkey_patch()`` takes eventlet's keywords, but only two groups are patched so far:

* ``socket``: in the stdlib ``socket`` module, ``socket``/``SocketType`` become ``GreenSocket``
  and ``socketpair``, ``fromfd``, ``create_connection`` and ``create_server`` become the green
  versions; name resolution (``getaddrinfo`` and friends) stays the stdlib's. As in eventlet this
  also patches ``ssl``: ``ssl.SSLContext.sslsocket_class`` becomes ``GreenSSLSocket``, so every
  context (``ssl.create_default_context()`` included) wraps cooperatively.
* ``time``: ``time.sleep`` becomes ``greenlane.sleep``.

``os``, ``select``, ``thread``, ``subprocess``, ``psycopg``, ``MySQLdb`` and ``builtins`` are
accepted, for code written for eventlet, but not patched yet; asking for one of them explicitly
(``=True``) warns. Patching edits the stdlib module objects in place (so ``from socket import
socket`` done *before* patching keeps the real class: patch first, as with eventlet) and is
idempotent. ``import_patched``, ``inject`` and ``patch_function`` are not offered yet.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings
from typing import Any, Callable, Optional

__all__ = ["is_monkey_patched", "monkey_patch", "original"]

# The patcher's record of what it replaced: module name -> {attribute: original value}. With the
# hub's thread-local, the only mutable module-level state in greenlane (style rule 12).
_saved: dict[str, dict[str, Any]] = {}
# Pristine copies handed out by original(), so that each is built once.
_originals: dict[str, types.ModuleType] = {}

_NOT_YET = ("os", "select", "thread", "subprocess", "psycopg", "MySQLdb", "builtins")


def _socket_patches() -> dict[str, dict[str, Any]]:
    from greenlane.green import socket as green_socket
    from greenlane.green.ssl import GreenSSLSocket

    names = ("socket", "SocketType", "socketpair", "fromfd", "create_connection", "create_server")
    return {
        "socket": {name: getattr(green_socket, name) for name in names},
        "ssl": {"SSLContext.sslsocket_class": GreenSSLSocket},
    }


def _time_patches() -> dict[str, dict[str, Any]]:
    from greenlane.greenthread import sleep

    return {"time": {"sleep": sleep}}


_GROUPS: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {
    "socket": _socket_patches,
    "time": _time_patches,
}


def _get(module: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _set(module: Any, dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for part in path:
        module = getattr(module, part)
    setattr(module, last, value)


def monkey_patch(*, all: Optional[bool] = None, os: Optional[bool] = None,
                 select: Optional[bool] = None, socket: Optional[bool] = None,
                 thread: Optional[bool] = None, time: Optional[bool] = None,
                 subprocess: Optional[bool] = None, psycopg: Optional[bool] = None,
                 MySQLdb: Optional[bool] = None, builtins: Optional[bool] = None,
                 **legacy: Optional[bool]) -> None:
    """Make stdlib modules cooperative in place (eventlet's signature and selection rules).

    With no argument every group is patched (of those implemented: ``socket`` with ``ssl``, and
    ``time``). Passing some groups as True patches only those; passing some as False patches
    all the others. ``all=False`` patches nothing unless groups are named. ``MySQLdb`` and
    ``builtins`` (alias ``__builtin__``) are off unless named, as in eventlet. Calling it again
    is harmless.

    Raises:
        TypeError: for a keyword eventlet does not accept either.
    """
    for key in legacy:
        if key != "__builtin__":
            raise TypeError(f"monkey_patch() got an unexpected keyword argument {key!r}")
    if builtins is None and "__builtin__" in legacy:
        builtins = legacy["__builtin__"]
    requested = {"os": os, "select": select, "socket": socket, "thread": thread, "time": time,
                 "subprocess": subprocess, "psycopg": psycopg, "MySQLdb": MySQLdb,
                 "builtins": builtins}
    default = all if all is not None else True not in requested.values()
    chosen = {}
    for name, value in requested.items():
        if value is None:
            value = False if name in ("MySQLdb", "builtins") else default
        chosen[name] = value
    for name in _NOT_YET:
        if requested[name]:
            warnings.warn(f"greenlane.patcher does not patch {name!r} yet; it is left as is",
                          RuntimeWarning, stacklevel=2)
    from greenlane.hubs import get_hub

    get_hub()  # as eventlet: the hub is built from the real modules, before anything changes
    for group, wanted in chosen.items():
        if wanted and group in _GROUPS:
            for modname, patches in _GROUPS[group]().items():
                _apply(modname, patches)


def _apply(modname: str, patches: dict[str, Any]) -> None:
    module = importlib.import_module(modname)
    saved = _saved.setdefault(modname, {})
    for attr, value in patches.items():
        if attr not in saved:
            saved[attr] = _get(module, attr)
        _set(module, attr, value)


def is_monkey_patched(module: Any) -> bool:
    """True if ``monkey_patch`` patched ``module`` (a name such as ``"socket"``, or the module)."""
    name = module if isinstance(module, str) else getattr(module, "__name__", "")
    return name in _saved


def original(modname: str) -> types.ModuleType:
    """The module ``modname`` as it was before monkey patching.

    A module that was not patched is returned as it is. For a patched pure-Python module a
    private, freshly executed copy is returned (cached; registered in ``sys.modules`` as
    ``__original_module_<name>``, eventlet's name), whose functions use the real objects
    throughout; its classes are distinct from the patched module's. For a patched module
    written in C (``time``) the copy holds the saved original attributes.
    """
    if modname not in _saved:
        return importlib.import_module(modname)
    cached = _originals.get(modname)
    if cached is not None:
        return cached
    live = importlib.import_module(modname)
    private_name = f"__original_module_{modname}"
    spec = importlib.util.find_spec(modname)
    origin = getattr(spec, "origin", None)
    if spec is not None and spec.loader is not None and isinstance(origin, str) \
            and origin.endswith(".py"):
        copy_spec = importlib.util.spec_from_file_location(private_name, origin)
        assert copy_spec is not None and copy_spec.loader is not None
        copy = importlib.util.module_from_spec(copy_spec)
        # Executing it needs the name registered (enum._convert_ looks itself up there). The
        # copy defines its own classes, so class attributes patched on the live ones (such as
        # ssl.SSLContext.sslsocket_class) are pristine in it.
        sys.modules[private_name] = copy
        try:
            copy_spec.loader.exec_module(copy)
        except BaseException:
            del sys.modules[private_name]
            raise
    else:
        copy = types.ModuleType(private_name, live.__doc__)
        copy.__dict__.update(live.__dict__)
        copy.__dict__.update({k: v for k, v in _saved[modname].items() if "." not in k})
        copy.__name__ = private_name
        sys.modules[private_name] = copy
    _originals[modname] = copy
    return copy
