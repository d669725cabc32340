"""contextvars and green threads: each starts empty; spawn_in_context copies the caller's."""

from __future__ import annotations

import contextvars
import random

from greenlane.event import Event
from greenlane.greenthread import sleep, spawn, spawn_in_context, spawn_n

request_id: contextvars.ContextVar[int] = contextvars.ContextVar("request_id")


def test_each_green_thread_starts_with_empty_context() -> None:
    token = request_id.set(1)
    try:
        assert spawn(request_id.get, -1).wait() == -1
        seen: list[int] = []
        spawn_n(lambda: seen.append(request_id.get(-1)))
        sleep(0)
        assert seen == [-1]
    finally:
        request_id.reset(token)


def test_green_thread_changes_do_not_leak_to_caller() -> None:
    token = request_id.set(1)
    try:
        spawn(request_id.set, 99).wait()
        assert request_id.get() == 1
    finally:
        request_id.reset(token)


def test_spawn_in_context_copies_callers_values() -> None:
    token = request_id.set(5)
    try:
        def body() -> tuple[int, int]:
            before = request_id.get()
            request_id.set(6)  # changes the copy only
            return before, request_id.get()

        assert spawn_in_context(body).wait() == (5, 6)
        assert request_id.get() == 5
    finally:
        request_id.reset(token)


def test_spawn_in_context_is_a_snapshot() -> None:
    token = request_id.set(1)
    try:
        gt = spawn_in_context(request_id.get)
        request_id.set(2)  # after the copy was taken
        assert gt.wait() == 1
    finally:
        request_id.reset(token)


def test_context_survives_switches() -> None:
    def body(i: int) -> int:
        request_id.set(i)
        sleep(0)
        sleep(0.001)
        return request_id.get()

    threads = [spawn(body, i) for i in range(10)]
    assert [gt.wait() for gt in threads] == list(range(10))


def test_many_green_threads_stay_isolated() -> None:
    start = Event[None]()
    rng = random.Random(1234)
    delays = [rng.choice((0, 0, 0.001)) for _ in range(200)]

    def body(i: int) -> list[int]:
        seen = [request_id.get(-1)]
        request_id.set(i)
        start.wait()
        for _ in range(3):
            sleep(delays[i])
            seen.append(request_id.get())
            request_id.set(i)
        return seen

    threads = [spawn(body, i) for i in range(200)]
    sleep(0)
    start.send()
    results = [gt.wait() for gt in threads]
    assert results == [[-1, i, i, i] for i in range(200)]
    assert request_id.get(-1) == -1
