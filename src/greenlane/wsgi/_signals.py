"""SIGTERM and Ctrl-C as graceful stops of one server (``server()``, ``greenlane serve``).

A Python signal handler runs in whichever green thread happens to be current when the signal
arrives, so the default SIGINT handler's KeyboardInterrupt could land inside a connection's
green thread and cut its response short, or inside the hub. The handlers installed here only
call ``Server.stop()``, which hands the request to the server's hub through
``hub.call_threadsafe`` and returns: nothing is raised anywhere.

* SIGTERM, or a first SIGINT: graceful stop (stop accepting, close idle connections, let
  requests in flight finish within the server's ``shutdown_timeout``).
* A second SIGINT during that stop: cut the requests in flight off now (``stop(0)``).
* After that the previous SIGINT handler is back, so a third Ctrl-C raises KeyboardInterrupt
  as usual (for an application stuck in a loop that never yields to the hub).

Handlers are installed only in the main thread (Python allows no other), only over the
default ones, and ``restore()`` puts the previous ones back: handlers set by the application
are left alone.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Optional

from greenlane import _originals as real

if TYPE_CHECKING:
    from greenlane.wsgi._server import Server

__all__ = ["install_stop_signals"]


def install_stop_signals(srv: Server) -> Optional[Callable[[], None]]:
    """Make SIGTERM and SIGINT stop ``srv`` as described above.

    Returns:
        A function that restores the previous handlers, or None if none were installed (not
        the main thread, or the application has handlers of its own).
    """
    if real.get_ident() != real.main_thread().ident:
        return None
    restorers: list[Callable[[], None]] = []
    for signum, replaceable in ((signal.SIGTERM, signal.SIG_DFL),
                                (signal.SIGINT, signal.default_int_handler)):
        try:
            previous = real.getsignal(signum)
        except (AttributeError, ValueError):
            continue
        if previous is not replaceable:
            continue
        handler: Callable[[int, Optional[FrameType]], None] = (
            _OnSigint(srv, previous) if signum == signal.SIGINT else _OnSigterm(srv))
        real.signal(signum, handler)
        restorers.append(_restorer(signum, previous))
    if not restorers:
        return None

    def restore() -> None:
        for undo in restorers:
            undo()

    return restore


class _OnSigterm:
    """SIGTERM: graceful stop."""

    __slots__ = ("srv",)

    def __init__(self, srv: Server) -> None:
        self.srv = srv

    def __call__(self, signo: int, frame: Optional[FrameType]) -> None:
        self.srv.stop()


class _OnSigint:
    """SIGINT: graceful stop, then cut off, then the previous handler."""

    __slots__ = ("count", "previous", "srv")

    def __init__(self, srv: Server, previous: Any) -> None:
        self.srv = srv
        self.previous = previous
        self.count = 0

    def __call__(self, signo: int, frame: Optional[FrameType]) -> None:
        self.count += 1
        if self.count == 1 and not self.srv.closing:
            self.srv.stop()
        else:
            self.srv.stop(0)
            real.signal(signal.SIGINT, self.previous)


def _restorer(signum: int, handler: Any) -> Callable[[], None]:
    def restore() -> None:
        real.signal(signum, handler)

    return restore
