"""greenlane.greenpool: GreenPool and GreenPile."""

from __future__ import annotations

import gc
from typing import Any, Iterator

import pytest
from greenlet import GreenletExit, getcurrent

from greenlane.event import Event
from greenlane.greenpool import GreenPile, GreenPool
from greenlane.greenthread import GreenThread, kill, sleep, spawn
from greenlane.hubs import get_hub
from greenlane.timeout import Timeout


def test_spawn_returns_result() -> None:
    pool = GreenPool(4)
    gt = pool.spawn(lambda a, b=0: a + b, 1, b=2)
    assert isinstance(gt, GreenThread)
    assert gt.wait() == 3
    sleep(0)
    assert pool.running() == 0 and pool.free() == 4


def test_exception_crosses_wait() -> None:
    pool = GreenPool(2)

    def boom() -> None:
        raise KeyError("k")

    gt = pool.spawn(boom)
    with pytest.raises(KeyError):
        gt.wait()
    sleep(0)
    assert pool.running() == 0 and pool.free() == 2


@pytest.mark.parametrize("bad", [-1, -100])
def test_negative_size_rejected(bad: int) -> None:
    with pytest.raises(ValueError):
        GreenPool(bad)


def test_size_must_be_int_like() -> None:
    with pytest.raises(TypeError):
        GreenPool("lots")  # type: ignore[arg-type]
    assert GreenPool("3").size == 3  # type: ignore[arg-type]


def test_attributes() -> None:
    pool = GreenPool(7)
    assert pool.size == 7 and pool.coroutines_running == set()
    assert "size=7" in repr(pool)


def test_spawn_blocks_while_full() -> None:
    pool = GreenPool(2)
    gate = Event[None]()
    started: list[int] = []

    def task(i: int) -> int:
        started.append(i)
        gate.wait()
        return i

    a = pool.spawn(task, 0)
    b = pool.spawn(task, 1)
    assert pool.free() == 0 and pool.running() == 2
    log: list[str] = []

    def spawner() -> None:
        pool.spawn(task, 2)
        log.append("spawned")

    s = spawn(spawner)
    sleep(0)
    assert log == [] and pool.waiting() == 1 and started == [0, 1]
    gate.send(None)
    s.wait()
    assert log == ["spawned"]
    assert (a.wait(), b.wait()) == (0, 1)
    pool.waitall()
    assert started == [0, 1, 2] and pool.running() == 0 and pool.waiting() == 0


def test_waiting_spawns_served_fifo() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    order: list[int] = []
    spawners = [spawn(pool.spawn, order.append, i) for i in range(5)]
    sleep(0)
    assert pool.waiting() == 5
    gate.send(None)
    for s in spawners:
        s.wait()
    pool.waitall()
    assert order == [0, 1, 2, 3, 4]


def test_spawn_inside_full_pool_runs_inline() -> None:
    pool = GreenPool(1)
    inner: list[Any] = []

    def outer() -> str:
        gt = pool.spawn(lambda: getcurrent())
        inner.append(gt.wait())
        failed = pool.spawn(lambda: 1 / 0)  # not raised here: kept in the GreenThread
        with pytest.raises(ZeroDivisionError):
            failed.wait()
        return "outer"

    gt = pool.spawn(outer)
    assert gt.wait() == "outer"
    assert inner == [gt]  # ran in the outer green thread itself
    pool.waitall()


def test_spawn_n_runs_and_frees_slot() -> None:
    pool = GreenPool(2)
    ran: list[int] = []
    assert pool.spawn_n(ran.append, 1) is None
    pool.spawn_n(lambda x, y=0: ran.append(x + y), 2, y=3)
    assert pool.running() == 2
    pool.waitall()
    assert ran == [1, 5] and pool.free() == 2


def test_spawn_n_exception_reported_by_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[str] = []
    hub = get_hub()
    monkeypatch.setattr(hub, "exception_reporter", lambda where, culprit: reported.append(where))
    pool = GreenPool(2)

    def boom() -> None:
        raise ValueError("x")

    pool.spawn_n(boom)
    pool.waitall()
    sleep(0)
    assert reported == ["green thread"]
    assert pool.running() == 0 and pool.free() == 2


def test_spawn_n_inline_in_full_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[str] = []
    monkeypatch.setattr(get_hub(), "exception_reporter", lambda w, c: reported.append(w))
    pool = GreenPool(1)
    ran: list[Any] = []

    def outer() -> None:
        pool.spawn_n(lambda: ran.append(getcurrent()))
        pool.spawn_n(lambda: 1 / 0)
        ran.append("after")

    gt = pool.spawn(outer)
    gt.wait()
    assert ran == [gt, "after"] and reported == ["green thread"]
    pool.waitall()


def test_waitall() -> None:
    pool = GreenPool(10)
    done: list[int] = []

    def task(i: int) -> None:
        for _ in range(i):
            sleep(0)
        done.append(i)

    for i in range(5):
        pool.spawn(task, i)
    pool.waitall()
    assert sorted(done) == [0, 1, 2, 3, 4]
    pool.waitall()  # nothing running: returns at once


