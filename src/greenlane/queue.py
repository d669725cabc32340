"""Queues for green threads: ``LightQueue``, ``Queue``, ``PriorityQueue``, ``LifoQueue``.

Same names and semantics as ``eventlet.queue``, including the one big difference from the
stdlib: ``maxsize=0`` makes a *synchronous channel* (``put`` waits until a ``get`` takes the
item; ``empty()`` and ``full()`` are both True), while ``None`` or a negative size means
unbounded. ``Full`` and ``Empty`` are the stdlib's ``queue.Full`` and ``queue.Empty``.

Differences from eventlet, all deliberate:

* Waiting green threads are served first come, first served (eventlet keeps them in sets),
  and a new ``get``/``put`` does not overtake green threads already waiting.
* A ``put`` that finds getters waiting wakes the first one with a claim on an item, taken when
  it runs (through ``greenlane.hubs.WaitQueue``): a getter that leaves by ``Timeout``, ``kill``
  or its own timeout before it ran passes its claim to the next getter, so no item is lost or
  taken out of turn. A waiting ``put`` whose item was accepted returns normally even if its
  timeout fires before it resumes (the item is in the queue; raising ``Full`` would lie).
* ``timeout <= 0`` with ``block=True`` makes one non-blocking attempt (as the stdlib does);
  eventlet would wait for one turn of the hub.
* ``put_nowait`` on a channel succeeds when a getter is waiting (eventlet only allowed that
  from the hub's greenlet); the item is handed to that getter.
* ``Queue.join`` takes an optional ``timeout`` and returns whether all tasks were done.
* Timeouts use a plain hub timer and no ``Timeout`` exception, so they cost no traceback.
"""

from __future__ import annotations

import heapq
from collections import deque
from queue import Empty, Full
from typing import Any, Generic, Optional, TypeVar

from greenlane.greenthread import sleep
from greenlane.hubs import WaitQueue

__all__ = ["Empty", "Full", "LifoQueue", "LightQueue", "PriorityQueue", "Queue"]

T = TypeVar("T")

# What a waiting put/get gets back when its timeout expires (never a queue item: private).
_TIMED_OUT: Any = object()


class LightQueue(Generic[T]):
    """A FIFO queue without ``task_done``/``join`` (a little faster than ``Queue``).

    Args:
        maxsize: ``None`` or negative: unbounded; ``0``: a synchronous channel; ``n > 0``:
            ``put`` waits while ``n`` items are queued.

    Attributes:
        maxsize: the current bound (``None`` when unbounded).
        getters: the green threads waiting in ``get`` (a ``WaitQueue``; use ``getting()``).
        putters: the green threads waiting in ``put``, with their items (use ``putting()``).
    """

    __slots__ = ("getters", "maxsize", "putters", "queue")

    def __init__(self, maxsize: Optional[int] = None) -> None:
        self.maxsize: Optional[int] = None if maxsize is None or maxsize < 0 else maxsize
        # Invariants. Getters wait only while every queued item is claimed: a getter woken
        # by a put has a claim on one queued item and takes it with _get() when it runs (so a
        # PriorityQueue hands out the best item at that moment, as eventlet does); claims are
        # ``getters.handing``. Putters wait only while the queue is full (a channel is always
        # full) and no getter waits; room that frees up takes the first putter's item.
        self.getters = WaitQueue()
        self.putters = WaitQueue()
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
        return result

    def qsize(self) -> int:
        """The number of items a ``get`` could take now: items already handed to a woken
        getter that has not run yet are not counted, nor those of waiting ``put`` calls."""
        return len(self.queue) - self.getters.handing

    def empty(self) -> bool:
        """True if no item is there for a ``get`` to take (so ``get_nowait`` would raise
        ``Empty``, waiting ``put`` calls aside); always True for a channel."""
        return len(self.queue) <= self.getters.handing

    def full(self) -> bool:
        """True if a ``put`` would wait (always True for a channel; never if unbounded)."""
        return self.maxsize is not None and len(self.queue) >= self.maxsize

    def putting(self) -> int:
        """The number of green threads waiting in ``put`` for their item to be accepted."""
        return len(self.putters)

    def getting(self) -> int:
        """The number of green threads waiting in ``get`` (including those woken for an item
        that have not run yet)."""
        return len(self.getters) + self.getters.handing

    def resize(self, size: Optional[int]) -> None:
        """Change ``maxsize`` (``None``/negative: unbounded; 0: channel).

        Growing it accepts the items of waiting ``put`` calls that now fit, first come first.
        Shrinking it keeps the items already queued; ``put`` waits until they drain below the
        new size.
        """
        self.maxsize = None if size is None or size < 0 else size
        if self.putters:
            self._accept_putters()

    def _accept_putters(self) -> None:
        # Room freed up (or appeared): move waiting puts' items in, first come first, and give
        # any unclaimed item to a waiting getter (one may have parked meanwhile).
        putters = self.putters
        maxsize = self.maxsize
        while putters and (maxsize is None or len(self.queue) < maxsize):
            self._put(putters.pop_payload(True))
        getters = self.getters
        while getters and len(self.queue) > getters.handing:
            getters.wake_one()

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
        getters = self.getters
        if getters:
            # Every queued item is claimed and someone waits: this one is theirs.
            self._put(item)
            getters.wake_one()
            if self.maxsize == 0 and block:
                # A channel's put returns once the get has the item; the getter's wake-up is
                # queued before ours, so it runs first.
                sleep(0)
            return
        maxsize = self.maxsize
        if not self.putters and (maxsize is None or len(self.queue) < maxsize):
            self._put(item)
            return
        if not block or (timeout is not None and timeout <= 0):
            raise Full
        # Accepted means done, even if the timeout fires before we run again: no `refused`.
        if self.putters.park(timeout, _TIMED_OUT, item) is _TIMED_OUT:
            raise Full

    def put_nowait(self, item: T) -> None:
        """``put(item, block=False)``: raise ``Full`` if there is no room right now."""
        self.put(item, False)

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
        getters = self.getters
        if not getters:
            if len(self.queue) > getters.handing:
                # An unclaimed item, and nobody waits before us.
                item = self._get()
                if self.putters:
                    self._accept_putters()
                return item
            if self.putters and not self.queue:
                # A channel (or a queue resized down to 0): the first waiting put's item.
                self._put(self.putters.pop_payload(True))
                return self._get()
        if not block or (timeout is not None and timeout <= 0):
            raise Empty
        if getters.park(timeout, _TIMED_OUT, None, self._pass_claim) is _TIMED_OUT:
            raise Empty
        item = self._get()
        if self.putters:
            self._accept_putters()
        return item

    def _pass_claim(self, _value: Any) -> None:
        # A getter woken for an item left before it ran: the next getter may take the item,
        # or it stays queued for whoever comes.
        self.getters.wake_one()

    def get_nowait(self) -> T:
        """``get(block=False)``: raise ``Empty`` if there is no item right now."""
        return self.get(False)


class Queue(LightQueue[T]):
    """A FIFO queue with ``task_done``/``join``, like the stdlib's (``maxsize=0``: a channel).

    Attributes:
        unfinished_tasks: items put and not yet marked done with ``task_done``.
    """

    __slots__ = ("_joiners", "unfinished_tasks")

    def __init__(self, maxsize: Optional[int] = None) -> None:
        self.unfinished_tasks = 0
        self._joiners = WaitQueue()
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
        if self.unfinished_tasks == 0:
            self._joiners.wake_all(True)

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
        done = self._joiners.park(timeout, False)
        # A timeout firing just after the last task_done still reports success.
        return bool(done) or self.unfinished_tasks <= 0


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
