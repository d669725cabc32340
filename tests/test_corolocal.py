"""greenlane.corolocal: green-thread-local storage."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest
from greenlet import greenlet

from greenlane.corolocal import get_ident, local
from greenlane.greenthread import getcurrent, sleep, spawn


def test_attributes_are_per_green_thread() -> None:
    data = local()
    data.x = "main"
    seen: list[Any] = []

    def worker(i: int) -> None:
        assert not hasattr(data, "x")
        data.x = i
        sleep(0)
        seen.append(data.x)

    threads = [spawn(worker, i) for i in range(3)]
    for gt in threads:
        gt.wait()
    assert sorted(seen) == [0, 1, 2]
    assert data.x == "main"


def test_delattr_and_dict() -> None:
    data = local()
    data.a = 1
    assert data.__dict__ == {"a": 1}
    del data.a
    with pytest.raises(AttributeError):
        data.a  # noqa: B018
    with pytest.raises(AttributeError):
        del data.a


def test_arguments_need_an_init() -> None:
    with pytest.raises(TypeError):
        local(1)


class Config(local):
    def __init__(self, value: int, *, name: str = "n") -> None:
        self.value = value
        self.name = name
        self.inits = getattr(self, "inits", 0) + 1

    def describe(self) -> str:
        return f"{self.name}={self.value}"


def test_subclass_init_runs_once_per_green_thread() -> None:
    cfg = Config(5, name="k")
    assert cfg.inits == 1  # once in the creating green thread (eventlet ran it twice)
    cfg.value = 6

    def worker() -> tuple[Any, ...]:
        first = (cfg.value, cfg.name, cfg.inits, cfg.describe())
        cfg.value = 7
        return first + (cfg.inits,)

    assert spawn(worker).wait() == (5, "k", 1, "k=5", 1)
    assert cfg.value == 6 and cfg.describe() == "k=6"


def test_slots_and_properties_of_subclass_are_shared_class_level() -> None:
    class WithProp(local):
        @property
        def doubled(self) -> int:
            return int(getattr(self, "v", 0)) * 2

    obj = WithProp()
    obj.v = 2
    assert obj.doubled == 4
    assert spawn(lambda: obj.doubled).wait() == 0


def test_dictionary_dropped_when_greenlet_collected() -> None:
    data = local()

    def worker() -> None:
        data.big = bytearray(10)

    g = greenlet(worker)
    g.switch()
    impl = object.__getattribute__(data, "_local__impl")
    assert id(g) in impl.dicts
    del g
    gc.collect()
    assert len(impl.dicts) == 1  # only the main greenlet's


def test_many_green_threads_do_not_leak() -> None:
    data = local()

    def worker(i: int) -> None:
        data.i = i

    for _ in range(3):
        threads = [spawn(worker, i) for i in range(50)]
        for gt in threads:
            gt.wait()
        del threads, gt
    gc.collect()
    impl = object.__getattribute__(data, "_local__impl")
    assert len(impl.dicts) <= 1


def test_local_object_collected_with_live_greenlets() -> None:
    import weakref

    data = local()
    data.x = 1
    ref = weakref.ref(data)
    del data
    gc.collect()
    assert ref() is None


def test_reused_id_does_not_see_old_values() -> None:
    # A new greenlet at the address of a dead one must start empty.
    data = local()

    def writer() -> None:
        data.secret = "old"

    def reader() -> bool:
        return hasattr(data, "secret")

    for _ in range(20):
        g = greenlet(writer)
        g.switch()
        del g
        h = greenlet(reader)
        assert h.switch() is False
        del h


def test_os_threads_are_separate() -> None:
    data = local()
    data.x = "main"
    seen: list[Any] = []

    def thread_main() -> None:
        seen.append(hasattr(data, "x"))
        data.x = "thread"
        seen.append(data.x)

    t = threading.Thread(target=thread_main)
    t.start()
    t.join()
    assert seen == [False, "thread"] and data.x == "main"


def test_get_ident() -> None:
    assert get_ident() == id(getcurrent())
    assert spawn(get_ident).wait() != get_ident()


def test_delattr_goes_through_data_descriptors() -> None:
    class WithDeleter(local):
        deleted: list[str] = []

        @property
        def p(self) -> int:
            return 1

        @p.deleter
        def p(self) -> None:
            self.deleted.append("p")

    obj = WithDeleter()
    del obj.p
    assert WithDeleter.deleted == ["p"]
    with pytest.raises(AttributeError):
        del obj.missing