def test_waitall_includes_waiting_spawns() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    done: list[str] = []
    pool.spawn(gate.wait)
    s = spawn(pool.spawn, done.append, "late")
    sleep(0)
    w = spawn(pool.waitall)
    sleep(0)
    gate.send(None)
    w.wait()
    assert done == ["late"]
    s.wait()


def test_waitall_from_inside_raises() -> None:
    pool = GreenPool(2)
    gt = pool.spawn(pool.waitall)
    with pytest.raises(RuntimeError) as info:
        gt.wait()
    # Also eventlet's AssertionError, so that code catching that still does.
    assert isinstance(info.value, AssertionError)


def test_many_waitall_callers() -> None:
    pool = GreenPool(2)
    gate = Event[None]()
    pool.spawn(gate.wait)
    woke: list[int] = []
    waiters = [spawn(lambda i=i: (pool.waitall(), woke.append(i))) for i in range(3)]
    sleep(0)
    gate.send(None)
    for w in waiters:
        w.wait()
    assert woke == [0, 1, 2]


def test_kill_waitall_caller() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    w = spawn(pool.waitall)
    sleep(0)
    w.kill()
    assert not pool._idle_waiters
    gate.send(None)
    pool.waitall()


def test_resize_up_starts_waiting_spawns() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    started: list[int] = []
    spawners = [spawn(pool.spawn, started.append, i) for i in range(3)]
    sleep(0)
    assert pool.waiting() == 3
    pool.resize(3)
    assert pool.size == 3
    sleep(0)
    sleep(0)
    assert started == [0, 1] and pool.waiting() == 1
    gate.send(None)
    for s in spawners:
        s.wait()
    pool.waitall()
    assert started == [0, 1, 2]


def test_resize_down_waits_for_running() -> None:
    pool = GreenPool(3)
    gates = [Event[None]() for _ in range(3)]
    for g in gates:
        pool.spawn(g.wait)
    pool.resize(1)
    assert pool.free() == -2
    started: list[str] = []
    s = spawn(pool.spawn, started.append, "new")
    sleep(0)
    gates[0].send(None)
    gates[1].send(None)
    sleep(0)
    sleep(0)
    assert started == [] and pool.free() == 0
    gates[2].send(None)
    s.wait()
    pool.waitall()
    assert started == ["new"] and pool.free() == 1


def test_resize_negative_rejected() -> None:
    with pytest.raises(ValueError):
        GreenPool(2).resize(-1)


def test_kill_blocked_spawner_leaves_pool_consistent() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    ran: list[str] = []
    a = spawn(pool.spawn, ran.append, "a")
    b = spawn(pool.spawn, ran.append, "b")
    sleep(0)
    a.kill()
    assert pool.waiting() == 1
    gate.send(None)
    b.wait()
    pool.waitall()
    assert ran == ["b"] and pool.free() == 1 and pool.waiting() == 0


def test_killed_spawner_lets_waitall_return() -> None:
    # Nothing runs; a spawner waits on a pool of size 0; waitall waits for it; killing the
    # spawner must let waitall return.
    pool = GreenPool(0)
    s = spawn(pool.spawn, lambda: None)
    sleep(0)
    w = spawn(pool.waitall)
    sleep(0)
    assert not w.dead
    s.kill()
    w.wait()


def test_spawner_hit_by_timeout_after_slot_freed_passes_slot_on() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    ran: list[str] = []

    def timed() -> None:
        with Timeout(10):
            pool.spawn(ran.append, "a")

    a = spawn(timed)
    b = spawn(pool.spawn, ran.append, "b")
    sleep(0)
    gate.send(None)
    sleep(0)  # the first task finished: its slot is on its way to `a`
    kill(a, Timeout())
    b.wait()
    pool.waitall()
    assert ran == ["b"] and pool.free() == 1


def test_kill_running_pool_thread_frees_slot() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    gt = pool.spawn(gate.wait)
    sleep(0)
    gt.kill()
    assert pool.running() == 0 and pool.free() == 1
    with pytest.raises(GreenletExit):
        gt.wait()


def test_kill_not_started_pool_thread_frees_slot() -> None:
    pool = GreenPool(1)
    ran: list[int] = []
    gt = pool.spawn(ran.append, 1)
    gt.kill()
    assert pool.running() == 0 and pool.free() == 1
    sleep(0)
    assert ran == []


# ---------------------------------------------------------------------- imap / starmap

def test_imap_keeps_order() -> None:
    pool = GreenPool(4)

    def slow_square(x: int) -> int:
        for _ in range(5 - x % 5):
            sleep(0)
        return x * x

    assert list(pool.imap(slow_square, range(20))) == [x * x for x in range(20)]
    pool.waitall()


