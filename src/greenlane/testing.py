"""Helpers for testing code that uses greenlane: a virtual clock, hub-leak checks, a fresh hub.

greenlane's own test suite uses these, and they are public so that users can do the same in
theirs (trio's ``trio.testing`` is the model). Not in eventlet, whose tests reached into the
hub's internals for the same purposes.

* ``VirtualClock`` and ``VirtualClockHub``: a hub whose time only moves when the program would
  otherwise wait, so ``sleep(3600)``, timeouts and timers run instantly and deterministically::

      from greenlane.hubs import use_hub
      use_hub("greenlane.testing:VirtualClockHub")   # or use_hub(VirtualClockHub)
      greenlane.sleep(3600)                          # returns at once; clock() advanced 3600 s

* ``assert_hub_clean()``: fail, naming each one, if fd listeners, timers or queued callbacks
  were left on the hub (a missing ``finally: timer.cancel()``, a green thread still waiting on a
  socket). ``hub_snapshot()`` records what a wider-scoped fixture legitimately keeps.
* ``settle()``: let the hub run the work already queued, without waiting for timers or I/O.
* ``discard_hub()``: stop and forget the current thread's hub; the next use creates a new one.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from greenlet import GreenletExit, getcurrent

from greenlane.hubs import BaseHub, _context, get_default_hub, get_hub

__all__ = [
    "HubSnapshot",
    "VirtualClock",
    "VirtualClockHub",
    "assert_hub_clean",
    "discard_hub",
    "hub_snapshot",
    "settle",
]


class VirtualClock:
    """A monotonic clock that moves only when told to (``advance``) or when the hub jumps it.

    Args:
        start: the initial reading, in seconds.
        autojump_threshold: how long (real seconds) a ``VirtualClockHub`` waits for I/O before
            jumping the clock to the next timer when nothing is ready. 0 (the default) jumps
            at once: right for tests where every wake-up is a timer or in-process I/O. Give
            a small positive value when other OS threads or processes feed the hub.
    """

    __slots__ = ("autojump_threshold", "now")

    def __init__(self, start: float = 0.0, autojump_threshold: float = 0.0) -> None:
        self.now = float(start)
        self.autojump_threshold = autojump_threshold

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward; timers now due fire on the hub's next turn."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back (advance({seconds!r}))")
        self.now += seconds

    def __repr__(self) -> str:
        return f"<VirtualClock now={self.now} autojump_threshold={self.autojump_threshold}>"


def _virtual_hub_class() -> type[BaseHub]:
    base: Any = get_default_hub().Hub

    class VirtualClockHub(base):  # type: ignore[misc]
        """The platform's default hub on a ``VirtualClock`` that jumps to the next timer.

        When the loop would block, it polls for I/O for at most the clock's
        ``autojump_threshold`` of real time; if nothing happened it advances the clock to the
        next timer's deadline instead of sleeping until it. ``use_hub`` accepts it as a class
        or as ``"greenlane.testing:VirtualClockHub"``; ``get_hub().clock`` is the clock.
        """

        def __init__(self, clock: Optional[Callable[[], float]] = None) -> None:
            super().__init__(clock if clock is not None else VirtualClock())

        def wait(self, seconds: float) -> None:
            if not self.get_timers_count():
                # No timer to jump to: only I/O can wake the loop, so wait for it for real.
                super().wait(seconds)
                return
            clock = self.clock
            threshold = getattr(clock, "autojump_threshold", 0.0)
            before = self.statistics()
            super().wait(min(seconds, threshold))
            if seconds > threshold and self.statistics() == before:
                # Nothing woke up: time passes at once instead of in real time.
                advance = getattr(clock, "advance", None)
                if advance is not None:
                    advance(seconds - threshold if threshold else seconds)

    VirtualClockHub.__module__ = __name__
    VirtualClockHub.__qualname__ = "VirtualClockHub"
    return VirtualClockHub


VirtualClockHub: type[BaseHub] = _virtual_hub_class()


class HubSnapshot:
    """The fd listeners and timers on a hub at one moment (see ``hub_snapshot``)."""

    __slots__ = ("hub", "listeners", "timers")

    def __init__(self, hub: BaseHub) -> None:
        self.hub = hub
        self.listeners = set(hub.get_readers() + hub.get_writers())
        self.timers = set(_live_timers(hub))


def _live_timers(hub: BaseHub) -> list[Any]:
    return [entry[2] for entry in hub.timers if not entry[2].called]


def hub_snapshot(hub: Optional[BaseHub] = None) -> HubSnapshot:
    """Record the current hub's listeners and timers, to be ignored by ``assert_hub_clean``."""
    return HubSnapshot(hub if hub is not None else get_hub())


def settle(hub: Optional[BaseHub] = None, turns: int = 20) -> None:
    """Let the hub run what is queued already, up to ``turns`` hub turns; never waits.

    Green threads that were spawned and never waited for get to run (and usually finish);
    timers and I/O are not waited for. Must be called from a green thread or the main
    greenlet, not from a hub callback.
    """
    from greenlane.greenthread import sleep

    hub = hub if hub is not None else _context.current.hub
    if hub is None:
        return
    for _ in range(turns):
        if not hub.statistics().ready:
            return
        sleep(0)


def assert_hub_clean(hub: Optional[BaseHub] = None,
                     allowed: Optional[HubSnapshot] = None) -> None:
    """Fail if work was left on the hub: fd listeners, live timers or queued callbacks.

    Listeners and timers present in ``allowed`` (a ``hub_snapshot()`` taken earlier) are not
    counted. Call ``settle()`` first to let spawned green threads finish.

    Raises:
        AssertionError: naming each listener, timer and callback left behind.
    """
    hub = hub if hub is not None else _context.current.hub
    if hub is None:
        return
    problems = list(_leftovers(hub, allowed))
    if problems:
        raise AssertionError("work was left on the hub:\n  " + "\n  ".join(problems))


def _leftovers(hub: BaseHub, allowed: Optional[HubSnapshot]) -> Iterable[str]:
    old_listeners = allowed.listeners if allowed is not None else set()
    old_timers = allowed.timers if allowed is not None else set()
    for listener in hub.get_readers() + hub.get_writers():
        if listener not in old_listeners:
            yield f"fd listener left behind: {listener!r}"
    live = _live_timers(hub)
    for timer in live:
        if timer not in old_timers:
            yield f"timer left behind: {timer!r}"
    if hub.get_timers_count() != len(live):
        yield (f"hub.get_timers_count() is {hub.get_timers_count()} but {len(live)} timers "
               "are live")
    ready = hub.pending_callbacks()
    if ready:
        yield f"{len(ready)} callbacks still queued: {ready[:5]!r}"


def discard_hub() -> None:
    """Stop the current thread's hub loop and forget the hub; the next use creates a new one.

    Green threads parked on the old hub stay parked for ever (they are dropped, not resumed),
    and its debugging aids (a blocking-detection watchdog) are stopped.
    """
    ctx = _context.current
    hub, ctx.hub = ctx.hub, None
    if hub is None:
        return
    if hub.debug_state is not None:
        from greenlane import debug

        debug._reset_hub(hub)
    loop = hub.greenlet
    if loop and not loop.dead and getcurrent() is not loop:
        # The loop is suspended inside run(): kill it so that run() unwinds (running=False).
        try:
            loop.throw(GreenletExit)
        except BaseException:  # noqa: BLE001 - a broken hub must not break the caller
            pass
    try:
        hub.close()
    except (OSError, ValueError):
        pass
