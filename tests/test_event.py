"""greenlane.event.Event."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from greenlet import GreenletExit

from greenlane.event import Event
from greenlane.greenthread import kill, sleep, spawn
from greenlane.hubs import get_hub
from greenlane.timeout import Timeout


def test_send_then_wait() -> None:
    evt = Event[int]()
    evt.send(3)
    assert evt.wait() == 3
    assert evt.wait() == 3


def test_wait_blocks_until_send() -> None:
    evt = Event[str]()
    got: list[Any] = []
    gt = spawn(lambda: got.append(evt.wait()))
    sleep(0)
    assert got == []
    evt.send("value")
    assert got == []  # send never switches
    gt.wait()
    assert got == ["value"]


def test_send_default_is_none() -> None:
    evt = Event[None]()
    evt.send()
    assert evt.ready()
    assert evt.wait() is None


def test_many_waiters_woken_in_fifo_order() -> None:
    evt = Event[int]()
    order: list[tuple[int, int]] = []

    def waiter(i: int) -> None:
        order.append((i, evt.wait()))

    threads = [spawn(waiter, i) for i in range(10)]
    sleep(0)
    evt.send(7)
    for gt in threads:
        gt.wait()
    assert order == [(i, 7) for i in range(10)]


def test_main_greenlet_can_wait() -> None:
    evt = Event[int]()
    spawn(evt.send, 5)
    assert evt.wait() == 5


def test_send_exception_class() -> None:
    evt = Event[Any]()
    evt.send_exception(KeyError)
    with pytest.raises(KeyError):
        evt.wait()


def test_send_exception_class_with_args() -> None:
    evt = Event[Any]()
    evt.send_exception(KeyError, "the key")
    with pytest.raises(KeyError, match="the key"):
        evt.wait()


def test_send_exception_instance_is_raised_as_is() -> None:
    evt = Event[Any]()
    exc = ValueError("inst")
    evt.send_exception(exc)
    with pytest.raises(ValueError) as info:
        evt.wait()
    assert info.value is exc


def test_send_exception_exc_info_keeps_traceback() -> None:
    def origin() -> None:
        raise RuntimeError("from origin")

    try:
        origin()
    except RuntimeError:
        info = sys.exc_info()
    evt = Event[Any]()
    evt.send_exception(*info)
    with pytest.raises(RuntimeError) as raised:
        evt.wait()
    assert raised.value is info[1]
    assert any(entry.name == "origin" for entry in raised.traceback)


def test_send_exception_reaches_every_waiter() -> None:
    evt = Event[Any]()

    def waiter() -> str:
        try:
            evt.wait()
        except OSError as exc:
            return str(exc)
        return "no exception"

    threads = [spawn(waiter) for _ in range(3)]
    sleep(0)
    evt.send_exception(OSError("down"))
    assert [gt.wait() for gt in threads] == ["down"] * 3


def test_send_with_exc_argument() -> None:
    evt = Event[Any]()
    evt.send(None, ValueError("via send"))
    assert evt.has_exception()
    with pytest.raises(ValueError, match="via send"):
        evt.wait()


def test_wait_timeout_returns_none_and_cleans_up() -> None:
    evt = Event[int]()
    assert evt.wait(0.01) is None
    assert not evt._waiters
    assert get_hub().get_timers_count() == 0
    assert not evt.ready()


def test_wait_timeout_returns_value_if_sent_in_time() -> None:
    evt = Event[int]()
    get_hub().schedule_call_global(0.005, evt.send, 9)
    assert evt.wait(1) == 9
    assert get_hub().get_timers_count() == 0


def test_wait_timeout_zero() -> None:
    evt = Event[int]()
    assert evt.wait(0) is None
    evt.send(1)
    assert evt.wait(0) == 1


def test_states_and_polls_before_and_after_send() -> None:
    evt = Event[int]()
    assert not evt.ready()
    assert not evt.has_result() and not evt.has_exception()
    assert evt.poll() is None and evt.poll("nr") == "nr"
    assert evt.poll_result("nr") == "nr" and evt.poll_exception("nr") == "nr"
    evt.send(4)
    assert evt.ready() and evt.has_result() and not evt.has_exception()
    assert evt.poll() == 4
    assert evt.poll_result("nr") == 4
    assert evt.poll_exception("nr") == "nr"


def test_states_and_polls_with_exception() -> None:
    evt = Event[Any]()
    evt.send_exception(KeyError("k"))
    assert evt.ready() and evt.has_exception() and not evt.has_result()
    assert evt.poll_result("nr") == "nr"
    with pytest.raises(KeyError):
        evt.poll()
    with pytest.raises(KeyError):
        evt.poll_exception()


def test_send_twice_asserts() -> None:
    evt = Event[int]()
    evt.send(1)
    with pytest.raises(AssertionError):
        evt.send(2)
    assert evt.wait() == 1


def test_reset() -> None:
    evt = Event[int]()
    with pytest.raises(AssertionError):
        evt.reset()
    evt.send(1)
    evt.reset()
    assert not evt.ready()
    assert evt.wait(0.001) is None
    evt.send(2)
    assert evt.wait() == 2


def test_reset_clears_exception() -> None:
    evt = Event[Any]()
    evt.send_exception(ValueError)
    evt.reset()
    evt.send(3)
    assert evt.has_result()
    assert evt.wait() == 3


def test_killed_waiter_does_not_lose_others() -> None:
    evt = Event[int]()
    got: list[tuple[str, int]] = []

    def waiter(name: str) -> None:
        got.append((name, evt.wait()))

    a, b, c = spawn(waiter, "a"), spawn(waiter, "b"), spawn(waiter, "c")
    sleep(0)
    kill(b)
    evt.send(1)
    a.wait()
    c.wait()
    with pytest.raises(GreenletExit):
        b.wait()
    assert got == [("a", 1), ("c", 1)]


def test_waiter_killed_after_send_before_resuming() -> None:
    # send() queues the wake-ups; killing a waiter before the hub delivers them must not
    # deliver its wake-up anywhere else, nor stop the others from getting theirs.
    evt = Event[int]()
    got: list[tuple[str, int]] = []

    def waiter(name: str) -> None:
        got.append((name, evt.wait()))

    a, b = spawn(waiter, "a"), spawn(waiter, "b")
    sleep(0)
    evt.send(2)
    kill(a)
    b.wait()
    assert got == [("b", 2)]


def test_waiter_timed_out_does_not_lose_others() -> None:
    evt = Event[int]()

    def impatient() -> Any:
        with Timeout(0.005, False):
            return evt.wait()
        return "gave up"

    i = spawn(impatient)
    p = spawn(evt.wait)
    assert i.wait() == "gave up"
    evt.send(8)
    assert p.wait() == 8


def test_wait_from_hub_greenlet_raises() -> None:
    evt = Event[int]()
    errors: list[BaseException] = []

    def in_hub() -> None:
        try:
            evt.wait()
        except RuntimeError as exc:
            errors.append(exc)

    get_hub().schedule_call_global(0, in_hub)
    sleep(0)
    assert len(errors) == 1


def test_repr() -> None:
    evt = Event[int]()
    assert "ready=False" in repr(evt)
    evt.send(1)
    assert "ready=True" in repr(evt)
