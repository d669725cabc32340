"""greenlane.lock.Lock: a Semaphore(1) with threading.Lock release semantics."""

from __future__ import annotations

import time
from typing import Any

import pytest

from greenlane.greenthread import kill, sleep, spawn
from greenlane.hubs import get_hub
from greenlane.lock import Lock
from greenlane.semaphore import Semaphore
from greenlane.timeout import Timeout


def test_acquire_release_locked() -> None:
    lock = Lock()
    assert isinstance(lock, Semaphore)
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    assert lock.acquire(blocking=False) is False
    assert lock.release() is True
    assert not lock.locked()


def test_release_unlocked_raises_runtime_error() -> None:
    lock = Lock()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    lock.acquire()
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    assert lock.counter == 1


def test_takes_no_arguments() -> None:
    with pytest.raises(TypeError):
        Lock(2)  # type: ignore[call-arg]


def test_context_manager() -> None:
    lock = Lock()
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_any_green_thread_may_release() -> None:
    lock = Lock()
    lock.acquire()
    spawn(lock.release).wait()
    assert not lock.locked()


def test_threading_style_timeouts() -> None:
    lock = Lock()
    lock.acquire()
    assert lock.acquire(timeout=0.01) is False
    assert lock.acquire(blocking=False, timeout=-1) is False
    spawn(lock.release)
    assert lock.acquire(timeout=-1) is True


def test_mutual_exclusion_and_fifo() -> None:
    lock = Lock()
    inside: list[int] = []
    order: list[int] = []

    def worker(i: int) -> None:
        with lock:
            inside.append(i)
            assert len(inside) == 1
            order.append(i)
            sleep(0)
            inside.remove(i)

    threads = [spawn(worker, i) for i in range(8)]
    for gt in threads:
        gt.wait()
    assert order == list(range(8))


def test_release_while_handing_off_raises() -> None:
    # After release() the lock is on its way to the waiter: releasing again is a bug.
    lock = Lock()
    lock.acquire()
    waiter = spawn(lock.acquire)
    sleep(0)
    lock.release()
    assert lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    assert waiter.wait() is True
    assert lock.locked()
    lock.release()


def test_killed_waiter_does_not_keep_the_lock() -> None:
    lock = Lock()
    lock.acquire()
    log: list[Any] = []
    a = spawn(lambda: log.append(("a", lock.acquire())))
    b = spawn(lambda: log.append(("b", lock.acquire())))
    sleep(0)
    lock.release()
    kill(a)
    b.wait()
    assert log == [("b", True)]
    lock.release()
    assert not lock.locked()


def test_timeout_thrown_into_waiter() -> None:
    lock = Lock()
    lock.acquire()
    start = time.monotonic()
    with Timeout(0.01, False):
        lock.acquire()
    assert time.monotonic() - start >= 0.005
    assert not lock._waiters
    assert get_hub().get_timers_count() == 0
    lock.release()
    assert not lock.locked()


def test_at_fork_reinit_unlocks() -> None:
    lock = Lock()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked()
    assert lock.acquire(blocking=False)


def test_lock_handed_to_waiter_is_not_stolen_by_a_newcomer() -> None:
    lock = Lock()
    lock.acquire()
    inside: list[str] = []

    def critical(name: str) -> None:
        with lock:
            inside.append(name)
            sleep(0)
            assert inside[-1] == name  # nobody else entered meanwhile
            inside.append(name)

    first = spawn(critical, "first")
    sleep(0)
    lock.release()  # handed to `first`, which has not run yet
    assert lock.locked() and lock.acquire(blocking=False) is False
    second = spawn(critical, "second")
    first.wait()
    second.wait()
    assert inside == ["first", "first", "second", "second"]
    assert not lock.locked()
