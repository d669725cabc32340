"""Queues for green threads: ``LightQueue``, ``Queue``, ``PriorityQueue``, ``LifoQueue``.

Same names and semantics as ``eventlet.queue``, including the one big difference from the
stdlib: ``maxsize=0`` makes a *synchronous channel* (``put`` waits until a ``get`` takes the
item; ``empty()`` and ``full()`` are both True), while ``None`` or a negative size means
unbounded. ``Full`` and ``Empty`` are the stdlib's ``queue.Full`` and ``queue.Empty``.

Differences from eventlet, all deliberate:

* Waiting green threads are served first come, first served (eventlet keeps them in sets),
  and a new ``get``/``put`` does not overtake green threads already waiting.
* An item handed to a waiting ``get`` is given to it by the hub in the same step as it is woken,
  so a getter that leaves by ``Timeout`` or ``kill`` never takes an item with it: the item stays
  for the next getter. A waiting ``put`` whose item was accepted returns normally even if its
  timeout fires before it resumes (the item is in the queue; raising ``Full`` would lie).
* ``timeout <= 0`` with ``block=True`` makes one non-blocking attempt (as the stdlib does);
  eventlet would wait for one turn of the hub.
* ``put_nowait`` on a channel succeeds when a getter is waiting (eventlet only allowed that
  from the hub's greenlet); the item is then buffered for the waiting getters.
* ``Queue.join`` takes an optional ``timeout`` and returns whether all tasks were done.
* Timeouts use a plain hub timer and no ``Timeout`` exception, so they cost no traceback.
"""

from __future__ import annotations

import heapq
from collections import deque
from queue import Empty, Full
from typing import Any, Generic, Optional, TypeVar

from greenlane.hubs._waiter import Waiter

__all__ = ["Empty", "Full", "LifoQueue", "LightQueue", "PriorityQueue", "Queue"]

T = TypeVar("T")

# What a waiting put/get is woken with when its timeout expires (never a queue item: private).
_TIMED_OUT: Any = object()


def _discard(waiters: Any, entry: Any) -> bool:
    # Take a waiter's entry off its deque (or list) if still there; False if already gone.
    try:
        waiters.remove(entry)
    except ValueError:
        return False
    return True


