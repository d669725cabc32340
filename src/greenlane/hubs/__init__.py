"""The hub: one event loop per OS thread, and the calls that wait on it.

Same public names as ``eventlet.hubs``: ``get_hub``, ``use_hub``, ``get_default_hub``,
``trampoline``, ``notify_close``, ``notify_opened``, ``IOClosed``, ``HubError``. Added:
``WaitQueue``, the one parking primitive every blocking primitive is built on, and
``BaseHub.call_threadsafe``, the one way to reach a hub from another OS thread or a signal
handler. Code outside this package uses hubs only through these and the hub's public methods
(``tests/test_layers.py`` checks it).

Choosing a hub: ``use_hub()`` takes a short name (``"epolls"``, ``"poll"``, ``"selects"``,
``"kqueue"``), a module with a ``Hub`` class, a hub class, or a ``"pkg.mod:Class"`` string.
Without it the ``GREENLANE_HUB`` environment variable decides (same values as ``use_hub()``'s
strings), else ``EVENTLET_HUB`` (read only when ``GREENLANE_HUB`` is unset, so that programs
configured for eventlet keep their choice; ``eventlet.hubs.X`` there means
``greenlane.hubs.X``), else the first available of epolls, kqueue, poll, selects. eventlet's
``asyncio`` hub is not offered: ``greenlane.hubs.asyncio`` only exists to say so.

Differs from eventlet, whose ``use_hub()`` instantiates any class it is given: a class must
subclass ``BaseHub`` (``TypeError`` otherwise). Everything above the hub relies on the whole of
its interface (the ready queue, timers, fd listeners, ``call_threadsafe``), so a class that
does not provide it would only fail later, at its first use; a new backend subclasses
``BaseHub`` and overrides its ``_poller_*`` methods.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional, Union

from greenlet import getcurrent

from greenlane.hubs import _context
from greenlane.hubs._waiter import Waiter
from greenlane.hubs._waitqueue import WaitQueue
from greenlane.hubs.hub import (
    READ,
    WRITE,
    BaseHub,
    FdListener,
    HubError,
    HubStatistics,
    IOClosed,
)

if TYPE_CHECKING:
    from typing import Protocol

    class _HasFileno(Protocol):
        def fileno(self) -> int: ...


__all__ = [
    "READ",
    "WRITE",
    "BaseHub",
    "FdListener",
    "HubError",
    "HubStatistics",
    "IOClosed",
    "WaitQueue",
    "Waiter",
    "get_default_hub",
    "get_hub",
    "notify_close",
    "notify_opened",
    "trampoline",
    "use_hub",
]

_BUILTIN = ("epolls", "kqueue", "poll", "selects")


def get_default_hub() -> ModuleType:
    """The module of the best hub available on this platform."""
    for name in _BUILTIN:
        module = importlib.import_module(f"greenlane.hubs.{name}")
        if module.is_available():
            return module
    raise HubError("no hub is available on this platform")


def _resolve(spec: Union[str, ModuleType, type[BaseHub]]) -> type[BaseHub]:
    if isinstance(spec, type):
        if not issubclass(spec, BaseHub):
            raise TypeError(f"use_hub() needs a subclass of greenlane.hubs.BaseHub, got "
                            f"{spec.__module__}.{spec.__qualname__}: a hub class extends "
                            "BaseHub's run loop and overrides its _poller_* methods")
        return spec
    if isinstance(spec, str):
        if ":" in spec:
            modname, _, clsname = spec.partition(":")
            return _resolve(getattr(importlib.import_module(modname), clsname))
        modname = f"greenlane.hubs.{spec}" if "." not in spec else spec
        try:
            spec = importlib.import_module(modname)
        except ImportError:
            raise ValueError(f"unknown hub {spec!r}; choose one of {', '.join(_BUILTIN)}, "
                             "a module, a class or 'pkg.mod:Class'") from None
    available = getattr(spec, "is_available", None)
    if available is not None and not available():
        raise HubError(f"hub {spec.__name__} is not available on this platform")
    hub_class = getattr(spec, "Hub", None)
    if not (isinstance(hub_class, type) and issubclass(hub_class, BaseHub)):
        raise TypeError(f"hub module {spec.__name__} has no Hub class")
    return hub_class


def use_hub(mod: Union[None, str, ModuleType, type[BaseHub]] = None) -> None:
    """Use this kind of hub in the current thread from now on.

    Call it before the hub is first used; a hub already running is not replaced (its
    green threads would be lost), which raises ``HubError``.

    Raises:
        TypeError: a class that does not subclass ``BaseHub``, or a module without a ``Hub``
            class (the current hub is then left as it was).
        ValueError: an unknown hub name.
        HubError: the hub is running, or the named one is not available on this platform.
    """
    ctx = _context.current
    if ctx.hub is not None and ctx.hub.running:
        raise HubError("use_hub() called while the current hub is running")
    if mod is None:
        mod = _hub_from_environment() or get_default_hub()
    # Resolved first: a refused argument leaves the current hub in place.
    hub_class = _resolve(mod)
    if ctx.hub is not None:
        ctx.hub.close()
        ctx.hub = None
    ctx.hub_class = hub_class


def _hub_from_environment() -> Optional[str]:
    name = os.environ.get("GREENLANE_HUB")
    if name:
        return name
    name = os.environ.get("EVENTLET_HUB")
    if name and name.startswith("eventlet.hubs."):
        # A module path written for eventlet names the greenlane hub of the same name.
        name = "greenlane" + name[len("eventlet"):]
    return name or None


def get_hub() -> BaseHub:
    """The current OS thread's hub, created on first use."""
    hub = _context.current.hub
    if hub is None:
        hub = _create_hub()
    return hub


