"""``greenlane.green.threading``'s classes without patching (the test process is unpatched).

python-engineio's eventlet driver and Flask-SocketIO import ``eventlet.green.threading.Event``
and wait on it from green threads without ever patching: each class here must wait by
switching green threads, never by blocking the OS thread (which would also block the green
thread that was meant to wake it).
"""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest

import greenlane
from greenlane import _originals
from greenlane.green import threading as gthreading

# Long enough that a blocking wait would be obvious, short enough to bound a failing test.
WAIT = 2.0


def test_the_stdlib_is_not_patched_here() -> None:
    # What the rest of this module relies on: the stdlib's classes are the real ones.
    assert threading.Event is not gthreading.Event
    assert threading.Thread.start.__globals__ is vars(threading)


@pytest.mark.parametrize("name", ["Condition", "Semaphore", "BoundedSemaphore", "Event",
                                  "Barrier", "Thread", "Timer"])
def test_each_class_is_a_green_subclass_of_the_stdlibs(name: str) -> None:
    green, real = getattr(gthreading, name), getattr(threading, name)
    assert green is not real and issubclass(green, real)
    assert green.__module__ == "greenlane.green.threading" and green.__doc__


def test_event_wait_lets_the_setter_run() -> None:
    event = gthreading.Event()
    ran: List[str] = []

    def setter() -> None:
        ran.append("setter")
        event.set()

    greenlane.spawn(setter)
    start = time.monotonic()
    assert event.wait(WAIT) is True
    assert ran == ["setter"] and time.monotonic() - start < WAIT / 2
    assert event.is_set()
    event.clear()
    assert event.wait(0.01) is False


def test_condition_notify_and_wait_for() -> None:
    cond = gthreading.Condition()
    items: List[int] = []

    def producer() -> None:
        for n in range(3):
            with cond:
                items.append(n)
                cond.notify()
            greenlane.sleep(0)

    greenlane.spawn(producer)
    with cond:
        assert cond.wait_for(lambda: len(items) == 3, timeout=WAIT)
    assert items == [0, 1, 2]


def test_semaphores_hand_over_between_green_threads() -> None:
    sem = gthreading.BoundedSemaphore(1)
    assert sem.acquire()
    greenlane.spawn_after(0.01, sem.release)
    assert sem.acquire(timeout=WAIT) is True
    sem.release()
    with pytest.raises(ValueError):
        sem.release()
    plain = gthreading.Semaphore(0)
    assert plain.acquire(timeout=0.01) is False
    greenlane.spawn(plain.release, 2)
    assert plain.acquire(timeout=WAIT) and plain.acquire(timeout=WAIT)


def test_barrier_of_green_threads() -> None:
    barrier = gthreading.Barrier(3)
    waiters = [greenlane.spawn(barrier.wait, WAIT) for _ in range(3)]
    assert sorted(w.wait() for w in waiters) == [0, 1, 2]


def test_threads_are_green_threads_in_this_os_thread() -> None:
    seen: List[Any] = []

    def work(n: int) -> None:
        greenlane.sleep(0.1)
        me = gthreading.current_thread()
        seen.append((n, me.name, _originals.get_ident()))

    threads = [gthreading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(5)]
    start = time.monotonic()
    for t in threads:
        t.start()
    assert all(t.is_alive() for t in threads)
    assert threading.active_count() >= 6
    for t in threads:
        t.join(WAIT)
    # One after the other: 0.5 s; the sleeps overlap when the threads are green.
    assert time.monotonic() - start < 0.4
    assert sorted(seen) == [(n, f"w{n}", _originals.get_ident()) for n in range(5)]
    assert not any(t.is_alive() for t in threads)
    assert all(t not in threading.enumerate() for t in threads)


def test_join_with_a_timeout_and_subclassing() -> None:
    gate = gthreading.Event()

    class Waiter(gthreading.Thread):  # type: ignore[misc]
        def run(self) -> None:
            gate.wait()

    waiter = Waiter(daemon=True)
    waiter.start()
    waiter.join(0.02)
    assert waiter.is_alive()
    gate.set()
    waiter.join(WAIT)
    assert not waiter.is_alive()


def test_timer_fires_and_can_be_cancelled() -> None:
    fired: List[str] = []
    timer = gthreading.Timer(0.02, fired.append, args=("a",))
    timer.start()
    timer.join(WAIT)
    assert fired == ["a"]
    cancelled = gthreading.Timer(WAIT, fired.append, args=("b",))
    cancelled.start()
    cancelled.cancel()
    cancelled.join(WAIT)
    assert fired == ["a"] and not cancelled.is_alive()