class LightQueue(Generic[T]):
    """A FIFO queue without ``task_done``/``join`` (a little faster than ``Queue``).

    Args:
        maxsize: ``None`` or negative: unbounded; ``0``: a synchronous channel; ``n > 0``:
            ``put`` waits while ``n`` items are queued.

    Attributes:
        maxsize: the current bound (``None`` when unbounded).
        getters: green threads waiting in ``get`` (a deque; use ``getting()``).
        putters: ``(waiter, item)`` of green threads waiting in ``put`` (use ``putting()``).
    """

    __slots__ = ("_unlocking", "getters", "maxsize", "putters", "queue")

    def __init__(self, maxsize: Optional[int] = None) -> None:
        self.maxsize: Optional[int] = None if maxsize is None or maxsize < 0 else maxsize
        # Invariant: every waiter in these deques is parked in get()/put(). A getter leaves
        # `getters` only in _unlock (popped and switched to in the same hub step) or by taking
        # itself off in get()'s cleanup. A putter is popped when its item is accepted, then
        # woken through the ready queue; its item is in the queue already by then.
        self.getters: deque[Waiter] = deque()
        self.putters: deque[tuple[Waiter, T]] = deque()
        self._unlocking = False
        self._init(maxsize)

    def _init(self, maxsize: Optional[int]) -> None:
        self.queue: Any = deque()

    def _put(self, item: T) -> None:
        self.queue.append(item)

    def _get(self) -> T:
        return self.queue.popleft()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._format()}>"

    def _format(self) -> str:
        result = f"maxsize={self.maxsize!r}"
        if self.queue:
            result += f" queue={self.queue!r}"
        if self.getters:
            result += f" getters[{len(self.getters)}]"
        if self.putters:
            result += f" putters[{len(self.putters)}]"
        if self._unlocking:
            result += " unlocking"
        return result

    def qsize(self) -> int:
        """The number of items in the queue (not counting those of waiting ``put`` calls)."""
        return len(self.queue)

    def empty(self) -> bool:
        """True if the queue holds no item (always True for an idle channel)."""
        return not self.queue

    def full(self) -> bool:
        """True if a ``put`` would wait (always True for a channel; never if unbounded)."""
        return self.maxsize is not None and len(self.queue) >= self.maxsize

    def putting(self) -> int:
        """The number of green threads waiting in ``put``."""
        return len(self.putters)

    def getting(self) -> int:
        """The number of green threads waiting in ``get``."""
        return len(self.getters)

    def resize(self, size: Optional[int]) -> None:
        """Change ``maxsize`` (``None``/negative: unbounded; 0: channel).

        Growing it accepts the items of waiting ``put`` calls that now fit, first come first.
        Shrinking it keeps the items already queued; ``put`` waits until they drain below the
        new size.
        """
        self.maxsize = None if size is None or size < 0 else size
        if self.putters:
            self._accept_putters()
            if self.getters and self.queue:
                self._schedule_unlock()

    # ------------------------------------------------------------------ put
    def put(self, item: T, block: bool = True, timeout: Optional[float] = None) -> None:
        """Put ``item`` into the queue, waiting for room if needed.

        Args:
            item: the item.
            block: if False, raise ``Full`` at once instead of waiting.
            timeout: wait at most this many seconds, then raise ``Full``; ``<= 0`` means one
                non-blocking attempt.

        Raises:
            Full: no room (non-blocking, or after ``timeout``).
        """
        if not self.putters:
            maxsize = self.maxsize
            if maxsize is None or len(self.queue) < maxsize:
                self._put(item)
                if self.getters and not self._unlocking:
                    self._unlocking = True
                    self.getters[0].hub._ready.append((self._unlock, ()))
                return
        self._put_slow(item, block, timeout)

    def _put_slow(self, item: T, block: bool, timeout: Optional[float]) -> None:
        putters = self.putters
        if not block or (timeout is not None and timeout <= 0):
            # A channel accepts an item without waiting if a getter is waiting for it (items
            # already buffered are spoken for by the first getters).
            if self.maxsize == 0 and not putters and len(self.queue) < len(self.getters):
                self._put(item)
                self._schedule_unlock()
                return
            raise Full
        waiter = Waiter()
        entry = (waiter, item)
        putters.append(entry)
        if self.getters:
            # A channel (or a queue that a resize just shrank): pair with a waiting getter.
            self._schedule_unlock()
        try:
            result = waiter.wait(timeout, _TIMED_OUT)
        except BaseException:
            # Killed or hit by a Timeout. If our entry is gone the item was accepted already:
            # it stays queued (or delivered); only the caller hears of the exception.
            _discard(putters, entry)
            raise
        # Timed out, unless the item was accepted just before (its wake-up is then ignored).
        if result is _TIMED_OUT and _discard(putters, entry):
            raise Full

    def put_nowait(self, item: T) -> None:
        """``put(item, block=False)``: raise ``Full`` if there is no room right now."""
        self.put(item, False)

    def _accept_putters(self) -> None:
        # Move items of waiting put() calls into the queue while they fit, first come first,
        # and queue their wake-ups. Called from any green thread: nothing switches here.
        putters = self.putters
        maxsize = self.maxsize
        put = self._put
        while putters and (maxsize is None or len(self.queue) < maxsize):
            waiter, item = putters.popleft()
            put(item)
            waiter.hub._ready.append((waiter.switch, (True,)))

    def _take_from_putter(self) -> T:
        # The first waiting put's item, for a getter when the queue is empty (a channel), and
        # that put's wake-up. Through _put/_get, so subclass ordering and task counts apply.
        waiter, item = self.putters.popleft()
        self._put(item)
        item = self._get()
        waiter.hub._ready.append((waiter.switch, (True,)))
        return item

    # ------------------------------------------------------------------ get
    def get(self, block: bool = True, timeout: Optional[float] = None) -> T:
        """Remove and return an item, waiting for one if needed.

        Args:
            block: if False, raise ``Empty`` at once instead of waiting.
            timeout: wait at most this many seconds, then raise ``Empty``; ``<= 0`` means one
                non-blocking attempt.

        Raises:
            Empty: no item (non-blocking, or after ``timeout``).
        """
        if self.queue and not self.getters:
            item = self._get()
            if self.putters:
                self._accept_putters()
            return item
        return self._get_slow(block, timeout)

    def _get_slow(self, block: bool, timeout: Optional[float]) -> T:
        getters = self.getters
        putters = self.putters
        if putters and not getters:
            # A channel (or a queue resized down to 0): take the first waiting put's item.
            return self._take_from_putter()
        if not block or (timeout is not None and timeout <= 0):
            raise Empty
        waiter = Waiter()
        getters.append(waiter)
        if self.queue or putters:
            self._schedule_unlock()
        try:
            item = waiter.wait(timeout, _TIMED_OUT)
        except BaseException:
            # Still queued (see the invariant in __init__): no item was given to us.
            _discard(getters, waiter)
            raise
        if item is _TIMED_OUT:
            _discard(getters, waiter)
            raise Empty
        return item  # type: ignore[no-any-return]

    def get_nowait(self) -> T:
        """``get(block=False)``: raise ``Empty`` if there is no item right now."""
        return self.get(False)

    # ------------------------------------------------------------------ hand-off
    def _schedule_unlock(self) -> None:
        if not self._unlocking and self.getters:
            self._unlocking = True
            self.getters[0].hub._ready.append((self._unlock, ()))

    def _unlock(self) -> None:
        # Runs on the hub: give one item to the first waiting getter, choosing the getter and
        # switching to it in one step (so it cannot have left in between). One hand-off per
        # call, re-queued while there is more, so two green threads ping-ponging through
        # queues cannot starve the rest of the hub.
        getters = self.getters
        while getters:
            getter = getters.popleft()
            if getter.greenlet is None:
                continue  # cannot happen (see __init__), but never lose an item to it
            if self.queue:
                item = self._get()
                if self.putters:
                    self._accept_putters()
            elif self.putters:
                # Channel: the item goes straight from the first putter to this getter.
                item = self._take_from_putter()
            else:
                getters.appendleft(getter)
                break
            getter.switch(item)
            break
        if getters and (self.queue or self.putters):
            getters[0].hub._ready.append((self._unlock, ()))
        else:
            self._unlocking = False


