"""WaitQueue: FIFO parking, hand-off, refused hand-offs, timeouts and kills that unregister."""

from __future__ import annotations

import time
from typing import Any

import pytest

from greenlane import Timeout, kill, sleep, spawn
from greenlane.hubs import WaitQueue, get_hub


def test_wake_one_is_fifo_and_hands_the_value() -> None:
    q = WaitQueue()
    got: list[tuple[int, Any]] = []

    def waiter(i: int) -> None:
        got.append((i, q.park()))

    threads = [spawn(waiter, i) for i in range(5)]
    sleep(0)
    assert len(q) == 5
    for value in "abcde":
        assert q.wake_one(value)
    assert len(q) == 0 and q.handing == 5
    for gt in threads:
        gt.wait()
    assert got == [(0, "a"), (1, "b"), (2, "c"), (3, "d"), (4, "e")]
    assert q.handing == 0
    assert not q.wake_one("nobody")


def test_waker_does_not_switch() -> None:
    q = WaitQueue()
    log: list[str] = []
    gt = spawn(lambda: log.append(f"woke {q.park()}"))
    sleep(0)
    q.wake_one(1)
    log.append("waker goes on")
    gt.wait()
    assert log == ["waker goes on", "woke 1"]


def test_wake_all() -> None:
    q = WaitQueue()
    threads = [spawn(q.park) for _ in range(3)]
    sleep(0)
    assert q.wake_all("x") == 3
    assert [gt.wait() for gt in threads] == ["x", "x", "x"]
    assert q.wake_all() == 0


def test_timeout_returns_expired_and_leaves_the_queue() -> None:
    q = WaitQueue()
    assert q.park(0.01, "late") == "late"
    assert len(q) == 0 and q.handing == 0
    # The queue still works for others afterwards, and nobody is woken by mistake.
    gt = spawn(q.park)
    sleep(0)
    assert q.wake_one(7)
    assert gt.wait() == 7


def test_kill_unregisters_and_ignores_a_later_wake() -> None:
    q = WaitQueue()
    a = spawn(q.park)
    b = spawn(q.park)
    sleep(0)
    kill(a)
    assert len(q) == 1
    assert q.wake_one("for b")
    assert b.wait() == "for b"


def test_refused_by_killed_waiter_goes_to_the_next() -> None:
    q = WaitQueue()
    refused: list[Any] = []

    def refuse(value: Any) -> None:
        refused.append(value)
        if not q.wake_one(value):
            refused.append("kept")

    a = spawn(q.park, None, None, None, refuse)
    b = spawn(q.park, None, None, None, refuse)
    sleep(0)
    assert q.wake_one("unit")  # handed to a ...
    kill(a)  # ... which is killed before it ran: the unit goes to b
    assert b.wait() == "unit"
    assert refused == ["unit"] and q.handing == 0


def _hand_off_then_deadline(q: WaitQueue, value: Any) -> None:
    # Make the hand-off and the parked waiter's deadline land in one hub turn, hand-off first,
    # so the waiter's timer (or Timeout) fires before its wake-up runs: a timer for wake_one
    # due just before the waiter's own (0.05 s), and the hub kept busy past both.
    get_hub().schedule_call_global(0.04, q.wake_one, value)
    time.sleep(0.08)


def test_refused_by_waiter_whose_timeout_fired_first_goes_to_the_next() -> None:
    q = WaitQueue()
    passed: list[Any] = []

    def refuse(value: Any) -> None:
        passed.append(value)
        q.wake_one(value)

    a = spawn(q.park, 0.05, "expired", None, refuse)
    b = spawn(q.park, None, None, None, refuse)
    sleep(0)
    _hand_off_then_deadline(q, "unit")
    assert a.wait() == "expired"
    assert b.wait() == "unit"
    assert passed == ["unit"] and q.handing == 0


def test_without_refused_a_handed_value_survives_the_timeout() -> None:
    # Receipts (a queue's "your item was taken") stand even if the timeout fired first.
    q = WaitQueue()
    gt = spawn(q.park, 0.05, "expired")
    sleep(0)
    _hand_off_then_deadline(q, "receipt")
    assert gt.wait() == "receipt"
    assert q.handing == 0


def test_timeout_exception_refuses_too() -> None:
    q = WaitQueue()
    back: list[Any] = []

    def parker() -> str:
        with Timeout(0.05, False):
            q.park(None, None, None, back.append)
            return "got it"
        return "timed out"

    gt = spawn(parker)
    sleep(0)
    _hand_off_then_deadline(q, "unit")
    assert gt.wait() == "timed out"
    assert back == ["unit"] and q.handing == 0


def test_payload_and_pop_payload() -> None:
    q = WaitQueue()
    gt = spawn(q.park, None, None, "item-1")
    gt2 = spawn(q.park, None, None, "item-2")
    sleep(0)
    assert q.peek_payload() == "item-1"
    assert q.pop_payload("taken") == "item-1"
    assert gt.wait() == "taken"
    assert q.pop_payload() == "item-2"
    gt2.wait()
    with pytest.raises(IndexError):
        q.pop_payload()


def test_park_from_the_hub_is_an_error() -> None:
    q = WaitQueue()
    errors: list[BaseException] = []

    def from_hub() -> None:
        try:
            q.park()
        except RuntimeError as exc:
            errors.append(exc)

    get_hub().schedule_ready(from_hub)
    sleep(0)
    assert errors and "hub" in str(errors[0])
    assert len(q) == 0
