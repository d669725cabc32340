"""greenlane.testing: the virtual clock hub, hub-leak checks, settle and discard_hub."""

from __future__ import annotations

import socket
import time

import pytest

from greenlane import Event, Timeout, sleep, spawn, spawn_after
from greenlane.hubs import get_hub, use_hub
from greenlane.queue import Queue
from greenlane.testing import (
    VirtualClock,
    VirtualClockHub,
    assert_hub_clean,
    discard_hub,
    hub_snapshot,
    settle,
)


@pytest.fixture
def virtual_hub(fresh_hub: None) -> VirtualClock:
    use_hub("greenlane.testing:VirtualClockHub")
    clock = get_hub().clock
    assert isinstance(clock, VirtualClock)
    return clock


def test_sleep_an_hour_in_no_time(virtual_hub: VirtualClock) -> None:
    started = time.monotonic()
    sleep(3600)
    assert virtual_hub() == pytest.approx(3600)
    assert time.monotonic() - started < 1


def test_timers_fire_in_virtual_order(virtual_hub: VirtualClock) -> None:
    log: list[tuple[str, float]] = []
    for name, delay in (("c", 30.0), ("a", 10.0), ("b", 20.0)):
        spawn_after(delay, lambda n=name: log.append((n, virtual_hub())))
    sleep(100)
    assert log == [("a", 10.0), ("b", 20.0), ("c", 30.0)]


def test_timeouts_and_queues_on_the_virtual_clock(virtual_hub: VirtualClock) -> None:
    q: Queue[int] = Queue()
    with pytest.raises(Timeout):
        with Timeout(5):
            q.get()
    assert virtual_hub() == pytest.approx(5)
    assert Event[None]().wait(60) is None
    assert virtual_hub() == pytest.approx(65)


def test_real_io_still_wakes_the_virtual_hub(virtual_hub: VirtualClock) -> None:
    from greenlane.green import socket as green_socket

    a, b = green_socket.socketpair()
    try:
        gt = spawn(a.recv, 10)
        sleep(0)
        b.sendall(b"x")
        assert gt.wait() == b"x"
    finally:
        a.close()
        b.close()


def test_advance_by_hand() -> None:
    clock = VirtualClock(100.0)
    clock.advance(2.5)
    assert clock() == 102.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert issubclass(VirtualClockHub, type(get_hub()).__mro__[-2])


def test_assert_hub_clean_names_what_was_left() -> None:
    hub = get_hub()
    assert_hub_clean()
    timer = hub.schedule_call_global(60, print)
    with pytest.raises(AssertionError, match="timer left behind"):
        assert_hub_clean()
    allowed = hub_snapshot()
    assert_hub_clean(allowed=allowed)
    timer.cancel()
    a, b = socket.socketpair()
    try:
        from greenlane.hubs import trampoline

        gt = spawn(trampoline, a.fileno(), read=True)
        sleep(0)
        with pytest.raises(AssertionError, match=f"fd listener left behind.*fd={a.fileno()}"):
            assert_hub_clean()
        b.send(b"x")
        gt.wait()
        assert_hub_clean()
    finally:
        a.close()
        b.close()
    hub.schedule_ready(print, "never run")
    with pytest.raises(AssertionError, match="1 callbacks still queued"):
        assert_hub_clean()
    settle()
    assert_hub_clean()


def test_settle_lets_spawned_threads_finish() -> None:
    done: list[int] = []
    for i in range(3):
        spawn(done.append, i)
    settle()
    assert done == [0, 1, 2]


def test_discard_hub_gives_a_fresh_hub() -> None:
    old = get_hub()
    sleep(0)
    discard_hub()
    new = get_hub()
    assert new is not old and not old.running
    sleep(0)
