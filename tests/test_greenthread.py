"""greenlane.greenthread: spawn*, sleep, kill, cancel, getcurrent and the GreenThread handle."""

from __future__ import annotations

import socket
import time
from typing import Any

import greenlet
import pytest

from greenlane import debug, greenthread
from greenlane.event import Event
from greenlane.greenthread import (
    GreenThread,
    getcurrent,
    kill,
    sleep,
    spawn,
    spawn_after,
    spawn_after_local,
    spawn_n,
)
from greenlane.hubs import get_hub, trampoline


def test_getcurrent_is_greenlets() -> None:
    assert getcurrent is greenlet.getcurrent
    assert greenthread.getcurrent() is greenlet.getcurrent()


# ---------------------------------------------------------------------------- spawn
def test_spawn_runs_on_next_turn_and_wait_returns_result() -> None:
    ran: list[Any] = []

    def work(a: int, b: int, *, c: int) -> int:
        ran.append(getcurrent())
        return a + b + c

    gt = spawn(work, 1, 2, c=3)
    assert isinstance(gt, GreenThread)
    assert ran == []  # not started synchronously
    assert not gt and not gt.dead
    assert gt.wait() == 6
    assert ran == [gt]
    assert gt.dead
    assert gt.wait() == 6  # waiting again returns the same result


def test_spawn_order_is_fifo() -> None:
    order: list[int] = []
    threads = [spawn(order.append, i) for i in range(20)]
    sleep(0)
    assert order == list(range(20))
    for gt in threads:
        gt.wait()


def test_spawned_green_thread_has_hub_as_parent() -> None:
    gt = spawn(getcurrent)
    assert gt.wait() is gt
    assert gt.parent is get_hub().greenlet


def test_exception_crosses_wait_with_traceback() -> None:
    debug.hub_exceptions(False)
    exc = ValueError("boom")

    def fail() -> None:
        raise exc

    gt = spawn(fail)
    with pytest.raises(ValueError) as info:
        gt.wait()
    assert info.value is exc
    # The traceback reaches into the green thread's function.
    assert any(entry.name == "fail" for entry in info.traceback)
    with pytest.raises(ValueError):
        gt.wait()


def test_exception_in_spawn_is_also_reported_by_hub() -> None:
    reports: list[tuple[str, Any]] = []
    hub = get_hub()
    saved = hub.exception_reporter
    hub.exception_reporter = lambda where, culprit: reports.append((where, culprit))
    try:
        gt = spawn(int, "not a number")
        with pytest.raises(ValueError):
            gt.wait()
    finally:
        hub.exception_reporter = saved
    assert reports == [("green thread", gt)]  # the report names the green thread itself


def test_many_waiters_on_one_green_thread() -> None:
    release = Event[None]()

    def work() -> str:
        release.wait()
        return "done"

    gt = spawn(work)
    waiters = [spawn(gt.wait) for _ in range(5)]
    sleep(0)
    release.send()
    assert [w.wait() for w in waiters] == ["done"] * 5


# ---------------------------------------------------------------------------- spawn_n
def test_spawn_n_runs_with_args_and_kwargs() -> None:
    seen: list[Any] = []
    g = spawn_n(lambda *a, **k: seen.append((a, k)), 1, 2, x=3)
    assert not isinstance(g, GreenThread)
    assert isinstance(g, greenlet.greenlet)
    g2 = spawn_n(seen.append, "positional only")
    sleep(0)
    assert seen == [((1, 2), {"x": 3}), "positional only"]
    assert g.dead and g2.dead


