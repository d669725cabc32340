"""greenlane.timeout: Timeout, with_timeout, is_timeout, wrap_is_timeout."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from greenlane.event import Event
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from greenlane.timeout import Timeout, is_timeout, with_timeout, wrap_is_timeout


def test_timeout_is_base_exception_not_exception() -> None:
    assert issubclass(Timeout, BaseException)
    assert not issubclass(Timeout, Exception)
    with pytest.raises(Timeout):
        with Timeout(0.01):
            try:
                sleep(1)
            except Exception:  # noqa: BLE001 - the point: it must not catch a Timeout
                pytest.fail("except Exception caught a Timeout")


def test_context_manager_raises_itself() -> None:
    start = time.monotonic()
    with pytest.raises(Timeout) as info:
        with Timeout(0.01) as t:
            sleep(1)
    assert info.value is t
    assert not t.pending
    assert time.monotonic() - start < 0.5


def test_starts_when_constructed() -> None:
    t = Timeout(0.01)
    assert t.pending
    with pytest.raises(Timeout) as info:
        sleep(1)
    assert info.value is t
    assert not t.pending


def test_exception_false_is_swallowed() -> None:
    start = time.monotonic()
    with Timeout(0.01, False):
        sleep(1)
        pytest.fail("not reached")
    assert time.monotonic() - start < 0.5


def test_exception_false_does_not_swallow_other_timeouts() -> None:
    with pytest.raises(Timeout) as info:
        with Timeout(0.01) as outer:
            with Timeout(1, False):
                sleep(1)
    assert info.value is outer


def test_custom_exception_class() -> None:
    with pytest.raises(ValueError):
        with Timeout(0.01, ValueError):
            sleep(1)


def test_custom_exception_instance() -> None:
    exc = KeyError("mine")
    with pytest.raises(KeyError) as info:
        with Timeout(0.01, exc):
            sleep(1)
    assert info.value is exc


def test_seconds_none_never_fires() -> None:
    with Timeout(None) as t:
        assert not t.pending
        assert t.timer is None
        sleep(0.02)
    assert str(t) == ""


def test_cancel_prevents_firing() -> None:
    t = Timeout(0.01)
    t.cancel()
    assert not t.pending
    sleep(0.02)  # must not raise
    t.cancel()  # twice is fine


def test_cancel_after_fire_is_noop() -> None:
    t = Timeout(0.001)
    with pytest.raises(Timeout):
        sleep(1)
    t.cancel()
    assert not t.pending


def test_pending_and_restart() -> None:
    t = Timeout(0.5)
    assert t.pending
    with pytest.raises(RuntimeError):
        t.start()
    t.cancel()
    t.start()
    assert t.pending
    t.cancel()


def test_block_finishing_in_time_cancels_timer() -> None:
    with Timeout(1) as t:
        sleep(0)
    assert not t.pending
    assert get_hub().get_timers_count() == 0


def test_nested_inner_fires_first() -> None:
    with Timeout(1) as outer:
        with pytest.raises(Timeout) as info:
            with Timeout(0.01) as inner:
                sleep(1)
        assert info.value is inner
        assert outer.pending
    assert not outer.pending


def test_nested_outer_fires_first() -> None:
    with pytest.raises(Timeout) as info:
        with Timeout(0.01) as outer:
            with Timeout(1) as inner:
                sleep(1)
    assert info.value is outer
    assert not inner.pending  # its __exit__ cancelled it while the outer one propagated


def test_timeout_interrupts_event_wait_and_cleans_up() -> None:
    evt = Event[int]()
    with pytest.raises(Timeout):
        with Timeout(0.01):
            evt.wait()
    assert not evt._waiters


def test_timeout_in_green_thread_only_affects_it() -> None:
    def waits() -> str:
        try:
            with Timeout(0.01):
                sleep(1)
        except Timeout:
            return "timed out"
        return "not"

    gt = spawn(waits)
    sleep(0.03)  # main is not interrupted
    assert gt.wait() == "timed out"


def test_timeout_not_thrown_into_dead_green_thread() -> None:
    timeouts: list[Timeout] = []

    def leak_a_timeout() -> None:
        timeouts.append(Timeout(0.005))  # never cancelled

    spawn(leak_a_timeout).wait()
    sleep(0.02)  # it fires after its green thread died: nothing happens
    assert not timeouts[0].pending


def test_str_and_repr() -> None:
    t = Timeout(1)
    try:
        assert str(t) == "1 second"
        assert "seconds=1" in repr(t) and "pending=True" in repr(t)
    finally:
        t.cancel()
    t2 = Timeout(2, False)
    t2.cancel()
    assert str(t2) == "2 seconds (silent)"
    t3 = Timeout(2, ValueError)
    t3.cancel()
    assert "ValueError" in str(t3)


def test_timeout_attributes() -> None:
    t = Timeout(3, ValueError)
    try:
        assert t.seconds == 3
        assert t.exception is ValueError
        assert t.timer is not None
        assert t.is_timeout is True
    finally:
        t.cancel()


# ---------------------------------------------------------------------------- with_timeout
def test_with_timeout_returns_result() -> None:
    assert with_timeout(1, lambda a, b=0: a + b, 1, b=2) == 3
    assert get_hub().get_timers_count() == 0


def test_with_timeout_raises_timeout() -> None:
    with pytest.raises(Timeout):
        with_timeout(0.01, sleep, 1)
    assert get_hub().get_timers_count() == 0


def test_with_timeout_timeout_value() -> None:
    sentinel = object()
    assert with_timeout(0.01, sleep, 1, timeout_value=sentinel) is sentinel
    assert with_timeout(0.01, sleep, 1, timeout_value=None) is None


def test_with_timeout_passes_other_exceptions() -> None:
    def fail() -> None:
        raise OSError("x")

    with pytest.raises(OSError):
        with_timeout(1, fail, timeout_value="unused")
    assert get_hub().get_timers_count() == 0


def test_with_timeout_does_not_catch_foreign_timeout() -> None:
    with pytest.raises(Timeout) as info:
        with Timeout(0.01) as outer:
            with_timeout(1, sleep, 1, timeout_value="no")
    assert info.value is outer


# ---------------------------------------------------------------------------- is_timeout
@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (TimeoutError(), True),
        (TimeoutError, True),
        (socket.timeout(), True),
        (ValueError(), False),
        (ValueError, False),
        (None, False),
        (type("Custom", (Exception,), {"is_timeout": True})(), True),
    ],
)
def test_is_timeout(obj: Any, expected: bool) -> None:
    assert is_timeout(obj) is expected


def test_is_timeout_of_timeout_instance() -> None:
    t = Timeout(None)
    assert is_timeout(t)
    assert is_timeout(Timeout)


def test_wrap_is_timeout() -> None:
    wrapped = wrap_is_timeout(ValueError)
    assert wrapped.__name__ == "ValueError"
    exc = wrapped("msg")
    assert isinstance(exc, ValueError)
    assert str(exc) == "msg"
    assert is_timeout(exc)
    assert not is_timeout(ValueError("plain"))


def test_wrap_is_timeout_as_timeout_exception() -> None:
    wrapped = wrap_is_timeout(ConnectionError)
    with pytest.raises(ConnectionError) as info:
        with Timeout(0.01, wrapped()):
            sleep(1)
    assert is_timeout(info.value)
