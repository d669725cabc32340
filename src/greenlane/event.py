"""Event: deliver one value (or exception) to any number of waiting green threads.

Same API as ``eventlet.event.Event``. ``wait(timeout)`` returns None on timeout, as in eventlet.
Differences: waiters are woken in the order they started waiting, through the hub's ready queue
(not one timer each), and a waiter that left (Timeout, kill) is skipped, never resumed later.
"""

from __future__ import annotations

from typing import Any, Generic, Optional, TypeVar

from greenlane.hubs import WaitQueue

__all__ = ["Event"]

T = TypeVar("T")

_NOT_USED: Any = object()


class Event(Generic[T]):
    """A one-shot result channel: ``send`` once, ``wait`` any number of times.

    ``send`` never blocks; waiters get the value on their next turn. Sending twice raises
    ``AssertionError`` until ``reset()`` (kept for eventlet compatibility, though a new Event
    is clearer).
    """

    __slots__ = ("_exc", "_result", "_waiters")

    def __init__(self) -> None:
        self._waiters = WaitQueue()
        self._result: Any = _NOT_USED
        self._exc: Optional[tuple[Any, ...]] = None

    def __repr__(self) -> str:
        return (f"<greenlane.Event ready={self.ready()} waiters={len(self._waiters)} "
                f"exception={self._exc is not None}>")

    def reset(self) -> None:
        """Make a sent event unsent again (eventlet calls this a misfeature)."""
        assert self._result is not _NOT_USED, "trying to reset an event that was never sent"
        self._result = _NOT_USED
        self._exc = None

    def ready(self) -> bool:
        """True once ``send`` or ``send_exception`` was called."""
        return self._result is not _NOT_USED

    def has_exception(self) -> bool:
        """True if the event was sent an exception."""
        return self._result is not _NOT_USED and self._exc is not None

    def has_result(self) -> bool:
        """True if the event was sent a value (not an exception)."""
        return self._result is not _NOT_USED and self._exc is None

    def poll(self, notready: Any = None) -> Any:
        """Return the result (or raise the exception) if ready, else ``notready``."""
        if self.ready():
            return self.wait()
        return notready

    def poll_exception(self, notready: Any = None) -> Any:
        """Like ``poll``, only when the event carries an exception."""
        if self.has_exception():
            return self.wait()
        return notready

    def poll_result(self, notready: Any = None) -> Any:
        """Like ``poll``, only when the event carries a value."""
        if self.has_result():
            return self.wait()
        return notready

    def wait(self, timeout: Optional[float] = None) -> Any:
        """Wait until the event is sent; return its value or raise its exception.

        Returns None if ``timeout`` seconds pass first (eventlet semantics: no exception).
        """
        if self._result is _NOT_USED and self._waiters.park(timeout, _NOT_USED) is _NOT_USED:
            return None
        if self._exc is not None:
            exc = self._exc
            if len(exc) == 1 and isinstance(exc[0], BaseException):
                raise exc[0]
            if len(exc) >= 2 and isinstance(exc[1], BaseException):
                raise exc[1].with_traceback(exc[2] if len(exc) > 2 else None)
            # (class, argument), as greenlet.throw takes it: the argument is not an instance.
            arg = exc[1] if len(exc) >= 2 else None
            if arg is None:
                raise exc[0]()
            raise exc[0](*arg) if isinstance(arg, tuple) else exc[0](arg)
        return self._result

    def send(self, result: Any = None, exc: Any = None) -> None:
        """Set the result (or, with ``exc``, an exception) and wake every waiter."""
        assert self._result is _NOT_USED, "trying to re-send() an already-triggered event"
        self._result = result
        if exc is not None and not isinstance(exc, tuple):
            exc = (exc,)
        self._exc = exc
        self._waiters.wake_all(True)

    def send_exception(self, *args: Any) -> None:
        """Make every ``wait()`` raise: pass an instance, a class, or ``(type, value, tb)``."""
        self.send(None, args)
