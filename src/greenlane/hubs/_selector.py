"""Level-triggered hubs on ``poll``, ``select`` and ``kqueue``, and the small pollers under them.

Level-triggered pollers report a ready fd on every call, so interest must follow who waits.
To avoid eventlet's register/unregister pair around every wait, interest is dropped lazily:
it stays after a wait ends, and only when the poller reports a direction nobody waits on is that
direction removed. An fd waited on over and over (a busy connection) keeps its registration.

The pollers are built on the raw ``select.poll``/``select.select``/``select.kqueue`` captured by
``greenlane._originals``, not on the ``selectors`` module: ``selectors`` looks the ``select``
functions up at call time, so once ``select`` is monkey patched its selectors would be green,
and a hub waiting through a green poller waits on itself.
"""

from __future__ import annotations

import errno
import os
import select
from typing import Any, Callable, ClassVar, Iterable, Optional

from greenlane import _originals as real
from greenlane.hubs.hub import READ, BaseHub

__all__ = ["EVENT_READ", "EVENT_WRITE", "KqueuePoller", "PollPoller", "SelectPoller",
           "SelectorHub"]

EVENT_READ = 1
EVENT_WRITE = 2


class _Poller:
    """Interest in (fd, EVENT_READ|EVENT_WRITE) and a blocking ``poll`` that reports it."""

    def register(self, fileno: int, events: int) -> None:
        raise NotImplementedError

    def modify(self, fileno: int, events: int) -> None:
        raise NotImplementedError

    def unregister(self, fileno: int) -> None:
        raise NotImplementedError

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the poller's own descriptor, if it has one."""


class PollPoller(_Poller):
    """``poll(2)``: one call with the whole interest set; errors count as both directions."""

    _IN = select.POLLIN | select.POLLPRI if hasattr(select, "POLLIN") else 0
    _OUT = select.POLLOUT if hasattr(select, "POLLOUT") else 0
    _ERR = (select.POLLERR | select.POLLHUP | select.POLLNVAL) if hasattr(select, "POLLERR") \
        else 0

    def __init__(self) -> None:
        assert real.poll is not None, "select.poll is not available on this platform"
        self._poll = real.poll()

    def _mask(self, events: int) -> int:
        return ((self._IN if events & EVENT_READ else 0)
                | (self._OUT if events & EVENT_WRITE else 0))

    def register(self, fileno: int, events: int) -> None:
        self._poll.register(fileno, self._mask(events))

    def modify(self, fileno: int, events: int) -> None:
        self._poll.modify(fileno, self._mask(events))

    def unregister(self, fileno: int) -> None:
        self._poll.unregister(fileno)

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        # poll() takes milliseconds; round up so a timer due in 0.4 ms is not polled for 0.
        ms = -1 if timeout is None else max(0, int(timeout * 1000 + 0.999))
        result = []
        for fileno, flags in self._poll.poll(ms):
            events = 0
            if flags & (self._IN | self._ERR):
                events |= EVENT_READ
            if flags & (self._OUT | self._ERR):
                events |= EVENT_WRITE
            result.append((fileno, events))
        return result


class SelectPoller(_Poller):
    """``select(2)``: rebuilds nothing per call, but is limited to fds below FD_SETSIZE."""

    def __init__(self) -> None:
        self._readers: set[int] = set()
        self._writers: set[int] = set()

    def register(self, fileno: int, events: int) -> None:
        if fileno in self._readers or fileno in self._writers:
            raise KeyError(fileno)
        self.modify(fileno, events)

    def modify(self, fileno: int, events: int) -> None:
        (self._readers.add if events & EVENT_READ else self._readers.discard)(fileno)
        (self._writers.add if events & EVENT_WRITE else self._writers.discard)(fileno)

    def unregister(self, fileno: int) -> None:
        self._readers.discard(fileno)
        self._writers.discard(fileno)

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        r, w, x = real.select(self._readers, self._writers, self._writers, timeout)
        ready: dict[int, int] = {}
        for fileno in r:
            ready[fileno] = EVENT_READ
        for fileno in w:
            ready[fileno] = ready.get(fileno, 0) | EVENT_WRITE
        for fileno in x:  # a failed connect is "exceptional" on some platforms
            ready[fileno] = ready.get(fileno, 0) | EVENT_WRITE
        return list(ready.items())