class Queue(LightQueue[T]):
    """A FIFO queue with ``task_done``/``join``, like the stdlib's (``maxsize=0``: a channel).

    Attributes:
        unfinished_tasks: items put and not yet marked done with ``task_done``.
    """

    __slots__ = ("_joiners", "unfinished_tasks")

    def __init__(self, maxsize: Optional[int] = None) -> None:
        self.unfinished_tasks = 0
        self._joiners: list[Waiter] = []
        super().__init__(maxsize)

    def _format(self) -> str:
        result = super()._format()
        if self.unfinished_tasks:
            result += f" tasks={self.unfinished_tasks}"
        return result

    def _put(self, item: T) -> None:
        self.queue.append(item)
        self.unfinished_tasks += 1

    def task_done(self) -> None:
        """Mark one item taken with ``get`` as processed; wakes ``join`` when none are left.

        Raises:
            ValueError: called more times than items were put.
        """
        if self.unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self.unfinished_tasks -= 1
        if self.unfinished_tasks == 0 and self._joiners:
            joiners, self._joiners = self._joiners, []
            for waiter in joiners:
                waiter.wake(True)

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until every item put has been marked done with ``task_done``.

        Args:
            timeout: wait at most this many seconds (a greenlane addition).

        Returns:
            True when all tasks are done, False on timeout.
        """
        if self.unfinished_tasks <= 0:
            return True
        if timeout is not None and timeout <= 0:
            return False
        waiter = Waiter()
        self._joiners.append(waiter)
        done = False
        try:
            done = bool(waiter.wait(timeout, False))
        finally:
            if not done:
                _discard(self._joiners, waiter)
        # A timeout firing just after the last task_done still reports success.
        return done or self.unfinished_tasks <= 0


class PriorityQueue(Queue[T]):
    """A ``Queue`` that returns the lowest item first (entries are often ``(priority, data)``).

    Equal priorities come out in no particular order, as with ``heapq``.
    """

    __slots__ = ()

    def _init(self, maxsize: Optional[int]) -> None:
        self.queue = []

    def _put(self, item: T) -> None:
        heapq.heappush(self.queue, item)
        self.unfinished_tasks += 1

    def _get(self) -> T:
        return heapq.heappop(self.queue)  # type: ignore[no-any-return]


class LifoQueue(Queue[T]):
    """A ``Queue`` that returns the most recently added item first."""

    __slots__ = ()

    def _init(self, maxsize: Optional[int]) -> None:
        self.queue = []

    def _get(self) -> T:
        return self.queue.pop()  # type: ignore[no-any-return]
