"""Hub timers: schedule_call_global/local, Timer, FIFO ties, O(1) cancel and heap compaction."""

from __future__ import annotations

import time
from typing import Any

import pytest

from greenlane.event import Event
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from greenlane.hubs import hub as hub_module
from greenlane.hubs.timer import LocalTimer, Timer


def test_schedule_call_global_fires_after_delay_with_args() -> None:
    hub = get_hub()
    done = Event[Any]()
    start = time.monotonic()
    timer = hub.schedule_call_global(0.01, lambda *a, **k: done.send((a, k,
                                                                      time.monotonic())),
                                     1, 2, key="v")
    assert isinstance(timer, Timer)
    assert timer.pending
    args, kwargs, when = done.wait()
    assert (args, kwargs) == ((1, 2), {"key": "v"})
    assert when - start >= 0.01
    assert timer.called and not timer.pending


def test_schedule_call_global_zero_delay_skips_the_heap() -> None:
    hub = get_hub()
    ran: list[int] = []
    timer = hub.schedule_call_global(0, ran.append, 1)
    assert hub.get_timers_count() == 0
    assert len(hub.timers) == 0
    sleep(0)
    assert ran == [1]
    assert timer.called


def test_zero_delay_timer_can_be_cancelled() -> None:
    hub = get_hub()
    ran: list[int] = []
    timer = hub.schedule_call_global(0, ran.append, 1)
    timer.cancel()
    sleep(0)
    assert ran == []


def test_cancelled_timer_does_not_fire() -> None:
    hub = get_hub()
    ran: list[int] = []
    timer = hub.schedule_call_global(0.005, ran.append, 1)
    later = hub.schedule_call_global(10, ran.append, 2)  # so that timer's entry stays
    timer.cancel()
    assert not timer.pending and timer.called
    assert hub.get_timers_count() == 1
    assert hub.timers_canceled == 1
    sleep(0.02)
    assert ran == []
    assert hub.timers_canceled == 0  # the fired-over entry was accounted for and dropped
    later.cancel()


def test_schedule_call_local_skipped_when_owner_died() -> None:
    hub = get_hub()
    ran: list[str] = []

    def owner() -> None:
        hub.schedule_call_local(0.005, ran.append, "dead owner")

    spawn(owner).wait()
    timer = hub.schedule_call_local(0.005, ran.append, "live owner")
    assert isinstance(timer, LocalTimer)
    sleep(0.02)
    assert ran == ["live owner"]


def test_schedule_call_local_zero_delay_skipped_when_owner_died() -> None:
    hub = get_hub()
    ran: list[str] = []

    def owner() -> None:
        hub.schedule_call_local(0, ran.append, "x")

    gt = spawn(owner)
    gt.wait()
    sleep(0)
    sleep(0)
    assert ran == []


def test_timers_fire_in_deadline_order() -> None:
    hub = get_hub()
    order: list[float] = []
    for delay in (0.02, 0.005, 0.015, 0.01):
        hub.schedule_call_global(delay, order.append, delay)
    sleep(0.03)
    assert order == [0.005, 0.01, 0.015, 0.02]


def test_equal_deadlines_fire_fifo() -> None:
    hub = get_hub()
    real_clock = hub.clock
    hub.clock = lambda: 1000.0  # every timer below gets exactly the same deadline
    try:
        order: list[int] = []
        for i in range(500):
            hub.schedule_call_global(1, order.append, i)
        hub.fire_timers(1001.0)
    finally:
        hub.clock = real_clock
    assert order == list(range(500))
    assert hub.get_timers_count() == 0


def test_fire_timers_only_fires_due_ones() -> None:
    hub = get_hub()
    order: list[int] = []
    late = hub.schedule_call_global(100, order.append, 2)
    hub.schedule_call_global(0.001, order.append, 1)
    hub.fire_timers(hub.clock() + 1)
    assert order == [1]
    assert late.pending
    late.cancel()


