"""Timeout: raise an exception in the current green thread after a delay.

Same API and semantics as ``eventlet.timeout``: ``Timeout`` is a ``BaseException`` subclass (so
``except Exception`` does not swallow it), starts when constructed, and works as a context
manager; ``exception=False`` makes the ``with`` block swallow it; ``seconds=None`` never fires.
Difference: it is never thrown into a green thread that has already died (eventlet would raise
it in the hub).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar, Union

from greenlet import getcurrent, greenlet

from greenlane.hubs import get_hub
from greenlane.hubs.timer import Timer

__all__ = ["Timeout", "is_timeout", "with_timeout", "wrap_is_timeout"]

T = TypeVar("T")

if sys.version_info >= (3, 10):
    _TIMEOUT_TYPES: tuple[type[BaseException], ...] = (TimeoutError,)
else:  # socket.timeout is its own class before 3.10 (PyPy 3.9)
    import socket

    _TIMEOUT_TYPES = (TimeoutError, socket.timeout)


class Timeout(BaseException):
    """Raise ``exception`` (default: this Timeout) in the current green thread after ``seconds``.

    Args:
        seconds: delay; ``None`` means never.
        exception: an exception class or instance to raise instead of the Timeout itself;
            ``False`` means the ``with`` block swallows the timeout silently.
    """

    is_timeout = True

    def __init__(self, seconds: Optional[float] = None,
                 exception: Union[None, bool, BaseException, type[BaseException]] = None) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.exception = exception
        self.timer: Optional[Timer] = None
        self.start()

    def start(self) -> Timeout:
        """Schedule the timeout (done by the constructor); raises if it is already pending."""
        if self.pending:
            raise RuntimeError(f"{self!r} is already started; cancel() it first")
        if self.seconds is None:
            self.timer = None
            return self
        target = getcurrent()
        if self.exception is None or isinstance(self.exception, bool):
            exc: Union[BaseException, type[BaseException]] = self
        else:
            exc = self.exception
        self.timer = get_hub().schedule_call_global(self.seconds, _throw_if_alive, target, exc)
        return self

    @property
    def pending(self) -> bool:
        """True while the timeout is scheduled and has not fired."""
        return self.timer is not None and not self.timer.called

    def cancel(self) -> None:
        """Stop the timeout; a no-op if it fired or was never started."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def __enter__(self) -> Timeout:
        if not self.pending:
            self.start()
        return self

    def __exit__(self, typ: Optional[type[BaseException]], value: Optional[BaseException],
                 tb: Optional[TracebackType]) -> Optional[bool]:
        self.cancel()
        if value is self and self.exception is False:
            return True
        return None

    def __repr__(self) -> str:
        exc = "" if self.exception is None else f" exception={self.exception!r}"
        return f"<greenlane.Timeout seconds={self.seconds}{exc} pending={self.pending}>"

    def __str__(self) -> str:
        if self.seconds is None:
            return ""
        suffix = "" if self.seconds == 1 else "s"
        if self.exception is None or self.exception is True:
            return f"{self.seconds} second{suffix}"
        if self.exception is False:
            return f"{self.seconds} second{suffix} (silent)"
        return f"{self.seconds} second{suffix} ({self.exception})"


def _throw_if_alive(target: greenlet, exc: Any) -> None:
    if not target.dead:
        target.throw(exc)


def with_timeout(seconds: Optional[float], function: Callable[..., T], *args: Any,
                 **kwds: Any) -> Any:
    """Call ``function(*args, **kwds)``; after ``seconds`` raise Timeout in it.

    With the keyword ``timeout_value=X``, return X on timeout instead of raising.
    """
    has_value = "timeout_value" in kwds
    timeout_value = kwds.pop("timeout_value", None)
    timeout = Timeout(seconds)
    try:
        try:
            return function(*args, **kwds)
        except Timeout as ex:
            if ex is timeout and has_value:
                return timeout_value
            raise
    finally:
        timeout.cancel()


def is_timeout(obj: Any) -> bool:
    """True for greenlane/eventlet timeouts, builtin ``TimeoutError`` and ``socket.timeout``."""
    return bool(getattr(obj, "is_timeout", False)) or isinstance(obj, _TIMEOUT_TYPES) or (
        isinstance(obj, type) and issubclass(obj, _TIMEOUT_TYPES))


def wrap_is_timeout(base: type[BaseException]) -> Callable[..., BaseException]:
    """Wrap an exception class so its instances have ``is_timeout = True``."""

    def fun(*args: Any, **kwargs: Any) -> BaseException:
        ex = base(*args, **kwargs)
        ex.is_timeout = True  # type: ignore[attr-defined]
        return ex

    fun.__name__ = base.__name__
    return fun
