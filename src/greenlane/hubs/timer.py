"""Timers: a callback to run once after a delay, as returned by ``schedule_call_global``.

Same names as ``eventlet.hubs.timer``. Differences: a timer belongs to the hub it was scheduled
on (``Timer.schedule()`` uses the current thread's hub), and cancel is O(1): the entry is
dropped at once if it is still the heap's last one, otherwise it stays in the heap, flagged, and
the hub compacts the heap in a batch when cancelled entries dominate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from greenlane.hubs.hub import BaseHub

__all__ = ["LocalTimer", "Timer"]


class Timer:
    """Call ``cb(*args, **kw)`` from the hub once ``seconds`` have passed.

    Attributes:
        seconds: the delay it was created with.
        called: True once it fired or was cancelled.
        tpl: ``(cb, args, kw)``, as eventlet names it (read-only).
    """

    __slots__ = ("args", "called", "cb", "hub", "kw", "seconds")

    def __init__(self, seconds: float, cb: Callable[..., Any], *args: Any, **kw: Any) -> None:
        self.seconds = seconds
        self.cb: Optional[Callable[..., Any]] = cb
        self.args = args
        self.kw = kw
        self.called = False
        self.hub: Optional[BaseHub] = None

    @property
    def pending(self) -> bool:
        """True while the timer is scheduled and has neither fired nor been cancelled."""
        return not self.called and self.hub is not None

    @property
    def tpl(self) -> tuple[Optional[Callable[..., Any]], tuple[Any, ...], dict[str, Any]]:
        """``(cb, args, kw)``: eventlet's name for what the timer will call.

        Read-only here (eventlet stored the tuple itself); once the timer has fired or been
        cancelled, ``cb`` is None.
        """
        return self.cb, self.args, self.kw

    def schedule(self) -> Timer:
        """Schedule this timer on the current thread's hub; returns self."""
        from greenlane.hubs import get_hub

        get_hub().add_timer(self)
        return self

    def __call__(self) -> None:
        if self.called:
            return
        self.called = True
        cb, self.cb = self.cb, None
        if cb is not None:
            args, kw = self.args, self.kw
            self.args = ()
            if kw:
                self.kw = {}
                cb(*args, **kw)
            else:
                cb(*args)

    def cancel(self) -> None:
        """Prevent the timer from firing; a no-op if it already fired or was cancelled."""
        if not self.called:
            self.called = True
            self.cb = None
            self.args = ()
            if self.hub is not None:
                self.hub.timer_canceled(self)

    def copy(self) -> Timer:
        """A new, unscheduled timer with the same delay and callback."""
        assert self.cb is not None, "cannot copy a timer that fired or was cancelled"
        return type(self)(self.seconds, self.cb, *self.args, **self.kw)

    def __repr__(self) -> str:
        state = "called" if self.called else "pending"
        return f"<{type(self).__name__} {self.seconds}s cb={self.cb!r} {state}>"


class LocalTimer(Timer):
    """A timer that does nothing if the green thread that scheduled it has died by then.

    Used by ``schedule_call_local`` and ``spawn_after_local``.
    """

    __slots__ = ("owner",)

    def __init__(self, seconds: float, cb: Callable[..., Any], *args: Any, **kw: Any) -> None:
        from greenlet import getcurrent

        self.owner = getcurrent()
        super().__init__(seconds, cb, *args, **kw)

    def __call__(self) -> None:
        if self.owner.dead:
            self.called = True
            self.cb = None
            return
        super().__call__()