def test_cancel_is_lazy_then_compacts() -> None:
    hub = get_hub()
    n = 3 * hub_module.COMPACT_THRESHOLD
    timers = [hub.schedule_call_global(100 + i, lambda: None) for i in range(n)]
    assert hub.get_timers_count() == n
    # Cancelling a few leaves their entries in the heap (O(1), no heap surgery).
    for timer in timers[:10]:
        timer.cancel()
    assert len(hub.timers) == n
    assert hub.get_timers_count() == n - 10
    # Once cancelled entries are the majority (and past the threshold), the heap is compacted.
    for timer in timers[10:2 * n // 3]:
        timer.cancel()
    assert hub.get_timers_count() == n - 2 * n // 3
    assert len(hub.timers) < n
    live = {id(entry[2]) for entry in hub.timers if not entry[2].called}
    assert live == {id(t) for t in timers[2 * n // 3:]}
    for timer in timers[2 * n // 3:]:
        timer.cancel()
    assert hub.get_timers_count() == 0


def test_cancelling_the_last_pushed_timer_drops_its_entry_at_once() -> None:
    hub = get_hub()
    start = len(hub.timers)
    keep = hub.schedule_call_global(100, lambda: None)
    # A timeout around something that finished in time: scheduled, then cancelled before any
    # other timer was pushed. Its entry is the heap's last, so it goes at once, uncounted.
    for _ in range(3 * hub_module.COMPACT_THRESHOLD):
        hub.schedule_call_global(200, lambda: None).cancel()
    assert len(hub.timers) == start + 1
    assert hub.timers_canceled == 0
    assert hub.get_timers_count() == 1
    # An entry that is not the last one stays, flagged and counted (O(1), no heap surgery).
    first = hub.schedule_call_global(300, lambda: None)
    second = hub.schedule_call_global(400, lambda: None)
    first.cancel()
    assert len(hub.timers) == start + 3
    assert hub.timers_canceled == 1
    second.cancel()  # the last one again
    assert len(hub.timers) == start + 2
    assert hub.timers_canceled == 1
    # eventlet's accounting holds throughout: the heap is the pending timers plus the
    # cancelled entries it still holds.
    assert len(hub.timers) == hub.get_timers_count() + hub.timers_canceled
    keep.cancel()
    assert hub.get_timers_count() == 0
    fired: list[int] = []
    hub.schedule_call_global(0.001, fired.append, 1)
    sleep(0.01)  # the heap still works: the timer behind the leftovers fires
    assert fired == [1]


def test_cancelled_entries_go_when_the_hub_blocks() -> None:
    hub = get_hub()
    assert hub.get_timers_count() == 0 and hub.timers_canceled == 0
    # Fewer than COMPACT_THRESHOLD cancelled entries, not at the end of the heap: cancel
    # leaves them flagged ...
    far = [hub.schedule_call_global(100 + i, lambda: None) for i in range(10)]
    for timer in far[:-1]:
        timer.cancel()
    assert hub.timers_canceled == 9
    woke = Event()
    hub.schedule_call_global(0.01, woke.send, True)
    # ... until the hub is about to block for its next timer: they are the majority then, and
    # go all at once; the hub then sleeps until the live timer.
    assert woke.wait() is True
    assert hub.timers_canceled == 0
    assert len(hub.timers) == hub.get_timers_count() == 1
    # A minority of cancelled entries: only those on top are dropped (they would wake the
    # hub for nothing); the others wait for their turn.
    top = hub.schedule_call_global(0.001, lambda: None)
    woke = Event()
    hub.schedule_call_global(0.02, woke.send, True)
    more = [hub.schedule_call_global(200 + i, lambda: None) for i in range(3)]
    top.cancel()
    more[0].cancel()
    assert hub.timers_canceled == 2
    assert woke.wait() is True
    assert hub.timers_canceled == 1
    assert not hub.timers[0][2].called
    for timer in [far[-1], *more[1:]]:
        timer.cancel()
    assert hub.get_timers_count() == 0


def test_cancel_twice_counts_once() -> None:
    hub = get_hub()
    timer = hub.schedule_call_global(10, lambda: None)
    last = hub.schedule_call_global(20, lambda: None)  # so that timer's entry is not the last
    timer.cancel()
    timer.cancel()
    last.cancel()
    assert hub.timers_canceled == 1
    assert hub.get_timers_count() == 0


def test_timer_exception_is_reported_and_loop_goes_on() -> None:
    hub = get_hub()
    reports: list[tuple[str, Any]] = []
    saved = hub.exception_reporter
    hub.exception_reporter = lambda where, culprit: reports.append((where, culprit))
    ran: list[int] = []
    try:
        hub.schedule_call_global(0.001, lambda: 1 / 0)
        hub.schedule_call_global(0.002, ran.append, 1)
        sleep(0.01)
    finally:
        hub.exception_reporter = saved
    assert ran == [1]
    assert [where for where, _ in reports] == ["timer"]


def test_timer_class_api() -> None:
    ran: list[int] = []
    timer = Timer(0.001, ran.append, 1)
    assert not timer.pending  # not scheduled yet
    copy = timer.copy()
    assert timer.schedule() is timer
    assert timer.pending
    sleep(0.01)
    assert ran == [1]
    assert copy.seconds == timer.seconds and not copy.called
    copy.schedule()
    sleep(0.01)
    assert ran == [1, 1]
    with pytest.raises(AssertionError):
        copy.copy()  # fired: its callback is gone
    assert "called" in repr(copy)


def test_timer_called_directly_runs_once() -> None:
    ran: list[int] = []
    timer = Timer(5, ran.append, 1)
    timer()
    timer()
    assert ran == [1]
