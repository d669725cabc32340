"""Linux epoll hub, edge-triggered, each fd registered once.

Facts this relies on (epoll(7)):

* Edge-triggered (EPOLLET) reports an fd when its readiness changes, including each time new
  data or buffer space arrives. greenlane's green I/O always tries the syscall first and waits
  only after EAGAIN; any data arriving after that EAGAIN makes a new edge, which the next
  epoll_wait reports, because no epoll_wait can run between the EAGAIN and the wait (no switch
  happens in between). So one registration per fd (both directions) serves every later wait:
  no epoll_ctl at all on the wait path, where eventlet pays two per wait.
* Events for an fd nobody waits on are simply dropped: with edge triggering they do not come
  back on every poll, so idle registrations cost nothing.
* Public ``trampoline()`` callers may not have tried the operation first, so it asks for
  ``rearm``: EPOLL_CTL_MOD re-evaluates readiness and reports an fd that is ready already.
* A registration belongs to the open file description. Closing one of several duplicated fds
  keeps it alive and can deliver stale events under a reused number, so closes go through
  ``notify_close``, which unregisters while the number still refers to the file; a reused
  number is re-added (EEXIST means a stale registration survived: it is modified instead).
* After fork, parent and child share the epoll instance; the child gets a fresh hub.
"""

from __future__ import annotations

import errno
import select
from typing import Any, Callable, Iterable, Optional

from greenlane import _originals as real
from greenlane.hubs.hub import BaseHub

__all__ = ["Hub", "is_available"]

# PyPy's select module lacks EPOLLRDHUP; the value is fixed by the Linux ABI.
_EPOLLRDHUP = getattr(select, "EPOLLRDHUP", 0x2000)
_MASK = 0
if hasattr(select, "epoll"):
    _MASK = select.EPOLLIN | select.EPOLLOUT | _EPOLLRDHUP | select.EPOLLPRI | select.EPOLLET


def is_available() -> bool:
    """True where ``select.epoll`` exists (Linux)."""
    return real.epoll is not None


class Hub(BaseHub):
    """The default hub on Linux."""

    LEVEL_TRIGGERED = False

    def __init__(self, clock: Optional[Callable[[], float]] = None) -> None:
        super().__init__(clock)
        self.READ_MASK = (select.EPOLLIN | select.EPOLLPRI | _EPOLLRDHUP | select.EPOLLHUP
                          | select.EPOLLERR)
        self.WRITE_MASK = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR
        assert real.epoll is not None, "epolls.Hub needs Linux's epoll"
        self.poll: select.epoll = real.epoll()
        self._registered: set[int] = set()
        # The poller's own method: no Python frame per loop turn. EINTR is retried inside it
        # (PEP 475); wait() handles InterruptedError all the same.
        self._poll = self.poll.poll

    def _poller_register(self, fileno: int, evtype: str, rearm: bool) -> None:
        poller = self.poll
        if fileno in self._registered:
            if rearm:
                try:
                    poller.modify(fileno, _MASK)
                except FileNotFoundError:
                    # The kernel dropped it (closed without notify_close); add it afresh.
                    poller.register(fileno, _MASK)
            return
        try:
            poller.register(fileno, _MASK)
        except FileExistsError:
            poller.modify(fileno, _MASK)
        except OSError as exc:
            if exc.errno == errno.EBADF:
                raise OSError(errno.EBADF, f"cannot wait on fd {fileno}: it is not open") from None
            raise
        self._registered.add(fileno)

    def _poller_forget(self, fileno: int) -> None:
        if fileno in self._registered:
            self._registered.discard(fileno)
            try:
                self.poll.unregister(fileno)
            except OSError:
                pass  # already closed: the kernel removed it

    def _poller_poll(self, timeout: float) -> Iterable[tuple[int, int]]:
        try:
            return self.poll.poll(timeout)
        except InterruptedError:
            return ()

    def _poller_close(self) -> None:
        self.poll.close()
        self._registered.clear()

    def __getstate__(self) -> Any:
        raise TypeError("a hub cannot be pickled")
