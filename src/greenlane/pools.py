"""``Pool``: a bounded collection of reusable items (connections, tokens) for green threads.

Same names and API as ``eventlet.pools``. Differences, all deliberate:

* Green threads waiting in ``get`` are served first come, first served, and an item ``put``
  back while some wait is handed to the first of them by the hub in the same step as it is
  woken: a waiter that leaves by ``Timeout`` or ``kill`` never takes an item with it.
* Growing the pool with ``resize`` lets waiting ``get`` calls create new items at once
  (eventlet left them waiting for a ``put``).
* If ``create()`` raises in a ``get`` that was waiting, its slot goes to the next waiter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, Generic, Optional, TypeVar

from greenlane.hubs._waiter import Waiter

__all__ = ["Pool", "Token", "TokenPool"]

T = TypeVar("T")

# What a waiting get() is woken with when it should create a new item itself (private).
_CREATE: Any = object()


class Pool(Generic[T]):
    """Hands out at most ``max_size`` items at once, creating them on demand.

    Subclass it and override ``create()``, or pass ``create``. ``get()`` returns a free item,
    creates one if fewer than ``max_size`` exist, or waits for one to be ``put`` back; the
    ``item()`` context manager does both.

    Args:
        min_size: items created up front.
        max_size: the most items that may exist at once.
        order_as_stack: reuse the most recently returned item first (default: the oldest).
        create: a callable making a new item (instead of overriding ``create``).

    Attributes:
        current_size: items that exist (free or in use).
        free_items: the free items, next to be handed out on the left.
    """

    def __init__(self, min_size: int = 0, max_size: int = 4, order_as_stack: bool = False,
                 create: Optional[Callable[[], T]] = None) -> None:
        self.min_size = min_size
        self.max_size = max_size
        self.order_as_stack = order_as_stack
        self.current_size = 0
        self.free_items: deque[T] = deque()
        # Invariant: every waiter here is parked in get(); one leaves either in _dispatch
        # (popped and switched to in one hub step) or by taking itself off in get().
        self._waiters: deque[Waiter] = deque()
        self._dispatching = False
        if create is not None:
            setattr(self, "create", create)  # noqa: B010 - shadows the method, as in eventlet
        for _ in range(min_size):
            self.current_size += 1
            self.free_items.append(self.create())

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} size={self.current_size}/{self.max_size} "
                f"free={len(self.free_items)} waiting={len(self._waiters)}>")

    def get(self) -> T:
        """Return a free item, create one, or wait until one is ``put`` back."""
        free = self.free_items
        waiters = self._waiters
        if not waiters:
            if free:
                return free.popleft()
            if self.current_size < self.max_size:
                self.current_size += 1
                return self._create_reserved()
        waiter = Waiter()
        waiters.append(waiter)
        try:
            value = waiter.wait()
        except BaseException:
            try:
                waiters.remove(waiter)
            except ValueError:
                pass
            raise
        if value is _CREATE:
            return self._create_reserved()
        return value  # type: ignore[no-any-return]

    def _create_reserved(self) -> T:
        # current_size already counts the item being created.
        try:
            return self.create()
        except BaseException:
            self.current_size -= 1
            self._schedule_dispatch()
            raise

    def put(self, item: T) -> None:
        """Return ``item`` to the pool (dropping it if the pool was shrunk below its size)."""
        if self.current_size > self.max_size:
            self.current_size -= 1
            return
        if self.order_as_stack:
            self.free_items.appendleft(item)
        else:
            self.free_items.append(item)
        if self._waiters:
            self._schedule_dispatch()

    @contextmanager
    def item(self) -> Iterator[T]:
        """A context manager: ``with pool.item() as obj:`` gets an item and puts it back."""
        obj = self.get()
        try:
            yield obj
        finally:
            self.put(obj)

    def resize(self, new_size: int) -> None:
        """Change ``max_size``. Shrinking drops surplus items as they are ``put`` back."""
        self.max_size = new_size
        if self._waiters and self.current_size < new_size:
            self._schedule_dispatch()

    def free(self) -> int:
        """How many ``get`` calls would not wait: free items plus items that may be created."""
        return len(self.free_items) + self.max_size - self.current_size

    def waiting(self) -> int:
        """The number of green threads waiting in ``get``."""
        return len(self._waiters)

    def create(self) -> T:
        """Make a new item; override it in a subclass (or pass ``create``)."""
        raise NotImplementedError("Implement in subclass")

    def _schedule_dispatch(self) -> None:
        if not self._dispatching and self._waiters:
            self._dispatching = True
            self._waiters[0].hub._ready.append((self._dispatch, ()))

    def _dispatch(self) -> None:
        # Runs on the hub: serve the first waiter with a free item or the right to create
        # one, choosing it and switching to it in one step. One per call, then re-queued.
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if waiter.greenlet is None:
                continue  # cannot happen (see __init__)
            if self.free_items:
                waiter.switch(self.free_items.popleft())
            elif self.current_size < self.max_size:
                self.current_size += 1
                waiter.switch(_CREATE)
            else:
                waiters.appendleft(waiter)
            break
        if waiters and (self.free_items or self.current_size < self.max_size):
            waiters[0].hub._ready.append((self._dispatch, ()))
        else:
            self._dispatching = False


class Token:
    """The item a ``TokenPool`` hands out: an opaque object standing for permission."""

    __slots__ = ()


class TokenPool(Pool[Token]):
    """A Pool of ``Token`` objects: use it to limit concurrency, like a semaphore."""

    def create(self) -> Token:
        """Make a new ``Token``."""
        return Token()