def test_spawn_n_exception_is_reported_and_loop_goes_on(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    after: list[int] = []

    def fail() -> None:
        raise ZeroDivisionError("spawn_n failure")

    spawn_n(fail)
    spawn_n(after.append, 1)
    sleep(0)
    assert after == [1]
    err = capsys.readouterr().err
    assert "ZeroDivisionError: spawn_n failure" in err


def test_hub_exceptions_false_silences_spawn_n(capsys: pytest.CaptureFixture[str]) -> None:
    debug.hub_exceptions(False)
    spawn_n(lambda: 1 / 0)
    sleep(0)
    assert "ZeroDivisionError" not in capsys.readouterr().err


# ---------------------------------------------------------------------------- spawn_after
def test_spawn_after_waits_for_the_delay() -> None:
    start = time.monotonic()
    gt = spawn_after(0.02, time.monotonic)
    sleep(0)
    assert not gt  # not started before the delay
    assert gt.wait() - start >= 0.02


def test_spawn_after_order_follows_delay() -> None:
    order: list[str] = []
    late = spawn_after(0.02, order.append, "late")
    early = spawn_after(0.005, order.append, "early")
    late.wait()
    early.wait()
    assert order == ["early", "late"]


def test_spawn_after_cancel_before_start() -> None:
    ran: list[int] = []
    gt = spawn_after(0.01, ran.append, 1)
    gt.cancel()
    assert gt.dead
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()
    sleep(0.02)
    assert ran == []


def test_spawn_after_local_runs_while_owner_alive() -> None:
    gt = spawn_after_local(0.005, lambda: "ran")
    assert gt.wait() == "ran"


def test_spawn_after_local_skipped_when_owner_died() -> None:
    ran: list[int] = []
    children: list[GreenThread[Any]] = []

    def owner() -> None:
        children.append(spawn_after_local(0.01, ran.append, 1))

    spawn(owner).wait()
    sleep(0.03)
    assert ran == []
    assert not children[0]  # never started
    assert get_hub().get_timers_count() == 0


# ---------------------------------------------------------------------------- sleep
def test_sleep_zero_lets_others_run_in_turn() -> None:
    order: list[str] = []

    def worker(name: str) -> None:
        for i in range(3):
            order.append(f"{name}{i}")
            sleep(0)

    a, b = spawn(worker, "a"), spawn(worker, "b")
    a.wait()
    b.wait()
    assert order == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_sleep_zero_in_main_runs_spawned() -> None:
    ran: list[int] = []
    spawn_n(ran.append, 1)
    sleep()
    assert ran == [1]


def test_sleep_orders_by_duration() -> None:
    order: list[float] = []

    def nap(seconds: float) -> None:
        sleep(seconds)
        order.append(seconds)

    threads = [spawn(nap, s) for s in (0.03, 0.01, 0.02, 0)]
    for gt in threads:
        gt.wait()
    assert order == [0, 0.01, 0.02, 0.03]


def test_sleep_duration_is_at_least_requested() -> None:
    start = time.monotonic()
    sleep(0.02)
    assert time.monotonic() - start >= 0.02


def test_sleep_in_hub_greenlet() -> None:
    results: list[Any] = []

    def in_hub() -> None:
        sleep(0)  # no-op, allowed
        try:
            sleep(0.01)
        except RuntimeError as exc:
            results.append(exc)

    get_hub().schedule_call_global(0, in_hub)
    sleep(0)
    assert len(results) == 1 and "hub" in str(results[0])


# ---------------------------------------------------------------------------- kill
def test_sleep_zero_interrupted_leaves_no_stale_wake_up() -> None:
    # An exception thrown into a green thread whose sleep(0) resume is still queued must take
    # that resume off the queue: left there, it would wake the thread in its next wait.
    ev = Event[int]()
    log: list[Any] = []

    def victim() -> None:
        try:
            sleep(0)
        except ZeroDivisionError:
            log.append("thrown")
        log.append(ev.wait())

    gt = spawn(victim)
    sleep(0)  # victim starts and queues its sleep(0) resume behind us
    kill(gt, ZeroDivisionError)
    sleep(0)
    sleep(0)
    assert log == ["thrown"] and not gt.dead
    ev.send(7)
    gt.wait()
    assert log == ["thrown", 7]


def test_sleep_zero_hit_by_timeout_keeps_ready_queue_clean() -> None:
    from greenlane.timeout import Timeout

    with pytest.raises(Timeout):
        with Timeout(0.001):
            time.sleep(0.005)  # the timer is due; the next hub turn fires it
            ready = get_hub()._ready
            for _ in range(300):  # more than one turn's batch: timers fire before our resume
                ready.append((int, ()))
            sleep(0)
    current = getcurrent()
    assert all(getattr(fn, "__self__", None) is not current and current not in args
               for fn, args in get_hub()._ready)


def test_kill_green_thread_blocked_in_sleep() -> None:
    cleaned: list[str] = []

    def sleeper() -> None:
        try:
            sleep(10)
        finally:
            cleaned.append("finally")

    gt = spawn(sleeper)
    sleep(0)
    kill(gt)
    # kill() returns once the victim has handled the exception.
    assert cleaned == ["finally"]
    assert gt.dead
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()
    assert get_hub().get_timers_count() == 0


def test_kill_with_custom_exception() -> None:
    debug.hub_exceptions(False)
    gt = spawn(sleep, 10)
    sleep(0)
    gt.kill(KeyError("custom"))
    with pytest.raises(KeyError, match="custom"):
        gt.wait()


def test_kill_with_exception_class_and_value() -> None:
    debug.hub_exceptions(False)
    gt = spawn(sleep, 10)
    sleep(0)
    kill(gt, ValueError, ValueError("v"))
    with pytest.raises(ValueError, match="v"):
        gt.wait()


def test_kill_blocked_in_event_wait_unregisters_waiter() -> None:
    evt = Event[int]()
    gt = spawn(evt.wait)
    sleep(0)
    assert len(evt._waiters) == 1
    kill(gt)
    assert not evt._waiters
    evt.send(1)
    sleep(0)
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()


def test_kill_blocked_in_trampoline_removes_listener() -> None:
    a, b = socket.socketpair()
    try:
        gt = spawn(trampoline, a, read=True)
        sleep(0)
        assert [listener.fileno for listener in get_hub().get_readers()] == [a.fileno()]
        kill(gt)
        assert get_hub().get_readers() == []
        with pytest.raises(greenlet.GreenletExit):
            gt.wait()
    finally:
        a.close()
        b.close()


def test_kill_unstarted_never_runs_it() -> None:
    ran: list[int] = []
    linked: list[Any] = []
    gt = spawn(ran.append, 1)
    gt.link(linked.append)
    kill(gt)
    assert gt.dead
    sleep(0)  # its queued start must do nothing
    assert ran == []
    assert linked == [gt]
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()


def test_kill_unstarted_spawn_n() -> None:
    ran: list[int] = []
    g = spawn_n(ran.append, 1)
    kill(g)
    assert g.dead
    sleep(0)
    assert ran == []


def test_kill_dead_is_noop() -> None:
    gt = spawn(lambda: 5)
    assert gt.wait() == 5
    kill(gt)
    gt.kill(ValueError)
    assert gt.wait() == 5


def test_kill_from_another_green_thread() -> None:
    order: list[str] = []

    def victim() -> None:
        try:
            sleep(10)
        finally:
            order.append("victim unwound")

    v = spawn(victim)

    def killer() -> None:
        kill(v)
        order.append("killer resumed")

    k = spawn(killer)
    k.wait()
    assert order == ["victim unwound", "killer resumed"]
    assert v.dead


def test_killed_green_thread_can_catch_and_finish() -> None:
    def stubborn() -> str:
        try:
            sleep(10)
        except greenlet.GreenletExit:
            return "caught"
        return "not killed"

    gt = spawn(stubborn)
    sleep(0)
    gt.kill()
    assert gt.wait() == "caught"


# ---------------------------------------------------------------------------- GreenThread
def test_link_called_with_curried_args_on_exit() -> None:
    calls: list[Any] = []
    gt = spawn(lambda: 42)
    gt.link(lambda g, *a, **k: calls.append((g, a, k, g.wait())), 1, key="v")
    gt.wait()
    sleep(0)
    assert calls == [(gt, (1,), {"key": "v"}, 42)]


def test_link_runs_in_exiting_green_thread_in_order() -> None:
    seen: list[Any] = []
    gt = spawn(lambda: None)
    gt.link(lambda g: seen.append(("first", getcurrent())))
    gt.link(lambda g: seen.append(("second", getcurrent())))
    gt.wait()
    assert seen == [("first", gt), ("second", gt)]


def test_link_after_exit_calls_at_once() -> None:
    gt = spawn(lambda: "r")
    gt.wait()
    seen: list[Any] = []
    gt.link(lambda g, tag: seen.append((tag, getcurrent())), "late")
    assert seen == [("late", getcurrent())]


def test_link_called_on_exception() -> None:
    debug.hub_exceptions(False)
    seen: list[Any] = []
    gt = spawn(lambda: 1 / 0)
    gt.link(lambda g: seen.append(g.dead or "linked"))
    with pytest.raises(ZeroDivisionError):
        gt.wait()
    assert len(seen) == 1


def test_unlink() -> None:
    seen: list[Any] = []

    def cb(g: GreenThread[Any], tag: str) -> None:
        seen.append(tag)

    gt = spawn(lambda: None)
    gt.link(cb, "a")
    gt.link(cb, "b")
    assert gt.unlink(cb, "a") is True
    assert gt.unlink(cb, "a") is False
    assert gt.unlink(cb) is False
    gt.wait()
    assert seen == ["b"]


def test_link_that_links_again_runs_each_once() -> None:
    seen: list[str] = []
    gt = spawn(lambda: None)

    def first(g: GreenThread[Any]) -> None:
        seen.append("first")
        g.link(lambda g2: seen.append("nested"))

    gt.link(first)
    gt.wait()
    assert seen == ["first", "nested"]


def test_cancel_started_green_thread_is_noop() -> None:
    evt = Event[None]()
    gt = spawn(evt.wait)
    sleep(0)
    gt.cancel()
    assert not gt.dead
    evt.send()
    gt.wait()


def test_cancel_function_on_unstarted() -> None:
    gt = spawn(lambda: 1)
    greenthread.cancel(gt)
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()


def test_dead_and_bool() -> None:
    evt = Event[None]()
    gt = spawn(evt.wait)
    assert not gt and not gt.dead  # pending
    sleep(0)
    assert gt and not gt.dead  # started, parked
    evt.send()
    gt.wait()
    assert not gt and gt.dead
    assert "dead" in repr(gt)


def test_spawn_in_context_copies_context() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    token = var.set("caller")
    try:
        copied = greenthread.spawn_in_context(var.get, "unset")
        plain = spawn(var.get, "unset")
        assert copied.wait() == "caller"
        assert plain.wait() == "unset"
    finally:
        var.reset(token)