def _create_hub() -> BaseHub:
    ctx = _context.current
    if ctx.hub_class is None:
        use_hub()
    assert ctx.hub_class is not None
    hub = ctx.hub = ctx.hub_class()
    ctx.closer = _context.CloseAtThreadExit(hub)
    return hub


def _fileno(fd: Union[int, _HasFileno]) -> int:
    if isinstance(fd, int):
        return fd
    try:
        return fd.fileno()
    except AttributeError:
        raise TypeError(f"expected a file descriptor or an object with fileno(), got {fd!r}"
                        ) from None


def trampoline(
    fd: Union[int, _HasFileno],
    read: bool = False,
    write: bool = False,
    timeout: Optional[float] = None,
    timeout_exc: Any = None,
    mark_as_closed: Optional[Any] = None,
) -> Any:
    """Suspend the current green thread until ``fd`` is readable (``read``) or writable.

    Raises ``timeout_exc`` (default ``greenlane.Timeout``) after ``timeout`` seconds, and
    ``IOClosed`` if the fd is closed meanwhile (through ``notify_close``). Exactly one of
    ``read``/``write`` must be true. Unlike eventlet, the caller need not have tried the
    operation first: an fd that is ready already returns at once.
    """
    if read == write:
        raise ValueError("trampoline() needs exactly one of read=True or write=True")
    hub = get_hub()
    current = getcurrent()
    if current is hub.greenlet:
        raise RuntimeError("do not call blocking functions from the hub's own greenlet")
    fileno = _fileno(fd)
    timer = None
    if timeout is not None:
        if timeout_exc is None:
            from greenlane.timeout import Timeout

            timeout_exc = Timeout
        timer = hub.schedule_call_global(timeout, current.throw, timeout_exc)
    try:
        listener = hub.add(READ if read else WRITE, fileno, current.switch, current.throw,
                           mark_as_closed, rearm=True)
        try:
            return hub.switch()
        finally:
            hub.remove(listener)
    finally:
        if timer is not None:
            timer.cancel()


def notify_close(fd: int) -> None:
    """Call before closing ``fd``: its waiters get ``IOClosed`` and the hub forgets it."""
    hub = _context.current.hub
    if hub is not None:
        hub.notify_close(fd)


def notify_opened(fd: int) -> None:
    """Call when a new file got number ``fd``, to drop anything left from an earlier one."""
    hub = _context.current.hub
    if hub is not None:
        hub.mark_as_reopened(fd)


def _reset_after_fork() -> None:
    # The child must not drive the parent's epoll instance: give it a fresh hub on next use.
    ctx = _context.current
    hub, ctx.hub = ctx.hub, None
    if hub is not None:
        try:
            hub._after_fork_in_child()
        except OSError:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

# Re-exported for eventlet compatibility (``from eventlet.hubs import READ``).
READ = READ
WRITE = WRITE
