"""Semaphores for green threads: ``Semaphore``, ``BoundedSemaphore``, ``CappedSemaphore``.

Same names and API as ``eventlet.semaphore``. Differences, all deliberate:

* Waiters are served strictly first come, first served, and a unit freed by ``release`` is
  handed to the first waiter at once (it is not up for grabs by whoever runs next). A green
  thread calling ``acquire`` while others wait queues behind them, and
  ``acquire(blocking=False)`` then returns False instead of blocking (eventlet could block
  there). gevent, by contrast, lets the releasing green thread take the unit straight back.
* ``release`` gives the unit to the first waiter itself and queues only that waiter's wake-up on
  the hub (eventlet schedules a callback that then looks for a waiter): no timer, no extra
  callback. A waiter that leaves by ``Timeout`` or ``kill`` after being handed a unit, before it
  ran, passes the unit on to the next waiter, so no unit is ever lost.
* ``acquire(timeout=0)`` makes one non-blocking attempt (as ``threading.Semaphore`` does);
  eventlet would yield to the hub once first.
* ``locked()`` is True exactly when ``acquire(blocking=False)`` would fail, including while a
  released unit is on its way to a waiter that has not run yet.
* ``CappedSemaphore`` keeps eventlet-style dispatch through one hub callback per hand-off: with
  ``limit == 0`` a unit goes straight from a parked releaser to an acquirer, and a refused
  hand-off could not be undone if the releaser had already returned.
* ``CappedSemaphore.acquire`` takes a ``timeout`` too, and the semaphore keeps one counter
  instead of eventlet's pair of semaphores (whose timeout handling could leave it inconsistent).
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Optional

from greenlet import getcurrent

from greenlane.hubs import _context
from greenlane.hubs._waiter import Waiter

__all__ = ["BoundedSemaphore", "CappedSemaphore", "Semaphore"]

# The arguments of a hand-off's wake-up (one shared tuple rather than one per release).
_HANDED = (True,)


def _check_timeout(blocking: bool, timeout: float) -> Optional[float]:
    # threading/eventlet conventions: -1 means "no timeout", other negatives are errors.
    if timeout == -1:
        return None
    if timeout < 0:
        raise ValueError("timeout value must be strictly positive")
    if not blocking:
        raise ValueError("can't specify timeout for non-blocking acquire")
    return timeout


class Semaphore:
    """A counter of available units: ``acquire`` takes one, waiting while there is none.

    API-compatible with ``threading.Semaphore`` and ``eventlet.semaphore.Semaphore``; also a
    context manager. ``counter`` is the number of free units (eventlet attribute).

    Args:
        value: the initial number of units (default 1); must not be negative.
    """

    __slots__ = ("_handoffs", "_original_value", "_waiters", "counter")

    def __init__(self, value: int = 1) -> None:
        try:
            value = int(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Semaphore() expects an int value, got {type(value)}: {e}") from None
        if value < 0:
            raise ValueError(f"Semaphore() expects value >= 0, got {value!r}")
        self.counter = value
        self._original_value = value
        # Invariants: every waiter in this deque is parked in acquire(), and the counter is
        # never positive while the deque is not empty (release hands its unit to the first
        # waiter instead of counting it). A waiter leaves the deque either popped by release,
        # which hands it a unit, or by taking itself off in acquire()'s cleanup, which runs
        # before any other green thread can look.
        self._waiters: deque[Waiter] = deque()
        # Units handed to waiters that have not resumed yet: neither free nor visibly held,
        # but they count when checking for over-release (BoundedSemaphore, Lock).
        self._handoffs = 0

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} at {id(self):#x} c={self.counter} "
                f"_w[{len(self._waiters)}]>")

    def __str__(self) -> str:
        return f"<{type(self).__name__} c={self.counter} _w[{len(self._waiters)}]>"

    def locked(self) -> bool:
        """True if ``acquire(blocking=False)`` would fail right now."""
        return self.counter <= 0 or bool(self._waiters)

    def bounded(self) -> bool:
        """False: a plain Semaphore never refuses a ``release`` (eventlet compatibility)."""
        return False

    @property
    def balance(self) -> int:
        """Free units minus green threads waiting for one (negative: that many wait)."""
        return self.counter - len(self._waiters)

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Take one unit, waiting for one if there is none (and others are served first).

        Args:
            blocking: if False, return False at once instead of waiting.
            timeout: wait at most this many seconds (``None`` or ``-1``: no limit; ``0``: one
                non-blocking attempt). Not allowed together with ``blocking=False``.

        Returns:
            True if a unit was taken, False on timeout or when it would block.

        Raises:
            ValueError: for a negative timeout other than -1, or a timeout with
                ``blocking=False``.
        """
        if timeout is not None:
            timeout = _check_timeout(blocking, timeout)
        # No waiter check needed: the counter is positive only when nobody waits.
        if self.counter > 0:
            self.counter -= 1
            return True
        if not blocking or (timeout is not None and timeout <= 0):
            return False
        waiter = Waiter(_context.current.hub)
        waiters = self._waiters
        waiters.append(waiter)
        if timeout is None:
            acquired = False
            try:
                # Waiter.wait() inlined: this is the contended path of every lock.
                current = waiter.greenlet = getcurrent()
                hub_greenlet = waiter.hub.greenlet
                if current is hub_greenlet or hub_greenlet.dead:
                    acquired = waiter.wait()
                else:
                    acquired = hub_greenlet.switch()
            finally:
                waiter.greenlet = None
                if not acquired:
                    self._leave(waiters, waiter)
            if acquired:
                self._handoffs -= 1
                return True
            return False
        return self._wait_timeout(waiters, waiter, timeout)

    def _wait_timeout(self, waiters: deque[Waiter], waiter: Waiter, timeout: float) -> bool:
        acquired = False
        try:
            acquired = bool(waiter.wait(timeout, False))
        finally:
            if not acquired:
                self._leave(waiters, waiter)
        if acquired:
            self._handoffs -= 1
        return acquired

    def _leave(self, waiters: deque[Waiter], waiter: Waiter) -> None:
        # The wait ended without the unit reaching us: timed out, killed, or hit by a Timeout.
        try:
            waiters.remove(waiter)
        except ValueError:
            # release() had already popped us and handed us a unit whose wake-up we will now
            # ignore: pass the unit on. (``waiters`` is the deque we queued in; after a fork,
            # _at_fork_reinit replaced it, so we are still found there and take nothing.)
            self._handoffs -= 1
            self._give()

    def release(self, blocking: bool = True) -> bool:
        """Return one unit; if green threads wait, the first one gets it (on the hub's next turn).

        ``blocking`` is ignored (eventlet compatibility). Returns True.
        """
        waiters = self._waiters
        # A negative counter (a GreenPool shrunk below its running count) must climb back to
        # zero before anyone waiting gets a unit.
        if waiters and self.counter >= 0:
            waiter = waiters.popleft()
            self._handoffs += 1
            waiter.hub._ready.append((waiter.switch, _HANDED))
        else:
            self.counter += 1
        return True

    # One unit is free again from inside the semaphore (a waiter that left passing its unit on,
    # _adjust): the plain release, which BoundedSemaphore's and Lock's checks must not stop.
    _give = release

    def _adjust(self, delta: int) -> None:
        # Change the number of units by delta (may go negative), handing new units to waiters.
        # Used by GreenPool.resize.
        self.counter += delta
        while self.counter > 0 and self._waiters:
            self.counter -= 1
            self._give()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        """Reset to the initial value with no waiters (for ``os.fork`` in a child process)."""
        self.counter = self._original_value
        self._waiters = deque()
        self._handoffs = 0


