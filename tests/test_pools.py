"""greenlane.pools: Pool and TokenPool."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from greenlane.greenthread import kill, sleep, spawn
from greenlane.hubs import get_hub
from greenlane.hubs.hub import READY_BATCH
from greenlane.pools import Pool, Token, TokenPool
from greenlane.timeout import Timeout


class Counter(Pool[int]):
    def __init__(self, *args: Any, **kw: Any) -> None:
        self.made = itertools.count()
        super().__init__(*args, **kw)

    def create(self) -> int:
        return next(self.made)


def _noop() -> None:
    pass


def test_create_on_demand_up_to_max() -> None:
    pool = Counter(max_size=2)
    assert pool.free() == 2 and pool.current_size == 0
    a, b = pool.get(), pool.get()
    assert (a, b) == (0, 1) and pool.free() == 0 and pool.current_size == 2
    pool.put(a)
    assert pool.free() == 1
    assert pool.get() == 0


def test_min_size_created_up_front() -> None:
    pool = Counter(min_size=3, max_size=4)
    assert pool.current_size == 3 and list(pool.free_items) == [0, 1, 2]
    assert pool.free() == 4


def test_create_argument() -> None:
    made = itertools.count(100)
    pool: Pool[int] = Pool(max_size=1, create=lambda: next(made))
    assert pool.get() == 100


def test_create_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        Pool().get()


def test_failed_create_releases_its_slot() -> None:
    calls = [0]

    def flaky() -> int:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError("no connection")
        return calls[0]

    pool: Pool[int] = Pool(max_size=1, create=flaky)
    with pytest.raises(OSError):
        pool.get()
    assert pool.current_size == 0 and pool.free() == 1
    assert pool.get() == 2


def test_queue_and_stack_order() -> None:
    fifo = Counter(min_size=3, max_size=3)
    items = [fifo.get() for _ in range(3)]
    for i in items:
        fifo.put(i)
    assert fifo.get() == 0
    lifo = Counter(min_size=3, max_size=3, order_as_stack=True)
    items = [lifo.get() for _ in range(3)]
    for i in items:
        lifo.put(i)
    assert lifo.get() == 2


def test_item_context_manager() -> None:
    pool = Counter(max_size=1)
    with pool.item() as obj:
        assert obj == 0 and pool.free() == 0
    assert pool.free() == 1
    with pytest.raises(KeyError):
        with pool.item():
            raise KeyError
    assert pool.free() == 1 and list(pool.free_items) == [0]


def test_get_waits_for_put_fifo() -> None:
    pool = Counter(max_size=1)
    item = pool.get()
    got: list[Any] = []
    waiters = [spawn(lambda i=i: got.append((i, pool.get()))) for i in range(3)]
    sleep(0)
    assert pool.waiting() == 3
    pool.put(item)
    sleep(0)
    pool.put(got[-1][1])
    sleep(0)
    pool.put(got[-1][1])
    for w in waiters:
        w.wait()
    assert got == [(0, 0), (1, 0), (2, 0)]
    assert pool.waiting() == 0


def test_killed_waiter_after_put_item_goes_to_next() -> None:
    pool = Counter(max_size=1)
    item = pool.get()
    got: list[Any] = []
    a = spawn(lambda: got.append(("a", pool.get())))
    b = spawn(lambda: got.append(("b", pool.get())))
    sleep(0)
    pool.put(item)
    kill(a)
    b.wait()
    assert got == [("b", 0)]
    assert pool.waiting() == 0 and pool.current_size == 1


def test_only_waiter_killed_item_stays_free() -> None:
    pool = Counter(max_size=1)
    item = pool.get()
    a = spawn(pool.get)
    sleep(0)
    pool.put(item)
    kill(a)
    sleep(0)
    assert list(pool.free_items) == [0] and pool.free() == 1


def test_timeout_beats_hand_off_item_goes_to_next() -> None:
    pool = Counter(max_size=1)
    item = pool.get()
    got: list[Any] = []

    def timed() -> None:
        try:
            with Timeout(0.01):
                got.append(("a", pool.get()))
        except Timeout:
            got.append(("a", "timeout"))

    a = spawn(timed)
    b = spawn(lambda: got.append(("b", pool.get())))
    sleep(0)
    time.sleep(0.015)
    ready = get_hub()._ready
    for _ in range(READY_BATCH + 10):
        ready.append((_noop, ()))
    pool.put(item)
    a.wait()
    b.wait()
    assert got == [("a", "timeout"), ("b", 0)]


def test_resize_up_lets_waiters_create() -> None:
    pool = Counter(max_size=1)
    pool.get()
    got: list[int] = []
    waiters = [spawn(lambda: got.append(pool.get())) for _ in range(2)]
    sleep(0)
    pool.resize(3)
    for w in waiters:
        w.wait()
    assert got == [1, 2] and pool.current_size == 3 and pool.free() == 0


def test_resize_down_drops_surplus_on_put() -> None:
    pool = Counter(max_size=3)
    items = [pool.get() for _ in range(3)]
    pool.resize(1)
    assert pool.free() == -2
    pool.put(items[0])
    pool.put(items[1])
    assert pool.current_size == 1 and not pool.free_items
    pool.put(items[2])
    assert list(pool.free_items) == [2] and pool.free() == 1


def test_waiter_create_failure_passes_slot_on() -> None:
    calls = [0]

    def flaky() -> int:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError("boom")
        return calls[0]

    pool: Pool[int] = Pool(max_size=1, create=flaky)
    pool.get()
    results: list[Any] = []

    def get() -> None:
        try:
            results.append(pool.get())
        except OSError as e:
            results.append(str(e))

    waiters = [spawn(get), spawn(get)]
    sleep(0)
    pool.resize(2)
    for w in waiters:
        w.wait()
    assert results == ["boom", 3] and pool.current_size == 2


def test_token_pool() -> None:
    pool = TokenPool(max_size=2)
    t1, t2 = pool.get(), pool.get()
    assert isinstance(t1, Token) and t1 is not t2
    gt = spawn(pool.get)
    sleep(0)
    assert pool.waiting() == 1
    pool.put(t1)
    assert gt.wait() is t1
    assert "size=2/2" in repr(pool)
