"""greenlane.semaphore: Semaphore, BoundedSemaphore, CappedSemaphore."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
from greenlet import GreenletExit
from hypothesis import given, settings
from hypothesis import strategies as st

from greenlane.greenthread import GreenThread, kill, sleep, spawn
from greenlane.hubs import get_hub
from greenlane.hubs.hub import READY_BATCH
from greenlane.semaphore import BoundedSemaphore, CappedSemaphore, Semaphore
from greenlane.timeout import Timeout


def _noop() -> None:
    pass


def pad_ready_queue() -> None:
    """Queue more no-op callbacks than one hub turn runs, so due timers fire before whatever
    is queued next: this makes a timer beat a hand-off queued after it, deterministically."""
    ready = get_hub()._ready
    for _ in range(READY_BATCH + 10):
        ready.append((_noop, ()))


def expire(seconds: float) -> None:
    """Let a timer of ``seconds`` become due without giving the hub a turn."""
    time.sleep(seconds + 0.005)


def acquirer(sem: Any, log: list[Any], tag: Any, **kw: Any) -> Callable[[], Any]:
    def run() -> Any:
        ok = sem.acquire(**kw)
        log.append((tag, ok))
        return ok

    return run


# ---------------------------------------------------------------------- Semaphore basics

def test_counter_and_locked() -> None:
    sem = Semaphore(2)
    assert sem.counter == 2 and not sem.locked() and sem.balance == 2
    assert sem.acquire() is True
    assert sem.acquire() is True
    assert sem.counter == 0 and sem.locked()
    assert sem.release() is True
    assert sem.counter == 1 and not sem.locked()
    assert sem.bounded() is False


def test_default_value_is_one() -> None:
    sem = Semaphore()
    assert sem.acquire(blocking=False)
    assert not sem.acquire(blocking=False)


@pytest.mark.parametrize("value", [-1, -10])
def test_negative_value_rejected(value: int) -> None:
    with pytest.raises(ValueError):
        Semaphore(value)


def test_value_must_be_int_like() -> None:
    with pytest.raises(TypeError):
        Semaphore("many")  # type: ignore[arg-type]
    assert Semaphore("3").counter == 3  # type: ignore[arg-type]


def test_plain_semaphore_release_is_unbounded() -> None:
    sem = Semaphore(1)
    sem.release()
    sem.release()
    assert sem.counter == 3


def test_context_manager() -> None:
    sem = Semaphore(1)
    with sem:
        assert sem.locked()
    assert not sem.locked()
    with pytest.raises(KeyError):
        with sem:
            raise KeyError("x")
    assert sem.counter == 1


def test_repr_and_str() -> None:
    sem = Semaphore(3)
    assert "c=3" in repr(sem) and "Semaphore" in repr(sem)
    assert str(sem) == "<Semaphore c=3 _w[0]>"


# ---------------------------------------------------------------------- arguments

def test_timeout_minus_one_means_no_timeout() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    gt = spawn(acquirer(sem, log, "a", timeout=-1))
    sleep(0)
    assert sem.balance == -1  # waiting, with no timer
    assert get_hub().get_timers_count() == 0
    sem.release()
    assert gt.wait() is True


def test_negative_timeout_rejected() -> None:
    with pytest.raises(ValueError):
        Semaphore(1).acquire(timeout=-2)


def test_timeout_with_non_blocking_rejected() -> None:
    with pytest.raises(ValueError):
        Semaphore(1).acquire(blocking=False, timeout=1)
    # -1 is "no timeout", so it is allowed with blocking=False (eventlet).
    assert Semaphore(1).acquire(blocking=False, timeout=-1) is True


def test_timeout_zero_is_one_attempt_without_yielding() -> None:
    sem = Semaphore(0)
    ran: list[int] = []
    spawn(ran.append, 1)
    assert sem.acquire(timeout=0) is False
    assert ran == []  # never gave the hub a turn
    sleep(0)
    sem.release()
    assert sem.acquire(timeout=0) is True


def test_non_blocking_does_not_yield() -> None:
    sem = Semaphore(0)
    ran: list[int] = []
    spawn(ran.append, 1)
    assert sem.acquire(blocking=False) is False
    assert ran == []
    sleep(0)


# ---------------------------------------------------------------------- waiting

def test_acquire_waits_for_release() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    gt = spawn(acquirer(sem, log, "a"))
    sleep(0)
    assert log == [] and sem.balance == -1
    sem.release()
    assert log == []  # release never switches
    assert gt.wait() is True
    assert log == [("a", True)]
    assert sem.counter == 0 and sem.balance == 0


def test_acquire_timeout_expires() -> None:
    sem = Semaphore(0)
    start = time.monotonic()
    assert sem.acquire(timeout=0.02) is False
    assert time.monotonic() - start >= 0.015
    assert sem.balance == 0 and not sem._waiters


def test_acquire_timeout_succeeds_before_expiry() -> None:
    sem = Semaphore(0)
    spawn(sem.release)
    assert sem.acquire(timeout=5) is True
    assert sem.counter == 0


def test_waiters_served_fifo() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    threads = [spawn(acquirer(sem, log, i)) for i in range(6)]
    sleep(0)
    for _ in range(6):
        sem.release()
    for gt in threads:
        gt.wait()
    assert [tag for tag, _ in log] == list(range(6))


def test_released_unit_goes_to_waiter_not_to_releaser() -> None:
    # The releasing thread re-acquires at once; the waiter that was first must get the unit.
    sem = Semaphore(1)
    order: list[str] = []

    def worker(name: str) -> None:
        for _ in range(3):
            with sem:
                order.append(name)
                sleep(0)

    threads = [spawn(worker, "a"), spawn(worker, "b"), spawn(worker, "c")]
    for gt in threads:
        gt.wait()
    assert order == ["a", "b", "c"] * 3


def test_newcomer_does_not_overtake_waiters() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    first = spawn(acquirer(sem, log, "first"))
    sleep(0)
    sem.release()  # the unit is handed to `first`, which has not run yet
    assert sem.counter == 0 and sem.locked() and sem.balance == 0
    assert sem.acquire(blocking=False) is False
    late = spawn(acquirer(sem, log, "late"))
    assert first.wait() is True
    sleep(0)
    assert log == [("first", True)]
    sem.release()
    assert late.wait() is True
    assert log == [("first", True), ("late", True)]


def test_many_releases_wake_many() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    threads = [spawn(acquirer(sem, log, i)) for i in range(5)]
    sleep(0)
    for _ in range(3):
        sem.release()
    sleep(0)
    sleep(0)
    assert [tag for tag, _ in log] == [0, 1, 2]
    assert sem.balance == -2
    for gt in threads[3:]:
        gt.kill()
    assert sem.balance == 0 and sem.counter == 0


# ---------------------------------------------------------------------- kills and timeouts

def test_kill_blocked_waiter_leaves_semaphore_consistent() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    a = spawn(acquirer(sem, log, "a"))
    b = spawn(acquirer(sem, log, "b"))
    sleep(0)
    a.kill()
    assert a.dead and sem.balance == -1
    sem.release()
    assert b.wait() is True
    assert log == [("b", True)]
    assert sem.counter == 0 and not sem._waiters
    with pytest.raises(GreenletExit):
        a.wait()


def test_waiter_killed_after_release_passes_unit_on() -> None:
    # release() chose no one yet; the first waiter dies before the hand-off runs.
    sem = Semaphore(0)
    log: list[Any] = []
    a = spawn(acquirer(sem, log, "a"))
    b = spawn(acquirer(sem, log, "b"))
    sleep(0)
    sem.release()
    kill(a)
    assert b.wait() is True
    assert log == [("b", True)]
    assert sem.counter == 0 and not sem._waiters


def test_only_waiter_killed_after_release_unit_stays() -> None:
    sem = Semaphore(0)
    a = spawn(sem.acquire)
    sleep(0)
    sem.release()
    kill(a)
    sleep(0)
    assert sem.counter == 1 and not sem._waiters
    assert sem.acquire(blocking=False) is True


def test_timeout_exception_beats_hand_off_unit_goes_to_next() -> None:
    # A Timeout is due in waiter `a` when release() queues the hand-off, and it fires first.
    sem = Semaphore(0)
    log: list[Any] = []

    def timed() -> None:
        try:
            with Timeout(0.01):
                sem.acquire()
            log.append("a acquired")
        except Timeout:
            log.append("a timed out")

    a = spawn(timed)
    b = spawn(acquirer(sem, log, "b"))
    sleep(0)
    expire(0.01)
    pad_ready_queue()
    sem.release()
    a.wait()
    assert b.wait() is True
    assert log == ["a timed out", ("b", True)]
    assert sem.counter == 0 and not sem._waiters


def test_due_timeout_beats_a_hand_off_queued_in_the_same_turn() -> None:
    # The hand-off is queued while the hub runs a turn; the hub fires due timers before it
    # runs work queued during the turn, so `a` times out and refuses the unit, which is free
    # again since nobody else waits.
    sem = Semaphore(0)
    a = spawn(sem.acquire, timeout=0.01)
    sleep(0)
    expire(0.01)
    sem.release()
    assert a.wait() is False
    assert sem.counter == 1 and not sem._waiters and sem._waiters.handing == 0


def test_acquire_timeout_beats_hand_off_unit_goes_to_next() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    a = spawn(acquirer(sem, log, "a", timeout=0.01))
    b = spawn(acquirer(sem, log, "b"))
    sleep(0)
    expire(0.01)
    pad_ready_queue()
    sem.release()
    assert a.wait() is False
    assert b.wait() is True
    assert log == [("a", False), ("b", True)]
    assert sem.counter == 0


def test_timeout_in_waiter_leaves_no_timer_or_waiter() -> None:
    sem = Semaphore(0)
    with pytest.raises(Timeout):
        with Timeout(0.01):
            sem.acquire(timeout=10)
    assert not sem._waiters
    assert get_hub().get_timers_count() == 0


def test_acquire_from_hub_greenlet_raises_and_leaves_no_waiter() -> None:
    sem = Semaphore(0)
    errors: list[BaseException] = []

    def in_hub() -> None:
        try:
            sem.acquire()
        except RuntimeError as e:
            errors.append(e)

    get_hub().schedule_ready(in_hub)
    sleep(0)
    assert len(errors) == 1
    assert not sem._waiters


# ---------------------------------------------------------------------- misc

def test_at_fork_reinit() -> None:
    sem = Semaphore(3)
    sem.acquire()
    sem.acquire()
    sem._at_fork_reinit()
    assert sem.counter == 3 and not sem._waiters


def test_adjust_wakes_waiters() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    threads = [spawn(acquirer(sem, log, i)) for i in range(3)]
    sleep(0)
    sem._adjust(2)
    sleep(0)
    assert [tag for tag, _ in log] == [0, 1]
    sem._adjust(-1)
    assert sem.counter == -1
    sem.release()
    sem.release()
    assert threads[2].wait() is True
    assert sem.counter == 0


# ---------------------------------------------------------------------- BoundedSemaphore

def test_bounded_semaphore_over_release() -> None:
    sem = BoundedSemaphore(2)
    assert sem.bounded() is True
    with pytest.raises(ValueError):
        sem.release()
    sem.acquire()
    sem.release()
    with pytest.raises(ValueError):
        sem.release()
    assert sem.counter == 2


def test_bounded_semaphore_hands_off_to_waiter() -> None:
    sem = BoundedSemaphore(1)
    sem.acquire()
    gt = spawn(sem.acquire)
    sleep(0)
    sem.release()
    assert gt.wait() is True
    with pytest.raises(ValueError):
        sem.release()
        sem.release()


def test_bounded_over_release_detected_while_hand_off_in_flight() -> None:
    # The unit released to a waiter that has not run yet is not free: releasing it again
    # is an over-release even though the counter still reads 0.
    sem = BoundedSemaphore(1)
    sem.acquire()
    gt = spawn(sem.acquire)
    sleep(0)
    sem.release()
    assert sem.counter == 0
    with pytest.raises(ValueError):
        sem.release()
    assert gt.wait() is True
    sem.release()
    assert sem.counter == 1


def test_bounded_unit_refused_by_killed_waiter_is_free_again() -> None:
    sem = BoundedSemaphore(1)
    sem.acquire()
    gt = spawn(sem.acquire)
    sleep(0)
    sem.release()
    kill(gt)
    assert sem.counter == 1 and sem._waiters.handing == 0
    with pytest.raises(ValueError):
        sem.release()


# ---------------------------------------------------------------------- hand-off cost

def test_blocking_acquire_without_timeout_schedules_no_timer() -> None:
    sem = Semaphore(0)
    gt = spawn(sem.acquire)
    sleep(0)
    assert sem.balance == -1
    assert get_hub().get_timers_count() == 0
    sem.release()
    assert gt.wait() is True


def test_release_queues_one_wake_up_for_the_first_waiter_only() -> None:
    sem = Semaphore(0)
    log: list[Any] = []
    threads = [spawn(acquirer(sem, log, i)) for i in range(3)]
    sleep(0)
    ready = get_hub()._ready
    before = len(ready)
    sem.release()
    assert len(ready) == before + 1
    assert sem.counter == 0 and len(sem._waiters) == 2
    sleep(0)
    assert log == [(0, True)]
    sem.release()
    sem.release()
    for gt in threads:
        gt.wait()
    assert log == [(0, True), (1, True), (2, True)]


def test_release_with_negative_counter_wakes_nobody_until_positive() -> None:
    sem = Semaphore(1)
    sem.acquire()
    gt = spawn(sem.acquire)
    sleep(0)
    sem._adjust(-2)  # as GreenPool.resize does when shrinking below the running count
    assert sem.counter == -2
    sem.release()
    sem.release()
    sleep(0)
    assert not gt.dead and sem.counter == 0 and sem.balance == -1
    sem.release()
    assert gt.wait() is True
    assert sem.counter == 0


def test_no_barging_under_churn() -> None:
    # The benchmark's workload: 100 green threads cycling through Semaphore(10). Each one
    # must get its first unit within the first round, i.e. before anyone gets a second one.
    sem = Semaphore(10)
    order: list[int] = []

    def worker(i: int) -> None:
        for _ in range(5):
            with sem:
                order.append(i)
                sleep(0)

    threads = [spawn(worker, i) for i in range(100)]
    for gt in threads:
        gt.wait()
    assert sorted(order[:100]) == list(range(100))
    assert order == order[:100] * 5
    assert sem.counter == 10 and not sem._waiters and sem._waiters.handing == 0


# ---------------------------------------------------------------------- CappedSemaphore

def test_capped_validation() -> None:
    with pytest.raises(ValueError):
        CappedSemaphore(-1, 3)
    with pytest.raises(ValueError):
        CappedSemaphore(4, 3)


def test_capped_acquire_and_release_non_blocking() -> None:
    sem = CappedSemaphore(1, 2)
    assert sem.counter == 1 and sem.balance == 1
    assert sem.release(blocking=False) is True
    assert sem.bounded() and sem.count == 2
    assert sem.release(blocking=False) is False
    assert sem.acquire(blocking=False) and sem.acquire(blocking=False)
    assert sem.locked()
    assert sem.acquire(blocking=False) is False


def test_capped_release_blocks_at_limit() -> None:
    sem = CappedSemaphore(1, 1)
    log: list[str] = []

    def releaser() -> None:
        sem.release()
        log.append("released")

    gt = spawn(releaser)
    sleep(0)
    assert log == [] and sem.balance == 2
    assert sem.acquire() is True
    gt.wait()
    assert log == ["released"] and sem.count == 1


def test_capped_acquirers_and_releasers_fifo() -> None:
    sem = CappedSemaphore(0, 1)
    log: list[Any] = []
    acquirers = [spawn(acquirer(sem, log, i)) for i in range(3)]
    sleep(0)
    assert sem.balance == -3
    for _ in range(3):
        sem.release()
        sleep(0)
    for gt in acquirers:
        gt.wait()
    assert [tag for tag, _ in log] == [0, 1, 2]
    assert sem.count == 0


def test_capped_limit_zero_is_a_rendezvous() -> None:
    sem = CappedSemaphore(0, 0)
    log: list[str] = []

    def releaser() -> None:
        sem.release()
        log.append("released")

    r = spawn(releaser)
    sleep(0)
    assert log == []
    assert sem.acquire() is True
    r.wait()
    assert log == ["released"] and sem.count == 0


def test_capped_acquire_timeout() -> None:
    sem = CappedSemaphore(0, 2)
    assert sem.acquire(timeout=0.01) is False
    assert not sem._acquirers
    assert sem.acquire(timeout=0) is False
    with pytest.raises(ValueError):
        sem.acquire(blocking=False, timeout=1)


def test_capped_kill_blocked_releaser() -> None:
    sem = CappedSemaphore(1, 1)
    r1 = spawn(sem.release)
    r2 = spawn(sem.release)
    sleep(0)
    r1.kill()
    assert len(sem._releasers) == 1
    sem.acquire()
    assert r2.wait() is True
    assert sem.count == 1 and not sem._releasers


def test_capped_context_manager() -> None:
    sem = CappedSemaphore(1, 1)
    with sem:
        assert sem.count == 0
    assert sem.count == 1
    assert "CappedSemaphore" in repr(sem)


# ---------------------------------------------------------------------- property test

@settings(max_examples=60, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=3),
    plans=st.lists(st.sampled_from(["hold", "timeout", "kill", "yield"]), min_size=1,
                   max_size=12),
    releases=st.integers(min_value=0, max_value=6),
)
def test_units_are_conserved(value: int, plans: list[str], releases: int) -> None:
    """Whatever mix of holders, timeouts and kills: free units + held units = total units."""
    sem = Semaphore(value)
    held: list[int] = []

    def worker(i: int, plan: str) -> None:
        if plan == "timeout":
            if sem.acquire(timeout=0.001):
                held.append(i)
            return
        if sem.acquire():
            held.append(i)
            if plan == "yield":
                sleep(0)
                held.remove(i)
                sem.release()

    threads: list[GreenThread[None]] = [spawn(worker, i, p) for i, p in enumerate(plans)]
    sleep(0)
    for _ in range(releases):
        sem.release()
    for gt, plan in zip(threads, plans):
        if plan == "kill":
            gt.kill()
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline and any(
            not gt.dead and p == "timeout" for gt, p in zip(threads, plans)):
        sleep(0.002)
    for _ in range(100):  # until nothing but us is queued on the hub: quiescent
        sleep(0)
        if not get_hub()._ready:
            break
    # Everything still blocked now can only be a "hold"/"yield" worker without a unit.
    blocked = [gt for gt in threads if not gt.dead]
    assert len(sem._waiters) == len(blocked)
    assert sem.counter >= 0
    assert sem.counter == 0 or not sem._waiters
    assert sem.counter + len(held) == value + releases
    for gt in blocked:
        gt.kill()
    assert not sem._waiters
