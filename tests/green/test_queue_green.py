"""greenlane.green.queue: stdlib queue semantics on green threads (used without patching)."""

from __future__ import annotations

import importlib.util
import queue as stdqueue
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from greenlane.green import queue
from greenlane.greenthread import sleep, spawn


def test_stdlib_exceptions_and_unbounded_default() -> None:
    assert queue.Empty is stdqueue.Empty and queue.Full is stdqueue.Full
    q: queue.Queue[int] = queue.Queue()  # maxsize 0: unbounded, not a channel
    for i in range(1000):
        q.put_nowait(i)
    assert q.qsize() == 1000 and not q.full()
    assert queue.Queue(-3).full() is False


def test_bounded_put_waits_and_times_out() -> None:
    q: queue.Queue[str] = queue.Queue(1)
    q.put("a")
    assert q.full()
    with pytest.raises(queue.Full):
        q.put("b", block=False)
    start = time.monotonic()
    with pytest.raises(queue.Full):
        q.put("b", timeout=0.03)
    assert time.monotonic() - start >= 0.025
    getter = spawn(lambda: (sleep(0.01), q.get())[1])
    q.put("c", timeout=5)  # room appears when the getter takes "a"
    assert getter.wait() == "a" and q.get_nowait() == "c"


def test_get_timeout_and_argument_check() -> None:
    q: queue.Queue[int] = queue.Queue()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    with pytest.raises(ValueError):
        q.put(1, timeout=-1)


def test_producer_consumer_with_join() -> None:
    q: queue.Queue[Any] = queue.Queue(2)
    seen: list[int] = []

    def consumer() -> None:
        while True:
            item = q.get()
            if item is None:
                q.task_done()
                return
            seen.append(item)
            q.task_done()

    c = spawn(consumer)
    for i in range(10):
        q.put(i)
    q.put(None)
    q.join()
    c.wait()
    assert seen == list(range(10))
    with pytest.raises(ValueError):
        q.task_done()


def test_lifo_and_priority_order() -> None:
    lifo: queue.LifoQueue[int] = queue.LifoQueue()
    prio: queue.PriorityQueue[int] = queue.PriorityQueue()
    for i in (3, 1, 2):
        lifo.put(i)
        prio.put(i)
    assert [lifo.get() for _ in range(3)] == [2, 1, 3]
    assert [prio.get() for _ in range(3)] == [1, 2, 3]


def test_simple_queue() -> None:
    q: queue.SimpleQueue[int] = queue.SimpleQueue()
    q.put(1, block=False, timeout=3)
    q.put_nowait(2)
    assert q.qsize() == 2 and not q.empty()
    assert [q.get(), q.get_nowait()] == [1, 2]
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(ValueError):
        q.get(timeout=-2)
    waiter = spawn(q.get)
    sleep(0)
    q.put(7)
    assert waiter.wait() == 7
    assert queue.SimpleQueue[int] is not None  # generic, like the C class


def test_shutdown_wakes_waiters_and_refuses_puts() -> None:
    q: queue.Queue[int] = queue.Queue(1)
    getters_q: queue.Queue[int] = queue.Queue()
    q.put(1)
    blocked_put = spawn(q.put, 2)
    blocked_get = spawn(getters_q.get)
    sleep(0)
    q.shutdown()
    getters_q.shutdown()
    with pytest.raises(queue.ShutDown):
        blocked_put.wait()
    with pytest.raises(queue.ShutDown):
        blocked_get.wait()
    with pytest.raises(queue.ShutDown):
        q.put(3)
    assert q.get() == 1  # items already queued are still handed out
    with pytest.raises(queue.ShutDown):
        q.get()


def test_immediate_shutdown_drops_items_and_releases_join() -> None:
    q: queue.Queue[int] = queue.Queue()
    for i in range(3):
        q.put(i)
    joiner = spawn(q.join)
    sleep(0)
    q.shutdown(immediate=True)
    joiner.wait()
    assert q.qsize() == 0
    with pytest.raises(queue.ShutDown):
        q.get(block=False)


