"""The hub's run loop: abort, errors escaping green threads, Ctrl-C, killing the loop."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, TypeVar

import pytest
from greenlet import GreenletExit, getcurrent

from greenlane import debug
from greenlane.event import Event
from greenlane.greenthread import sleep, spawn, spawn_n
from greenlane.hubs import get_hub
from greenlane.hubs.hub import READY_BATCH

T = TypeVar("T")


def _nap_then(seconds: float, value: T) -> T:
    """Sleep (yielding to the hub), then return ``value``."""
    sleep(seconds)
    return value


@pytest.fixture
def reports() -> Any:
    hub = get_hub()
    saved = hub.exception_reporter
    found: list[tuple[str, Any, BaseException]] = []

    def record(where: str, culprit: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        assert exc is not None
        found.append((where, culprit, exc))

    hub.exception_reporter = record
    yield found
    hub.exception_reporter = saved


def test_hub_greenlet_is_child_of_root() -> None:
    hub = get_hub()
    assert hub.greenlet.parent is getcurrent()
    assert getcurrent().parent is None


def test_exception_in_green_thread_is_reported_and_loop_goes_on(reports: Any) -> None:
    after: list[str] = []

    def fail() -> None:
        raise LookupError("escaped")

    g = spawn_n(fail)
    spawn_n(after.append, "next")
    sleep(0)
    assert after == ["next"]
    assert len(reports) == 1
    where, culprit, exc = reports[0]
    assert where == "green thread"
    assert culprit is g
    assert isinstance(exc, LookupError)


def test_default_report_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    empty: dict[str, int] = {}
    spawn_n(lambda: empty["missing key"])
    sleep(0)
    err = capsys.readouterr().err
    assert "greenlane: unhandled exception in green thread" in err
    assert "KeyError: 'missing key'" in err


def test_hub_exceptions_false_silences(reports: Any) -> None:
    debug.hub_exceptions(False)
    spawn_n(lambda: 1 / 0)
    sleep(0)
    assert reports == []
    debug.hub_exceptions(True)
    spawn_n(lambda: 1 / 0)
    sleep(0)
    assert len(reports) == 1


def test_set_timer_exceptions_is_hub_exceptions(reports: Any) -> None:
    get_hub().set_timer_exceptions(False)
    get_hub().schedule_call_global(0.001, lambda: 1 / 0)
    sleep(0.005)
    assert reports == []


@pytest.mark.parametrize("exc_class", [KeyboardInterrupt, SystemExit])
def test_ctrl_c_in_green_thread_reaches_main(exc_class: type[BaseException]) -> None:
    def interrupt() -> None:
        raise exc_class()

    spawn_n(interrupt)
    start = time.monotonic()
    with pytest.raises(exc_class):
        sleep(1)
    assert time.monotonic() - start < 0.5
    assert get_hub().get_timers_count() == 0  # sleep's timer was cancelled on the way out
    # The loop survives and keeps serving.
    assert spawn(_nap_then, 0.001, "alive").wait() == "alive"


def test_ctrl_c_in_timer_reaches_main() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    get_hub().schedule_call_global(0.001, interrupt)
    with pytest.raises(KeyboardInterrupt):
        sleep(1)
    sleep(0.001)


def test_ctrl_c_reaches_main_while_main_waits_on_green_thread() -> None:
    def interrupt() -> None:
        sleep(0.001)
        raise KeyboardInterrupt

    gt = spawn(interrupt)
    with pytest.raises(KeyboardInterrupt):
        gt.wait()


def test_abort_from_green_thread_returns_to_main() -> None:
    hub = get_hub()
    spawn_n(hub.abort)
    start = time.monotonic()
    sleep(1)  # returns early: the loop ended and control came back to the main greenlet
    assert time.monotonic() - start < 0.5
    assert not hub.running
    assert hub.get_timers_count() == 0
    # A later blocking call starts the loop again.
    assert spawn(_nap_then, 0.001, "again").wait() == "again"


def test_abort_wait_from_main_stops_loop_and_keeps_timers() -> None:
    hub = get_hub()
    fired: list[int] = []
    hub.schedule_call_global(0.005, fired.append, 1)
    sleep(0)
    assert hub.running
    hub.abort(wait=True)
    assert not hub.running
    assert fired == []
    start = time.monotonic()
    sleep(0.01)
    # No stale wake-up from abort: the sleep lasts as long as asked.
    assert time.monotonic() - start >= 0.01
    assert fired == [1]


def test_green_threads_survive_abort() -> None:
    # Green threads parked (or queued) across an abort finish into the restarted loop, not
    # into the main greenlet: that would wake main up early.
    hub = get_hub()
    evt = Event[int]()
    parked = spawn(evt.wait)
    sleep(0)
    queued = spawn(lambda: "queued")
    hub.abort(wait=True)
    assert not hub.greenlet.dead
    hub.schedule_call_global(0, evt.send, 5)
    start = time.monotonic()
    sleep(0.02)
    assert time.monotonic() - start >= 0.02
    assert parked.dead and queued.dead
    assert parked.wait() == 5 and queued.wait() == "queued"
    late = spawn(lambda: "after")
    assert late.wait() == "after"


def test_abort_when_not_running_is_noop() -> None:
    hub = get_hub()
    hub.abort(wait=True)
    hub.abort()
    sleep(0)
    hub.abort(wait=True)
    hub.abort(wait=True)
    assert not hub.running


def test_run_twice_raises() -> None:
    hub = get_hub()
    errors: list[BaseException] = []

    def nested_run() -> None:
        try:
            hub.run()
        except RuntimeError as exc:
            errors.append(exc)

    spawn(nested_run).wait()
    assert len(errors) == 1


def test_killing_the_hub_greenlet_ends_the_loop(reports: Any) -> None:
    hub = get_hub()
    sleep(0)
    assert hub.running
    hub.greenlet.throw(GreenletExit)
    assert hub.greenlet.dead
    assert not hub.running
    assert reports == []  # not reported as a failing callback
    sleep(0.001)  # a new loop greenlet takes over
    assert hub.running


def test_switch_from_hub_greenlet_raises() -> None:
    hub = get_hub()
    errors: list[BaseException] = []

    def in_hub() -> None:
        try:
            hub.switch()
        except RuntimeError as exc:
            errors.append(exc)

    hub.schedule_call_global(0, in_hub)
    sleep(0)
    assert len(errors) == 1


def test_ready_queue_yields_to_timers() -> None:
    # Two green threads yielding to each other forever must not starve a due timer.
    hub = get_hub()
    spins = [0]
    stop: list[bool] = []

    def spinner() -> None:
        while not stop:
            spins[0] += 1
            sleep(0)

    threads = [spawn(spinner), spawn(spinner)]
    hub.schedule_call_global(0.001, stop.append, True)
    for gt in threads:
        gt.wait()
    assert stop == [True]


def test_ready_batch_bounds_latency_of_a_due_timer() -> None:
    hub = get_hub()
    spins = [0]
    fired_at: list[int] = []
    stop: list[bool] = []

    def spinner() -> None:
        while not stop:
            spins[0] += 1
            sleep(0)

    gt = spawn(spinner)
    hub.schedule_call_global(0.002, lambda: fired_at.append(spins[0]))
    time.sleep(0.003)  # the timer is due before the spinner even starts
    sleep(0)
    while not fired_at:
        sleep(0)
    stop.append(True)
    gt.wait()
    assert fired_at[0] <= READY_BATCH + 1


def test_repr() -> None:
    text = repr(get_hub())
    assert "running=" in text and "timers=" in text


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32",
                    reason="needs POSIX signals")
def test_real_ctrl_c_while_hub_polls(hub_backend: str) -> None:
    # SIGINT arrives while the hub blocks in its poller: the main greenlet gets it.
    killer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    killer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sleep(5)
    finally:
        killer.cancel()
        killer.join()
    assert time.monotonic() - start < 2
    assert get_hub().get_timers_count() == 0
    sleep(0.001)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_exception_from_a_signal_handler_reaches_the_main_greenlet_and_the_hub_survives() -> None:
    # An alarm handler raising (the stdlib idiom for a timeout) while the hub waits in its
    # poller interrupts the main greenlet's blocking call, as it would without green threads.
    class Alarm(Exception):
        pass

    def on_alarm(signum: int, frame: Any) -> None:
        raise Alarm

    hub = get_hub()
    loop = hub.greenlet
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        started = time.monotonic()
        with pytest.raises(Alarm):
            sleep(5)
        assert time.monotonic() - started < 4
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert hub.greenlet is loop and not loop.dead
    sleep(0.01)  # the same loop goes on serving


def test_one_sleep0_lets_pending_io_in() -> None:
    # Work queued during a hub turn waits for the next turn, after the poll (trio's batch
    # rule): a green thread that yields once lets every green thread whose socket has data run,
    # as eventlet's sleep(0) does.
    import socket

    from greenlane.green import socket as green_socket

    a, b = green_socket.socketpair()
    try:
        got: list[bytes] = []
        gt = spawn(lambda: got.append(a.recv(10)))
        sleep(0)  # gt parks in recv
        b.sendall(b"x")
        sleep(0)
        assert got == [b"x"]
        gt.wait()
        assert isinstance(a.fd, socket.socket)
    finally:
        a.close()
        b.close()