class KqueuePoller(_Poller):
    """BSD/macOS ``kqueue``: one filter per direction."""

    def __init__(self) -> None:
        assert real.kqueue is not None, "select.kqueue is not available on this platform"
        self._kq = real.kqueue()
        self._events: dict[int, int] = {}

    def _control(self, fileno: int, old: int, new: int) -> None:
        kevent: Any = real.kevent
        changes = []
        for bit, kfilter in ((EVENT_READ, select.KQ_FILTER_READ),  # type: ignore[attr-defined]
                             (EVENT_WRITE, select.KQ_FILTER_WRITE)):  # type: ignore[attr-defined]
            if (old ^ new) & bit:
                flags = select.KQ_EV_ADD if new & bit else select.KQ_EV_DELETE  # type: ignore[attr-defined]
                changes.append(kevent(fileno, kfilter, flags))
        if changes:
            self._kq.control(changes, 0, 0)
        self._events[fileno] = new

    def register(self, fileno: int, events: int) -> None:
        if fileno in self._events:
            raise KeyError(fileno)
        self._control(fileno, 0, events)

    def modify(self, fileno: int, events: int) -> None:
        self._control(fileno, self._events.get(fileno, 0), events)

    def unregister(self, fileno: int) -> None:
        old = self._events.pop(fileno, 0)
        try:
            self._control(fileno, old, 0)
        finally:
            self._events.pop(fileno, None)

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        ready: dict[int, int] = {}
        for kev in self._kq.control(None, max(len(self._events) * 2, 1), timeout):
            bit = EVENT_READ if kev.filter == select.KQ_FILTER_READ else EVENT_WRITE  # type: ignore[attr-defined]
            if kev.flags & select.KQ_EV_EOF or kev.flags & select.KQ_EV_ERROR:  # type: ignore[attr-defined]
                bit = EVENT_READ | EVENT_WRITE
            ready[kev.ident] = ready.get(kev.ident, 0) | bit
        return list(ready.items())

    def close(self) -> None:
        self._kq.close()


class SelectorHub(BaseHub):
    """Base for the ``poll``, ``selects`` and ``kqueue`` hubs."""

    poller_class: ClassVar[Callable[[], _Poller]]
    READ_MASK = EVENT_READ
    WRITE_MASK = EVENT_WRITE
    LEVEL_TRIGGERED = True

    def __init__(self, clock: Optional[Callable[[], float]] = None) -> None:
        super().__init__(clock)
        self.poller = type(self).poller_class()
        self._interest: dict[int, int] = {}

    def _poller_register(self, fileno: int, evtype: str, rearm: bool) -> None:
        bit = EVENT_READ if evtype is READ else EVENT_WRITE
        current = self._interest.get(fileno, 0)
        if current & bit:
            return
        if current:
            self.poller.modify(fileno, current | bit)
        else:
            try:
                self.poller.register(fileno, bit)
            except (KeyError, FileExistsError):  # stale registration of a reused number
                self.poller.modify(fileno, bit)
        self._interest[fileno] = current | bit

    def _poller_disarm(self, fileno: int, evtype: str) -> None:
        current = self._interest.get(fileno, 0)
        bit = EVENT_READ if evtype is READ else EVENT_WRITE
        if not current & bit:
            return
        remaining = current & ~bit
        try:
            if remaining:
                self.poller.modify(fileno, remaining)
                self._interest[fileno] = remaining
            else:
                self.poller.unregister(fileno)
                del self._interest[fileno]
        except (KeyError, ValueError, OSError):
            self._interest.pop(fileno, None)

    def _poller_forget(self, fileno: int) -> None:
        if self._interest.pop(fileno, None) is not None:
            try:
                self.poller.unregister(fileno)
            except (KeyError, ValueError, OSError):
                pass

    def _poller_poll(self, timeout: float) -> Iterable[tuple[int, int]]:
        try:
            return self.poller.poll(timeout)
        except InterruptedError:
            return ()
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (errno.EBADF, None):
                raise
            # A registered fd was closed without notify_close; drop the dead ones and go on.
            self._drop_dead_fds()
            return ()

    def _drop_dead_fds(self) -> None:
        for fileno in list(self._interest):
            try:
                os.fstat(fileno)
            except OSError:
                # Its waiters would otherwise hang: tell them, as notify_close would have.
                self.notify_close(fileno)

    def _poller_close(self) -> None:
        self.poller.close()
        self._interest.clear()