def test_simple_queue_put_is_reentrant() -> None:
    # bpo-14976: a put made by a __del__ that the garbage collector runs during another put
    # must not overtake it (the C class guarantees this; concurrent.futures relies on it).
    import gc

    if not hasattr(gc, "set_threshold"):
        pytest.skip("no gc.set_threshold (PyPy): nothing makes the collector run inside put")
    q: queue.SimpleQueue[int] = queue.SimpleQueue()
    counter = iter(range(10**9))

    class Circular:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            q.put(next(counter))

    results = []
    gc.set_threshold(1)
    try:
        for _ in range(2000):
            Circular()
            q.put(next(counter))
            results.append(q.get())
    finally:
        gc.set_threshold(700, 10, 10)
    while not q.empty():
        results.append(q.get())
    assert results == sorted(results)


@pytest.mark.parametrize("cls", [queue.Queue, queue.LifoQueue, queue.PriorityQueue])
def test_immediate_shutdown_drops_items_of_every_queue_kind(cls: Any) -> None:
    q = cls()
    for i in (2, 1, 3):
        q.put(i)
    assert q.get() == {queue.Queue: 2, queue.LifoQueue: 3, queue.PriorityQueue: 1}[cls]
    q.shutdown(immediate=True)
    assert q.qsize() == 0 and q.empty()
    assert q.unfinished_tasks == 1  # the item taken before shutdown is not done yet
    q.task_done()
    assert q.join(timeout=0) is True
    with pytest.raises(queue.ShutDown):
        q.get_nowait()


def test_shutdown_keeps_promised_items_for_waiting_getters() -> None:
    q: queue.Queue[int] = queue.Queue()
    first = spawn(q.get)
    second = spawn(q.get)
    sleep(0)  # both wait in get()
    q.put(1)  # promised to `first`, which has not run yet
    q.shutdown()
    # `second` was woken with nothing to take: it holds no claim, so nothing is negative.
    assert q.qsize() == 0 and q.empty()
    # A new get neither takes `first`'s item nor waits for puts that cannot come.
    with pytest.raises(queue.ShutDown):
        q.get(timeout=5)
    assert first.wait() == 1
    with pytest.raises(queue.ShutDown):
        second.wait()


# CPython's own test_queue, its "pure Python" classes pointed at greenlane.green.queue, in a
# patched subprocess (the tests start threading.Thread workers, which must be green threads for
# green queues). The tests whose readers poll get(block=False) in a loop until another thread
# calls shutdown() are left out: they need preemptive threads.
_STDLIB_QUEUE_TESTS = """
import greenlane
greenlane.monkey_patch()
import sys, types, unittest
from greenlane.green import queue as gq
from test import test_queue as tq
ns = types.SimpleNamespace(
    Queue=gq.Queue, LifoQueue=gq.LifoQueue, PriorityQueue=gq.PriorityQueue,
    SimpleQueue=gq.SimpleQueue, _PySimpleQueue=gq.SimpleQueue, Empty=gq.Empty, Full=gq.Full,
    ShutDown=gq.ShutDown)
suite = unittest.TestSuite()
for name in ("PyQueueTest", "PyLifoQueueTest", "PyPriorityQueueTest", "PySimpleQueueTest"):
    cls = getattr(tq, name)
    cls.queue = ns
    for method in unittest.defaultTestLoader.getTestCaseNames(cls):
        if not method.endswith("_in_many_threads"):
            suite.addTest(cls(method))
result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
print("RAN", result.testsRun)
sys.exit(0 if result.wasSuccessful() else 1)
"""


def test_cpython_test_queue_passes_against_the_green_queues() -> None:
    if importlib.util.find_spec("test.test_queue") is None:
        pytest.skip("this interpreter has no 'test' package (CPython's own tests)")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_STDLIB_QUEUE_TESTS)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    ran = int(done.stdout.rsplit("RAN ", 1)[1].split()[0])
    assert ran >= 20, done.stdout  # the four classes were found and run
