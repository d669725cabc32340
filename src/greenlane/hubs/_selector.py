"""A level-triggered hub on any ``selectors`` selector (poll, select, kqueue, devpoll).

Level-triggered pollers report a ready fd on every call, so interest must follow who waits.
To avoid eventlet's register/unregister pair around every wait, interest is dropped lazily:
it stays after a wait ends, and only when the poller reports a direction nobody waits on is that
direction removed. An fd waited on over and over (a busy connection) keeps its registration.
"""

from __future__ import annotations

import selectors
from typing import Callable, ClassVar, Iterable, Optional

from greenlane.hubs.hub import READ, BaseHub

__all__ = ["SelectorHub"]


class SelectorHub(BaseHub):
    """Base for the ``poll``, ``selects`` and ``kqueue`` hubs."""

    selector_class: ClassVar[type[selectors.BaseSelector]]
    READ_MASK = selectors.EVENT_READ
    WRITE_MASK = selectors.EVENT_WRITE
    LEVEL_TRIGGERED = True

    def __init__(self, clock: Optional[Callable[[], float]] = None) -> None:
        super().__init__(clock)
        self.selector = self.selector_class()
        self._interest: dict[int, int] = {}

    def _poller_register(self, fileno: int, evtype: str, rearm: bool) -> None:
        bit = selectors.EVENT_READ if evtype is READ else selectors.EVENT_WRITE
        current = self._interest.get(fileno, 0)
        if current & bit:
            return
        if current:
            self.selector.modify(fileno, current | bit)
        else:
            try:
                self.selector.register(fileno, bit)
            except KeyError:  # stale registration of a reused number
                self.selector.modify(fileno, bit)
        self._interest[fileno] = current | bit

    def _poller_disarm(self, fileno: int, evtype: str) -> None:
        current = self._interest.get(fileno, 0)
        bit = selectors.EVENT_READ if evtype is READ else selectors.EVENT_WRITE
        if not current & bit:
            return
        remaining = current & ~bit
        try:
            if remaining:
                self.selector.modify(fileno, remaining)
                self._interest[fileno] = remaining
            else:
                self.selector.unregister(fileno)
                del self._interest[fileno]
        except (KeyError, ValueError, OSError):
            self._interest.pop(fileno, None)

    def _poller_forget(self, fileno: int) -> None:
        if self._interest.pop(fileno, None) is not None:
            try:
                self.selector.unregister(fileno)
            except (KeyError, ValueError, OSError):
                pass

    def _poller_poll(self, timeout: float) -> Iterable[tuple[int, int]]:
        try:
            return [(key.fd, mask) for key, mask in self.selector.select(timeout)]
        except InterruptedError:
            return ()
        except OSError:
            # A registered fd was closed without notify_close; drop the dead ones and go on.
            self._drop_dead_fds()
            return ()

    def _drop_dead_fds(self) -> None:
        import os

        for fileno in list(self._interest):
            try:
                os.fstat(fileno)
            except OSError:
                # Its waiters would otherwise hang: tell them, as notify_close would have.
                self.notify_close(fileno)

    def _poller_close(self) -> None:
        self.selector.close()
        self._interest.clear()
