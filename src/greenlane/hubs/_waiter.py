"""Waiter: the one way a green thread parks until another one wakes it.

Wakers never switch into a parked green thread directly: they queue ``waiter.switch(value)`` or
``waiter.throw(exc)`` on the hub. By the time the hub runs that, the green thread may have left
the wait already (a ``Timeout`` or ``kill`` was thrown into it); the waiter then ignores the
wake-up instead of resuming the green thread somewhere else. ``woken`` tells the primitive whether
a wake-up was delivered, so one that is refused can be passed on to the next waiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from greenlet import getcurrent, greenlet

from greenlane.hubs import _context

if TYPE_CHECKING:
    from greenlane.hubs.hub import BaseHub

__all__ = ["Waiter"]


class Waiter:
    """Park the current green thread in ``wait()``; wake it with ``switch``/``throw``.

    One waiter serves one wait. ``switch``/``throw`` are meant to run from the hub (queue them
    with ``hub.schedule_ready``); calling them from another green thread also works, but then
    the caller is suspended until the woken one blocks again. ``hub`` defaults to the current
    thread's hub (pass it when the caller has it at hand: it saves a thread-local lookup).
    """

    __slots__ = ("greenlet", "hub", "woken")

    def __init__(self, hub: Optional[BaseHub] = None) -> None:
        self.greenlet: Optional[greenlet] = None
        if hub is None:
            hub = _context.current.hub
            if hub is None:
                from greenlane.hubs import get_hub

                hub = get_hub()
        self.hub = hub
        self.woken = False

    def wait(self, timeout: Optional[float] = None, expired: Any = None) -> Any:
        """Switch to the hub until woken; return the value passed to ``switch``.

        With ``timeout``, a hub timer wakes the waiter with ``expired`` after that many seconds
        (through ``switch``, so ``woken`` is then True too); it is cancelled however the wait
        ends. Callers pick an ``expired`` no waker passes, to tell the two apart.
        """
        self.greenlet = getcurrent()
        if timeout is None:
            try:
                return self.hub.switch()
            finally:
                self.greenlet = None
        timer = self.hub.schedule_call_global(timeout, self.switch, expired)
        try:
            return self.hub.switch()
        finally:
            self.greenlet = None
            timer.cancel()

    def switch(self, value: Any = None) -> None:
        """Resume the parked green thread with ``value``; ignored if it is no longer parked."""
        g = self.greenlet
        if g is not None:
            self.greenlet = None
            self.woken = True
            g.switch(value)

    def throw(self, *exc: Any) -> None:
        """Raise an exception in the parked green thread; ignored if it is no longer parked."""
        g = self.greenlet
        if g is not None:
            self.greenlet = None
            self.woken = True
            g.throw(*exc)

    def wake(self, value: Any = None) -> None:
        """Queue ``switch(value)`` on the hub (the usual way for a waker to call it)."""
        self.hub.push_ready((self.switch, (value,)))

    @property
    def parked(self) -> bool:
        """True while a green thread waits in ``wait()``."""
        return self.greenlet is not None
