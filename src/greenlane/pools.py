"""``Pool``: a bounded collection of reusable items (connections, tokens) for green threads.

Same names and API as ``eventlet.pools``. Differences, all deliberate:

* Green threads waiting in ``get`` are served first come, first served, and an item ``put``
  back while some wait is handed straight to the first of them (``greenlane.hubs.WaitQueue``):
  a waiter that leaves by ``Timeout`` or ``kill`` before it ran passes the item on, never
  takes it with it.
* Growing the pool with ``resize`` lets waiting ``get`` calls create new items at once
  (eventlet left them waiting for a ``put``).
* If ``create()`` raises in a ``get`` that was waiting, its slot goes to the next waiter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, Generic, Optional, TypeVar

from greenlane.hubs import WaitQueue

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
        # Invariant: green threads wait in get() only while no item is free and none may be
        # created; a put() or a freed creation right goes straight to the first of them.
        self._waiters = WaitQueue()
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
        if not self._waiters:
            if self.free_items:
                return self.free_items.popleft()
            if self.current_size < self.max_size:
                self.current_size += 1
                return self._create_reserved()
        value = self._waiters.park(None, None, None, self._hand)
        if value is _CREATE:
            return self._create_reserved()
        return value  # type: ignore[no-any-return]

    def _create_reserved(self) -> T:
        # current_size already counts the item being created.
        try:
            return self.create()
        except BaseException:
            self.current_size -= 1
            self._serve_waiters()
            raise

    def _hand(self, value: Any) -> None:
        # A free item, or the right to create one (_CREATE), for the first waiter; refused
        # hand-offs come back here and go to the next one.
        if self._waiters.wake_one(value):
            return
        if value is _CREATE:
            self.current_size -= 1
        elif self.order_as_stack:
            self.free_items.appendleft(value)
        else:
            self.free_items.append(value)

    def _serve_waiters(self) -> None:
        # Room to create items appeared (a failed create, a resize): hand the rights out.
        while self._waiters and self.current_size < self.max_size:
            self.current_size += 1
            self._hand(_CREATE)

    def put(self, item: T) -> None:
        """Return ``item`` to the pool (dropping it if the pool was shrunk below its size)."""
        if self.current_size > self.max_size:
            self.current_size -= 1
            self._serve_waiters()
            return
        self._hand(item)

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
        self._serve_waiters()

    def free(self) -> int:
        """How many ``get`` calls would not wait: free items plus items that may be created."""
        return len(self.free_items) + self.max_size - self.current_size

    def waiting(self) -> int:
        """The number of green threads waiting in ``get``."""
        return len(self._waiters)

    def create(self) -> T:
        """Make a new item; override it in a subclass (or pass ``create``)."""
        raise NotImplementedError("Implement in subclass")


class Token:
    """The item a ``TokenPool`` hands out: an opaque object standing for permission."""

    __slots__ = ()


class TokenPool(Pool[Token]):
    """A Pool of ``Token`` objects: use it to limit concurrency, like a semaphore."""

    def create(self) -> Token:
        """Make a new ``Token``."""
        return Token()