class BoundedSemaphore(Semaphore):
    """A Semaphore whose ``release`` raises ``ValueError`` if it would exceed the initial value.

    Over-releasing usually means a bug; this makes it fail loudly.
    """

    __slots__ = ()

    def bounded(self) -> bool:
        """True: ``release`` refuses to go past the initial value."""
        return True

    def release(self, blocking: bool = True) -> bool:
        """Return one unit; raises ``ValueError`` if every unit is already free."""
        if self.counter + self._handoffs >= self._original_value:
            raise ValueError("Semaphore released too many times")
        return super().release(blocking)


class CappedSemaphore:
    """A semaphore whose ``release`` waits while the counter is at ``limit``.

    ``acquire`` waits while the count is 0, ``release`` waits while it is ``limit``; both are
    served first come, first served. With ``limit == 0`` an ``acquire`` and a ``release`` meet
    and pass a unit straight across (a rendezvous). It is not ``threading.BoundedSemaphore``:
    reaching the limit blocks instead of raising.

    Args:
        count: initial count (>= 0).
        limit: maximum count (>= count).
    """

    __slots__ = ("_acquirers", "_dispatching", "_releasers", "count", "limit")

    def __init__(self, count: int, limit: int) -> None:
        if count < 0:
            raise ValueError(f"CappedSemaphore must be initialized with a positive number, "
                             f"got {count}")
        if count > limit:
            raise ValueError("'count' cannot be more than 'limit'")
        self.count = count
        self.limit = limit
        self._acquirers: deque[Waiter] = deque()
        self._releasers: deque[Waiter] = deque()
        self._dispatching = False

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} at {id(self):#x} c={self.count} limit={self.limit} "
                f"_a[{len(self._acquirers)}] _r[{len(self._releasers)}]>")

    @property
    def counter(self) -> int:
        """The current count (eventlet exposes the lower semaphore's counter)."""
        return self.count

    @property
    def balance(self) -> int:
        """Acquires possible without waiting, minus waiting acquirers, plus waiting releasers."""
        return self.count - len(self._acquirers) + len(self._releasers)

    def locked(self) -> bool:
        """True if ``acquire(blocking=False)`` would fail right now."""
        return self.count <= 0 or bool(self._acquirers)

    def bounded(self) -> bool:
        """True if ``release(blocking=False)`` would fail right now."""
        return self.count >= self.limit or bool(self._releasers)

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Decrement the count, waiting while it is 0. Returns False on timeout/non-blocking.

        ``timeout`` follows ``Semaphore.acquire`` (a greenlane addition; eventlet has none).
        """
        if timeout is not None:
            timeout = _check_timeout(blocking, timeout)
        if self.count > 0 and not self._acquirers:
            self.count -= 1
            if self._releasers:
                self._schedule(self._releasers[0])
            return True
        if not blocking or (timeout is not None and timeout <= 0):
            return False
        return self._wait(self._acquirers, self._releasers, timeout)

    def release(self, blocking: bool = True) -> bool:
        """Increment the count, waiting while it is at ``limit``; False if non-blocking fails."""
        if self.count < self.limit and not self._releasers:
            self.count += 1
            if self._acquirers:
                self._schedule(self._acquirers[0])
            return True
        if not blocking:
            return False
        return self._wait(self._releasers, self._acquirers, None)

    def _wait(self, mine: deque[Waiter], theirs: deque[Waiter], timeout: Optional[float]) -> bool:
        waiter = Waiter()
        mine.append(waiter)
        if theirs:
            # limit == 0 (or a dispatch pending): we may be able to pair with the other side.
            self._schedule(waiter)
        done = False
        try:
            done = bool(waiter.wait(timeout, False))
        finally:
            if not done:
                try:
                    mine.remove(waiter)
                except ValueError:
                    # Only a releaser paired with an acquirer is popped before it is woken:
                    # its unit went across, so the release did happen.
                    done = True
        return done

    def _schedule(self, waiter: Waiter) -> None:
        if not self._dispatching:
            self._dispatching = True
            waiter.hub._ready.append((self._dispatch, ()))

    def _dispatch(self) -> None:
        # Runs on the hub. One hand-off per call (then re-queued) so that green threads
        # cycling through this semaphore cannot starve the rest of the hub.
        acquirers, releasers = self._acquirers, self._releasers
        if acquirers and self.count > 0:
            self.count -= 1
            self._hand(acquirers)
        elif releasers and self.count < self.limit:
            self.count += 1
            self._hand(releasers)
        elif acquirers and releasers:
            releaser = releasers.popleft()
            self._hand(acquirers)
            releaser.switch(True)
        if (acquirers and (self.count > 0 or releasers)) or (
                releasers and self.count < self.limit):
            (acquirers or releasers)[0].hub._ready.append((self._dispatch, ()))
        else:
            self._dispatching = False

    @staticmethod
    def _hand(waiters: deque[Waiter]) -> None:
        waiter = waiters.popleft()
        waiter.switch(True)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()
