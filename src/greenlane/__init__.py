"""greenlane: green threads on greenlet, with eventlet's API and a fast, strict WSGI server.

Moving from eventlet means changing the import: ``greenlane.spawn``, ``greenlane.sleep``,
``greenlane.GreenPool``, ``greenlane.Queue``, ``greenlane.listen`` and friends keep eventlet's
names and semantics; deliberate differences are noted in each docstring.

Layers, bottom up (each imports only from the ones below it)::

    hubs/          the per-thread event loop: ready queue, timers, fd readiness
    greenthread, timeout, event, semaphore, queue, greenpool, ...   green threads and primitives
    greenio/, green/   cooperative sockets, TLS and pipes; stdlib-shaped green modules
    patcher        monkey patching
    _http1/        sans-IO HTTP/1.1 (imports nothing from greenlane)
    wsgi/          the WSGI server

Names are loaded lazily on first use, so ``import greenlane`` stays cheap: importing the package
does not pull in sockets, TLS or the HTTP server until something asks for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "getcurrent": "greenlane.greenthread",
    "spawn": "greenlane.greenthread",
    "spawn_n": "greenlane.greenthread",
    "spawn_after": "greenlane.greenthread",
    "spawn_after_local": "greenlane.greenthread",
    "sleep": "greenlane.greenthread",
    "kill": "greenlane.greenthread",
    "GreenThread": "greenlane.greenthread",
    "Timeout": "greenlane.timeout",
    "with_timeout": "greenlane.timeout",
    "is_timeout": "greenlane.timeout",
    "wrap_is_timeout": "greenlane.timeout",
    "Event": "greenlane.event",
    "Semaphore": "greenlane.semaphore",
    "BoundedSemaphore": "greenlane.semaphore",
    "CappedSemaphore": "greenlane.semaphore",
    "Queue": "greenlane.queue",
    "GreenPool": "greenlane.greenpool",
    "GreenPile": "greenlane.greenpool",
    "listen": "greenlane.convenience",
    "connect": "greenlane.convenience",
    "serve": "greenlane.convenience",
    "StopServe": "greenlane.convenience",
    "wrap_ssl": "greenlane.convenience",
    "monkey_patch": "greenlane.patcher",
    "import_patched": "greenlane.patcher",
}

__all__ = [
    "__version__",
    "getcurrent",
    "spawn",
    "spawn_n",
    "spawn_after",
    "spawn_after_local",
    "sleep",
    "kill",
    "GreenThread",
    "Timeout",
    "with_timeout",
    "is_timeout",
    "wrap_is_timeout",
    "Event",
    "Semaphore",
    "BoundedSemaphore",
    "CappedSemaphore",
    "Queue",
    "GreenPool",
    "GreenPile",
    "listen",
    "connect",
    "serve",
    "StopServe",
    "wrap_ssl",
    "monkey_patch",
    "import_patched",
]

if TYPE_CHECKING:
    from greenlane.convenience import StopServe, connect, listen, serve, wrap_ssl
    from greenlane.event import Event
    from greenlane.greenpool import GreenPile, GreenPool
    from greenlane.greenthread import (
        GreenThread,
        getcurrent,
        kill,
        sleep,
        spawn,
        spawn_after,
        spawn_after_local,
        spawn_n,
    )
    from greenlane.patcher import import_patched, monkey_patch
    from greenlane.queue import Queue
    from greenlane.semaphore import BoundedSemaphore, CappedSemaphore, Semaphore
    from greenlane.timeout import Timeout, is_timeout, with_timeout, wrap_is_timeout


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        # As in eventlet, submodules are attributes of the package (``greenlane.event``,
        # ``greenlane.hubs``) without an import of their own; imported on first use.
        if name.startswith("_"):
            raise AttributeError(f"module 'greenlane' has no attribute {name!r}") from None
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists; something it imports is missing
            raise AttributeError(f"module 'greenlane' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
