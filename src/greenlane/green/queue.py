"""The ``queue`` module on green threads, with the stdlib's semantics: ``greenlane.green.queue``.

``Queue``, ``LifoQueue``, ``PriorityQueue`` and ``SimpleQueue`` block only the calling green
thread. Unlike ``greenlane.queue`` (eventlet's semantics, where ``maxsize=0`` is a synchronous
channel), ``maxsize <= 0`` means unbounded, as in the stdlib. ``Empty`` and ``Full`` are the
stdlib's classes; ``ShutDown`` and ``shutdown()`` are CPython 3.13's, offered on every version.

Patching (``monkey_patch(thread=True)``) replaces only ``queue.SimpleQueue``, which is written in
C and would block the whole OS thread (``concurrent.futures.ThreadPoolExecutor`` waits on one).
``queue.Queue`` and its subclasses are left alone: they are built on ``threading``'s locks and
conditions, so once ``threading`` is patched every queue made from then on is green, and
subclasses that rely on their ``mutex``/``not_empty`` attributes keep working.

Differences from the stdlib classes: these have no ``mutex``, ``not_empty``, ``not_full`` or
``all_tasks_done`` attributes; ``maxsize`` is ``None`` when unbounded; waiting green threads are
served first come, first served; ``join()`` takes an optional ``timeout``.
"""

from __future__ import annotations

import queue as _stdqueue
from queue import Empty, Full
from typing import Optional, TypeVar

from greenlane import queue as _green
from greenlane.queue import _TIMED_OUT

__all__ = ["Empty", "Full", "LifoQueue", "PriorityQueue", "Queue", "ShutDown", "SimpleQueue"]

T = TypeVar("T")

if hasattr(_stdqueue, "ShutDown"):
    ShutDown = _stdqueue.ShutDown
else:
    class ShutDown(Exception):  # type: ignore[no-redef]
        """Raised by ``put`` or ``get`` on a queue that was shut down (CPython 3.13's)."""


def _bound(maxsize: Optional[int]) -> Optional[int]:
    # The stdlib's rule: zero or negative means unbounded (greenlane.queue's None).
    return None if maxsize is None or maxsize <= 0 else maxsize


def _check(block: bool, timeout: Optional[float]) -> None:
    if block and timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


class _StdlibSemantics(_green.Queue[T]):
    # maxsize, argument checks and shutdown() of the stdlib's Queue over greenlane's queue.
    __slots__ = ("is_shutdown",)

    def __init__(self, maxsize: int = 0) -> None:
        self.is_shutdown = False
        super().__init__(_bound(maxsize))

    def resize(self, size: Optional[int]) -> None:
        """Change ``maxsize`` (zero or negative: unbounded)."""
        super().resize(_bound(size))

    def put(self, item: T, block: bool = True, timeout: Optional[float] = None) -> None:
        """Put ``item`` in, waiting up to ``timeout`` seconds for room if ``block``.

        Raises:
            Full: no room (non-blocking, or after ``timeout``).
            ShutDown: the queue was shut down.
            ValueError: a negative ``timeout``.
        """
        if self.is_shutdown:
            raise ShutDown
        _check(block, timeout)
        try:
            super().put(item, block, timeout)
        except Full:
            if self.is_shutdown:
                raise ShutDown from None
            raise

    def get(self, block: bool = True, timeout: Optional[float] = None) -> T:
        """Remove and return an item, waiting up to ``timeout`` seconds for one if ``block``.

        Raises:
            Empty: no item (non-blocking, or after ``timeout``).
            ShutDown: the queue was shut down and is empty, or every item left is promised
                to a green thread that was already waiting in ``get``.
            ValueError: a negative ``timeout``.
        """
        # After shutdown() nothing parks: no put would come to wake it. Items that getters
        # woken earlier have a claim on are theirs.
        if self.is_shutdown and len(self.queue) <= self.getters.handing:
            raise ShutDown
        _check(block, timeout)
        return super().get(block, timeout)

    def _get(self) -> T:
        # A getter woken by shutdown() finds no item to take.
        if self.is_shutdown and not self.queue:
            raise ShutDown
        return super()._get()

    def qsize(self) -> int:
        """The number of items a ``get`` could take now (as ``greenlane.queue``'s), never
        negative: getters that ``shutdown()`` woke hold no claim on an item."""
        return max(0, super().qsize())

    def shutdown(self, immediate: bool = False) -> None:
        """Make ``put`` raise ``ShutDown`` from now on, and ``get`` once the queue is empty.

        Green threads waiting in ``put`` get ``ShutDown``; with ``immediate`` the queued items
        are dropped (counted as done for ``join``) and waiting ``get`` calls get it too.
        """
        self.is_shutdown = True
        if immediate:
            while self.queue:
                # The subclass's _get: LifoQueue and PriorityQueue keep a list, not a deque.
                self._get()
                if self.unfinished_tasks > 0:
                    self.task_done()
        # Parked getters re-check through _get; parked putters see a refused put.
        self.getters.wake_all()
        while self.putters:
            self.putters.pop_payload(_TIMED_OUT)


class Queue(_StdlibSemantics[T]):
    """A FIFO queue (``queue.Queue``): ``maxsize <= 0`` means unbounded."""

    __slots__ = ()


class LifoQueue(_StdlibSemantics[T]):
    """A queue that returns the most recently added item first (``queue.LifoQueue``)."""

    __slots__ = ()

    def _init(self, maxsize: Optional[int]) -> None:
        self.queue = []

    def _get(self) -> T:
        if self.is_shutdown and not self.queue:
            raise ShutDown
        return self.queue.pop()  # type: ignore[no-any-return]


class PriorityQueue(_StdlibSemantics[T]):
    """A queue that returns the lowest item first (``queue.PriorityQueue``)."""

    __slots__ = ()

    def _init(self, maxsize: Optional[int]) -> None:
        self.queue = []

    def _put(self, item: T) -> None:
        _green.PriorityQueue._put(self, item)  # type: ignore[arg-type]

    def _get(self) -> T:
        if self.is_shutdown and not self.queue:
            raise ShutDown
        return _green.PriorityQueue._get(self)  # type: ignore[arg-type]


class SimpleQueue(_green.LightQueue[T]):
    """An unbounded FIFO queue without task tracking (``queue.SimpleQueue``), green.

    ``put`` never blocks; ``get`` waits for an item, up to ``timeout`` seconds.
    """

    __slots__ = ("__weakref__",)

    def __init__(self) -> None:
        super().__init__(None)

    def put(self, item: T, block: bool = True, timeout: Optional[float] = None) -> None:
        """Put ``item`` in; never blocks (``block`` and ``timeout`` are ignored).

        Reentrant, as the C class is: the item is appended before anything that could let
        the garbage collector run a ``__del__`` that puts too (bpo-14976).
        """
        self.queue.append(item)
        getters = self.getters
        if getters and len(self.queue) > getters.handing:
            getters.wake_one()

    put_nowait = put

    def get(self, block: bool = True, timeout: Optional[float] = None) -> T:
        """Remove and return an item, waiting up to ``timeout`` seconds if ``block``.

        Raises:
            Empty: no item (non-blocking, or after ``timeout``).
            ValueError: a negative ``timeout``.
        """
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        return super().get(block, timeout)


__patches__ = (("thread", "queue", ("SimpleQueue",)),)
