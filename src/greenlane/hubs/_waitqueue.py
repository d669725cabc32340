"""WaitQueue: the one place where a green thread parks until another one wakes it.

Every blocking primitive (semaphores and locks, queues, pools, events, ``GreenThread.wait``,
the WSGI server's capacity wait) keeps its waiting green threads in a WaitQueue, so the hard
parts are written once, here:

* **FIFO.** ``wake_one`` wakes the green thread that has waited longest.
* **Hand-off.** ``wake_one(value)`` gives ``value`` (a unit, an item, a flag) to one parked
  green thread *now*: the waker does not wait for it to run, and nobody else can take the value
  in between. The woken green thread resumes on the hub's next turn.
* **Refused hand-offs.** Between being handed a value and running, a green thread may be hit by
  a ``Timeout`` or ``kill``, or its own timeout may fire. A value it can no longer accept is
  *refused*: the primitive's ``refused(value)`` callback gets it back and passes it on (to the
  next waiter, or back into the primitive), so no unit or item is ever lost. A primitive whose
  values are receipts rather than resources (a queue's "your item was accepted") passes no
  ``refused``: a parked ``put`` whose item was taken has succeeded, timeout or not.
* **Timeouts and kills always unregister.** A green thread that leaves the queue early
  (timeout, ``Timeout``, ``kill``) takes itself off it before anything else can run, and a
  wake-up already queued for it is ignored, never delivered later to wherever it blocks next.

Cost: parking allocates one small entry; waking queues one bound method on the hub's ready
queue. Nothing touches a timer unless a timeout is given.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from greenlet import getcurrent, greenlet

from greenlane.hubs import _context

if TYPE_CHECKING:
    from greenlane.hubs.hub import BaseHub

__all__ = ["WaitQueue"]

# What a parked green thread is switched to with when its own timeout expires. Private, so no
# waker can pass it by accident.
_EXPIRED: Any = object()


class _Entry:
    """One parked green thread. ``greenlet`` is None once it no longer waits."""

    __slots__ = ("greenlet", "handed", "hub", "payload", "value")

    def __init__(self, g: greenlet, hub: BaseHub, payload: Any) -> None:
        self.greenlet: Optional[greenlet] = g
        self.hub = hub
        self.payload = payload
        self.handed = False
        self.value: Any = None

    def resume(self) -> None:
        # Runs on the hub. A green thread that left the wait (Timeout, kill, its own timeout)
        # cleared ``greenlet``; the wake-up is then dropped.
        g = self.greenlet
        if g is not None:
            self.greenlet = None
            g.switch(self.value)

    def expire(self) -> None:
        g = self.greenlet
        if g is not None:
            self.greenlet = None
            g.switch(_EXPIRED)


_new_entry = object.__new__
_current = _context.current


class WaitQueue(deque):  # type: ignore[type-arg]
    """A first-come-first-served queue of parked green threads (trio's ParkingLot).

    ``len(q)`` and ``bool(q)`` tell how many green threads are parked; ``handing`` counts
    those that were handed a value and have not resumed yet (they count as waiting for the
    primitive's bookkeeping: a unit on its way to a waiter is neither free nor held).

    It is a ``deque`` of opaque entries so that ``len``/``bool``, which primitives test on
    every operation, cost no Python-level call; use only the methods documented here.
    Use from the hub's own thread only, like every green primitive.
    """

    __slots__ = ("handing",)

    def __init__(self) -> None:
        super().__init__()
        self.handing = 0

    def __repr__(self) -> str:
        return f"<WaitQueue parked={len(self)} handing={self.handing}>"

    def park(self, timeout: Optional[float] = None, expired: Any = None, payload: Any = None,
             refused: Optional[Callable[[Any], Any]] = None) -> Any:
        """Park the current green thread at the back of the queue until it is woken.

        Args:
            timeout: give up after this many seconds (None: wait for ever).
            expired: what to return when ``timeout`` passes first.
            payload: an object wakers can read with ``pop_payload`` (a ``put``'s item).
            refused: ``refused(value)`` gets back a value this green thread was handed but
                can no longer accept (a ``Timeout`` or ``kill`` hit it first, or its timeout
                fired before it ran). Without it the hand-off stands: the value is returned
                even if the timeout fired, and an exception propagates with the value kept.

        Returns:
            the value passed to ``wake_one``/``wake_all``, or ``expired``.

        Raises:
            RuntimeError: called from the hub's own greenlet (it would wait on itself).
        """
        hub = _current.hub
        if hub is None:
            from greenlane.hubs import get_hub

            hub = get_hub()
        current = getcurrent()
        loop = hub.greenlet
        if current is loop:
            raise RuntimeError("a blocking call was made from the hub's own greenlet (from a "
                               "hub callback): it would wait for itself")
        # _Entry's fields set here rather than by an __init__: one Python frame less on the
        # contended path of every lock and queue.
        entry = _new_entry(_Entry)
        entry.greenlet = current
        entry.hub = hub
        entry.payload = payload
        entry.handed = False
        self.append(entry)
        timer = None if timeout is None else hub.schedule_call_global(timeout, entry.expire)
        try:
            if loop.dead:
                loop = hub.ensure_loop()
            value = loop.switch()
        except BaseException:
            entry.greenlet = None
            if timer is not None:
                timer.cancel()
            if entry.handed:
                self.handing -= 1
                if refused is not None:
                    refused(entry.value)
            else:
                self._remove(entry)
            raise
        if timer is not None:
            timer.cancel()
        if entry.handed:
            self.handing -= 1
            if value is _EXPIRED:
                # The timeout fired after the hand-off but before the wake-up ran.
                if refused is not None:
                    refused(entry.value)
                    return expired
                return entry.value
            return value
        # Not handed: our own timeout, or a switch that is no wake-up at all (the hub loop
        # ending under a parked main greenlet): either way we stop waiting.
        entry.greenlet = None
        self._remove(entry)
        return expired

    def _remove(self, entry: _Entry) -> None:
        try:
            self.remove(entry)
        except ValueError:
            pass  # wake_all took the whole queue

    def wake_one(self, value: Any = None) -> bool:
        """Hand ``value`` to the green thread parked longest; False if none is parked.

        It resumes on the hub's next turn with ``park`` returning ``value`` (or refuses it,
        see ``park``). Never switches: the caller goes on at once.
        """
        if not self:
            return False
        entry = self.popleft()
        entry.handed = True
        entry.value = value
        self.handing += 1
        entry.hub.push_ready((entry.resume, ()))
        return True

    def pop_payload(self, value: Any = None) -> Any:
        """Like ``wake_one``, and return the ``payload`` that green thread parked with.

        Raises:
            IndexError: no green thread is parked.
        """
        entry = self.popleft()
        entry.handed = True
        entry.value = value
        self.handing += 1
        entry.hub.push_ready((entry.resume, ()))
        return entry.payload

    def peek_payload(self) -> Any:
        """The ``payload`` of the green thread parked longest (IndexError if none)."""
        return self[0].payload

    def wake_all(self, value: Any = None) -> int:
        """Hand ``value`` to every parked green thread; return how many there were."""
        count = len(self)
        if count:
            popleft = self.popleft
            for _ in range(count):
                entry = popleft()
                entry.handed = True
                entry.value = value
                entry.hub.push_ready((entry.resume, ()))
            self.handing += count
        return count

    def forget_all(self) -> None:
        """Forget every parked green thread without waking it (after ``os.fork``)."""
        super().clear()
        self.handing = 0
