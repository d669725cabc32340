"""greenlane.dagpool: DAGPool, Collision, PropagateError."""

from __future__ import annotations

import pickle
from typing import Any, Iterator

import pytest

from greenlane.dagpool import Collision, DAGPool, PropagateError
from greenlane.event import Event
from greenlane.greenthread import sleep, spawn


def collect(key: Any, results: Iterator[tuple[Any, Any]], *extra: Any, **kw: Any) -> Any:
    got = dict(results)
    return (key, got, extra, kw)


def test_preload_forms() -> None:
    assert DAGPool({"a": 1}).waitall() == {"a": 1}
    assert DAGPool([("b", 2)]).waitall() == {"b": 2}
    assert DAGPool(c=3).waitall() == {"c": 3}
    assert DAGPool().waitall() == {}


def test_preload_is_copied() -> None:
    data = {"a": 1}
    pool = DAGPool(data)
    data["b"] = 2
    assert pool.keys() == ("a",)


def test_spawn_receives_dependencies() -> None:
    pool = DAGPool({"a": 1})
    pool.spawn("b", ["a"], lambda key, results: sum(v for _, v in results) + 1)
    pool.spawn("c", ["a", "b"], collect, "x", flag=True)
    result = pool.waitall()
    assert result["b"] == 2
    assert result["c"] == ("c", {"a": 1, "b": 2}, ("x",), {"flag": True})


def test_kwargs_named_like_wrapper_parameters() -> None:
    pool = DAGPool()
    pool.spawn("k", [], lambda key, results, function=None, args=None, kwds=None, depends=None:
               (function, args, kwds, depends), function=1, args=2, kwds=3, depends=4)
    assert pool["k"] == (1, 2, 3, 4)


def test_results_delivered_in_order_of_availability() -> None:
    pool = DAGPool()
    order: list[Any] = []

    def consumer(key: Any, results: Iterator[tuple[Any, Any]]) -> None:
        for k, _ in results:
            order.append(k)

    pool.spawn("c", ["x", "y", "z"], consumer)
    sleep(0)
    assert pool.waiting_for("c") == {"x", "y", "z"}
    pool.post("z", 1)
    sleep(0)
    pool.post("x", 2)
    sleep(0)
    pool.post("y", 3)
    pool.waitall()
    assert order == ["z", "x", "y"]


def test_wait_each_and_getitem() -> None:
    pool = DAGPool({"a": 1})
    pool.spawn("b", ["a"], lambda k, r: dict(r)["a"] * 10)
    assert dict(pool.wait_each(["a", "b"])) == {"a": 1, "b": 10}
    assert pool["b"] == 10
    assert list(pool.wait_each([])) == []


def test_wait_blocks_for_posts_from_outside() -> None:
    pool = DAGPool()
    got: list[Any] = []
    w = spawn(lambda: got.append(pool.wait(["p", "q"])))
    sleep(0)
    pool.post("p", 1)
    sleep(0)
    assert got == []
    pool.post("q", 2)
    w.wait()
    assert got == [{"p": 1, "q": 2}]


def test_exception_becomes_propagate_error_chain() -> None:
    pool = DAGPool()

    def fail(key: Any, results: Any) -> None:
        raise ValueError("bad input")

    def downstream(key: Any, results: Iterator[tuple[Any, Any]]) -> Any:
        return dict(results)

    pool.spawn("a", [], fail)
    pool.spawn("b", ["a"], downstream)
    with pytest.raises(PropagateError) as info:
        pool["b"]
    err = info.value
    assert err.key == "b" and isinstance(err.exc, PropagateError)
    assert err.exc.key == "a" and isinstance(err.exc.exc, ValueError)
    assert str(err.exc) == "PropagateError(a): ValueError: bad input"
    with pytest.raises(PropagateError):
        pool.wait()
    with pytest.raises(PropagateError):
        pool.get("a")
    with pytest.raises(PropagateError):
        pool.items()


