"""``Lock``: a green mutex with ``threading.Lock`` semantics (eventlet's ``eventlet.lock``).

It is a ``Semaphore(1)`` whose ``release`` raises ``RuntimeError`` when the lock is not held,
as ``threading.Lock.release`` does. Waiters are served first come, first served, and a lock
released while others wait is handed to the first of them (see ``greenlane.semaphore``).
Like ``threading.Lock`` and unlike ``RLock``, it has no owner: any green thread may release it.
"""

from __future__ import annotations

from greenlane.semaphore import Semaphore

__all__ = ["Lock"]


class Lock(Semaphore):
    """A mutual exclusion lock for green threads; also a context manager.

    ``acquire(blocking=True, timeout=-1)`` and ``locked()`` behave as in ``threading.Lock``
    (``timeout=None`` is accepted too, as in eventlet).
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(1)

    def release(self, blocking: bool = True) -> bool:
        """Release the lock; raises ``RuntimeError`` if it is not locked.

        ``blocking`` is ignored (eventlet compatibility). Returns True.
        """
        if self.counter > 0 or self._waiters.handing:
            # Free, or on its way to a waiter that has not run yet: eventlet (and threading)
            # would see the lock unlocked at this point, so a second release is an error.
            raise RuntimeError("release unlocked lock")
        return super().release(blocking)