def test_imap_iterator_has_eventlets_next_method() -> None:
    # eventlet's imap iterator is a GreenPile, whose next() is public API.
    pool = GreenPool(2)
    it = pool.imap(abs, [-1, -2])
    assert it.next() == 1  # type: ignore[attr-defined]
    assert next(it) == 2
    with pytest.raises(StopIteration):
        it.next()  # type: ignore[attr-defined]
    with pytest.raises(StopIteration):
        pool.imap(abs, []).next()  # type: ignore[attr-defined]


def test_imap_several_iterables_and_none() -> None:
    pool = GreenPool(3)
    assert list(pool.imap(pow, [2, 3], [3, 2])) == [8, 9]
    assert list(pool.imap(None, "ab", [1, 2])) == [("a", 1), ("b", 2)]
    assert list(pool.starmap(None, [(1, 2)])) == [(1, 2)]
    assert list(pool.imap(abs, [])) == []


def test_starmap() -> None:
    pool = GreenPool(2)
    assert list(pool.starmap(lambda a, b: a - b, [(5, 1), (3, 3)])) == [4, 0]


def test_imap_exception_at_position_and_continue() -> None:
    pool = GreenPool(3)

    def f(x: int) -> int:
        if x == 2:
            raise ValueError(x)
        return x

    it = pool.imap(f, range(5))
    assert next(it) == 0 and next(it) == 1
    with pytest.raises(ValueError):
        next(it)
    assert list(it) == [3, 4]
    pool.waitall()


def test_imap_input_error_raised_by_next() -> None:
    pool = GreenPool(3)

    def items() -> Iterator[tuple[int]]:
        yield (1,)
        raise OSError("input broke")

    it = pool.starmap(lambda x: x, items())
    assert next(it) == 1
    with pytest.raises(OSError, match="input broke"):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    pool.waitall()


def test_imap_flow_control() -> None:
    # At most `size` results wait for the consumer; the input is read lazily.
    pool = GreenPool(2)
    read: list[int] = []

    def source() -> Iterator[int]:
        for i in range(100):
            read.append(i)
            yield i

    it = pool.imap(lambda x: x, source())
    for _ in range(10):
        sleep(0)
    assert len(read) <= 2 + 2 + 1
    assert next(it) == 0
    assert list(it) == list(range(1, 100))


def test_abandoned_imap_stops_its_mapper() -> None:
    pool = GreenPool(2)
    read: list[int] = []

    def source() -> Iterator[int]:
        for i in range(1000):
            read.append(i)
            yield i

    it = pool.imap(lambda x: x, source())
    assert next(it) == 0
    mapper = it._mapper  # type: ignore[attr-defined]
    del it
    gc.collect()
    for _ in range(5):
        sleep(0)
    assert mapper.dead
    pool.waitall()
    assert len(read) < 20


# ---------------------------------------------------------------------- GreenPile

def test_pile_results_in_spawn_order() -> None:
    pile: GreenPile[int] = GreenPile(10)

    def f(i: int) -> int:
        for _ in range(10 - i):
            sleep(0)
        return i

    for i in range(10):
        pile.spawn(f, i)
    assert list(pile) == list(range(10))
    assert list(pile) == []


def test_pile_exception_crosses_next() -> None:
    pile: GreenPile[int] = GreenPile(3)
    pile.spawn(lambda: 1)
    pile.spawn(lambda: 1 // 0)
    pile.spawn(lambda: 3)
    assert next(pile) == 1
    with pytest.raises(ZeroDivisionError):
        next(pile)
    assert pile.next() == 3
    with pytest.raises(StopIteration):
        next(pile)


def test_pile_shares_pool_and_can_be_refilled() -> None:
    pool = GreenPool(2)
    pile: GreenPile[str] = GreenPile(pool)
    assert pile.pool is pool
    pile.spawn(str, 1)
    assert list(pile) == ["1"]
    pile.spawn(str, 2)
    pile.spawn(str, 3)
    assert pile.counter == 2
    assert list(pile) == ["2", "3"]


def test_pile_spawn_killed_while_pool_full() -> None:
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    pile: GreenPile[int] = GreenPile(pool)
    s = spawn(pile.spawn, int, 5)
    sleep(0)
    assert pile.counter == 1
    s.kill()
    assert pile.counter == 0
    gate.send(None)
    assert list(pile) == []
    pool.waitall()


def test_waitall_not_woken_while_a_slot_is_being_handed_over() -> None:
    # The last running green thread ends and hands its slot to a waiting spawner: the pool
    # is not idle, even though nothing runs and nobody is queued at that instant.
    pool = GreenPool(1)
    gate = Event[None]()
    pool.spawn(gate.wait)
    ran: list[str] = []
    spawner = spawn(pool.spawn, ran.append, "second")
    done: list[list[str]] = []
    waiter = spawn(lambda: (pool.waitall(), done.append(list(ran))))
    sleep(0)
    assert pool.waiting() == 1
    gate.send(None)
    waiter.wait()
    assert done == [["second"]]  # waitall returned only after the handed-over spawn ran
    spawner.wait()