def test_propagate_error_pickles() -> None:
    err = PropagateError("k", KeyError("x"))
    again = pickle.loads(pickle.dumps(err))
    assert again.key == "k" and isinstance(again.exc, KeyError)


def test_wait_each_success_and_exception() -> None:
    pool = DAGPool({"ok": 1})
    pool.spawn("bad", [], lambda k, r: 1 // 0)
    pool.spawn("good", [], lambda k, r: 2)
    assert dict(pool.wait_each_success()) == {"ok": 1, "good": 2}
    failures = dict(pool.wait_each_exception())
    assert list(failures) == ["bad"]
    assert isinstance(failures["bad"].exc, ZeroDivisionError)


def test_collisions() -> None:
    pool = DAGPool({"a": 1})
    with pytest.raises(Collision):
        pool.spawn("a", [], collect)
    with pytest.raises(Collision):
        pool.post("a", 2)
    pool.post("a", 3, replace=True)
    assert pool.get("a") == 3
    gate = Event[None]()
    pool.spawn("b", [], lambda k, r: gate.wait())
    with pytest.raises(Collision):
        pool.spawn("b", [], collect)
    with pytest.raises(Collision):
        pool.post("b", 1)
    gate.send(None)
    pool.waitall()
    assert str(Collision("zz")) == "zz"


def test_green_thread_may_post_its_own_key() -> None:
    pool = DAGPool()

    def early(key: Any, results: Any) -> str:
        pool.post(key, "posted")
        return "returned"

    pool.spawn("k", [], early)
    assert pool["k"] == "posted"


def test_spawn_many() -> None:
    pool = DAGPool({"root": 1})
    pool.spawn_many({"a": ["root"], "b": ["a"], "c": ["a", "b"]},
                    lambda k, r: sum(v for _, v in r) + 1)
    assert pool.waitall() == {"root": 1, "a": 2, "b": 3, "c": 6}
    with pytest.raises(Collision):
        pool.spawn_many({"d": [], "a": []}, collect)
    assert "d" in pool.running_keys() or "d" in pool.keys()


def test_running_waiting_and_waiting_for() -> None:
    pool = DAGPool()
    pool.spawn("a", ["x"], collect)
    pool.spawn("b", ["x", "y"], collect)
    sleep(0)
    assert pool.running() == 2 and set(pool.running_keys()) == {"a", "b"}
    assert pool.waiting() == 2
    assert pool.waiting_for() == {"a": {"x"}, "b": {"x", "y"}}
    pool.post("x", 0)
    assert pool.waiting_for("a") == set()
    assert pool.waiting_for() == {"b": {"y"}}
    assert pool.waiting_for("x") == set()
    with pytest.raises(KeyError):
        pool.waiting_for("nobody")
    pool.post("y", 0)
    pool.waitall()
    assert pool.running() == 0 and pool.waiting() == 0


def test_kill() -> None:
    pool = DAGPool()
    pool.spawn("a", ["never"], collect)
    sleep(0)
    pool.kill("a")
    assert pool.running() == 0
    with pytest.raises(KeyError):
        pool.kill("a")
    pool.post("a", "instead")
    assert pool.waitall() == {"a": "instead"}


def test_kill_before_start() -> None:
    pool = DAGPool()
    pool.spawn("a", [], collect)
    pool.kill("a")
    sleep(0)
    assert pool.running() == 0 and pool.keys() == ()


def test_get_keys_items() -> None:
    pool = DAGPool({"a": 1})
    assert pool.get("missing", "dflt") == "dflt"
    assert pool.keys() == ("a",) and pool.items() == (("a", 1),)
    assert "values=1" in repr(pool)


def test_killed_external_waiter_is_forgotten() -> None:
    pool = DAGPool()
    w = spawn(pool.wait, ["k"])
    sleep(0)
    w.kill()
    assert not pool._waiters
    pool.post("k", 1)
    assert pool.wait(["k"]) == {"k": 1}
