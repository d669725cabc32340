"""Semaphores for green threads: ``Semaphore``, ``BoundedSemaphore``, ``CappedSemaphore``.

Same names and API as ``eventlet.semaphore``. Differences, all deliberate:

* Waiters are served strictly first come, first served, and a unit freed by ``release`` is
  handed to the first waiter at once (it is not up for grabs by whoever runs next). A green
  thread calling ``acquire`` while others wait queues behind them, and
  ``acquire(blocking=False)`` then returns False instead of blocking (eventlet could block
  there). gevent, by contrast, lets the releasing green thread take the unit straight back.
* ``release`` gives the unit to the first waiter itself and queues only that waiter's wake-up on
  the hub (eventlet schedules a callback that then looks for a waiter): no timer, no extra
  callback. A waiter that was handed a unit but leaves before it ran (``Timeout``, ``kill``,
  or its own timeout firing first) passes the unit on to the next waiter, so no unit is ever
  lost. (All of this is ``greenlane.hubs.WaitQueue``'s hand-off.)
* ``acquire(timeout=0)`` makes one non-blocking attempt (as ``threading.Semaphore`` does);
  eventlet would yield to the hub once first.
* ``locked()`` is True exactly when ``acquire(blocking=False)`` would fail, including while a
  released unit is on its way to a waiter that has not run yet.
* ``CappedSemaphore`` hands units the same way in both directions: a ``release`` finding an
  acquirer waiting gives it the unit, an ``acquire`` finding a releaser waiting (the count at
  ``limit``) lets it finish. With ``limit == 0`` a unit passes straight from one to the other.
* ``CappedSemaphore.acquire`` takes a ``timeout`` too, and the semaphore keeps one counter
  instead of eventlet's pair of semaphores (whose timeout handling could leave it inconsistent).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Optional

from greenlane.hubs import WaitQueue

__all__ = ["BoundedSemaphore", "CappedSemaphore", "Semaphore"]


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

    __slots__ = ("_original_value", "_waiters", "counter")

    def __init__(self, value: int = 1) -> None:
        try:
            value = int(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Semaphore() expects an int value, got {type(value)}: {e}") from None
        if value < 0:
            raise ValueError(f"Semaphore() expects value >= 0, got {value!r}")
        self.counter = value
        self._original_value = value
        # Invariant: the counter is never positive while green threads wait (release hands
        # its unit to the first waiter instead of counting it). Units handed to waiters that
        # have not resumed yet are ``_waiters.handing``: neither free nor visibly held, but
        # they count when checking for over-release (BoundedSemaphore, Lock).
        self._waiters = WaitQueue()

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
        # The unit handed over is the semaphore itself, so that a refused one comes back to
        # the plain function below with no bound method allocated per wait.
        return self._waiters.park(timeout, False, None, _unit_refused) is not False

    def release(self, blocking: bool = True) -> bool:
        """Return one unit; if green threads wait, the first one gets it (on the hub's next turn).

        ``blocking`` is ignored (eventlet compatibility). Returns True.
        """
        # A negative counter (a GreenPool shrunk below its running count) must climb back to
        # zero before anyone waiting gets a unit.
        if self.counter < 0 or not self._waiters.wake_one(self):
            self.counter += 1
        return True

    def _adjust(self, delta: int) -> None:
        # Change the number of units by delta (may go negative), handing new units to waiters.
        # Used by GreenPool.resize.
        self.counter += delta
        while self.counter > 0 and self._waiters:
            self.counter -= 1
            Semaphore.release(self)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        """Reset to the initial value with no waiters (for ``os.fork`` in a child process)."""
        self.counter = self._original_value
        self._waiters = WaitQueue()


def _unit_refused(sem: Semaphore) -> None:
    # A waiter refused the unit it was handed: it is free again (the plain release, which
    # BoundedSemaphore's and Lock's over-release checks must not stop).
    Semaphore.release(sem)


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
        if self.counter + self._waiters.handing >= self._original_value:
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

    __slots__ = ("_acquirers", "_releasers", "count", "limit")

    def __init__(self, count: int, limit: int) -> None:
        if count < 0:
            raise ValueError(f"CappedSemaphore must be initialized with a positive number, "
                             f"got {count}")
        if count > limit:
            raise ValueError("'count' cannot be more than 'limit'")
        self.count = count
        self.limit = limit
        # Invariants: acquirers wait only while count == 0, releasers only while count is at
        # (or, after a refused hand-off with limit 0, above) limit; each side hands its unit
        # straight to the other side's first waiter.
        self._acquirers = WaitQueue()
        self._releasers = WaitQueue()

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
        return (self.count <= 0 or bool(self._acquirers)) and not self._releasers

    def bounded(self) -> bool:
        """True if ``release(blocking=False)`` would fail right now."""
        return (self.count >= self.limit or bool(self._releasers)) and not self._acquirers

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Decrement the count, waiting while it is 0. Returns False on timeout/non-blocking.

        ``timeout`` follows ``Semaphore.acquire`` (a greenlane addition; eventlet has none).
        """
        if timeout is not None:
            timeout = _check_timeout(blocking, timeout)
        if not self._acquirers:
            if self._releasers:
                # The count is at the limit and a release waits for room: its unit is ours
                # (with limit 0 this is the rendezvous), and the count does not change.
                self._releasers.wake_one(True)
                return True
            if self.count > 0:
                self.count -= 1
                return True
        if not blocking or (timeout is not None and timeout <= 0):
            return False
        return self._acquirers.park(timeout, False, None, self._unit_back)  # type: ignore[no-any-return]

    def _unit_back(self, _unit: Any) -> None:
        # An acquirer refused its unit: hand it to the next one, or count it (above the limit
        # if it came from a rendezvous; the next acquire takes it, releases wait meanwhile).
        if not self._acquirers.wake_one(True):
            self.count += 1

    def release(self, blocking: bool = True) -> bool:
        """Increment the count, waiting while it is at ``limit``; False if non-blocking fails."""
        if not self._releasers:
            if self._acquirers:
                self._acquirers.wake_one(True)
                return True
            if self.count < self.limit:
                self.count += 1
                return True
        if not blocking:
            return False
        # A release that was let through is done even if its timeout fired: no ``refused``.
        return bool(self._releasers.park(None, False))

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, typ: Optional[type[BaseException]], val: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()
