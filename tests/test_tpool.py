"""greenlane.tpool: calls in real OS threads, results back through the hub's thread-safe wake-up."""

from __future__ import annotations

import contextvars
import copy
import os
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from greenlane import _originals as real
from greenlane import tpool
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from greenlane.timeout import Timeout

WAIT = 10.0  # upper bound for real-thread hand-offs that normally take microseconds


def _run_script_env() -> dict[str, str]:
    """The environment for a child interpreter, without the pool size variables."""
    return {key: value for key, value in os.environ.items()
            if key not in ("GREENLANE_THREADPOOL_SIZE", "EVENTLET_THREADPOOL_SIZE")}


def _run_script(code: str, env: dict[str, str] | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = _run_script_env()
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=full_env)


@pytest.fixture
def pool_size() -> Iterator[None]:
    """Restore the pool to its default size after a test that changes it."""
    yield
    tpool.set_num_threads(tpool.DEFAULT_SIZE)


def _spins(gt: Any, turns: int = 5) -> bool:
    for _ in range(turns):
        sleep(0)
    return not gt.dead


def test_execute_returns_the_result_computed_in_another_thread() -> None:
    def where(a: int, b: int = 0) -> tuple[int, int]:
        return a + b, threading.get_ident()

    total, ident = tpool.execute(where, 40, b=2)
    assert total == 42
    assert ident != threading.get_ident()


def test_only_the_calling_green_thread_waits() -> None:
    gate = threading.Event()
    gt = spawn(tpool.execute, gate.wait, WAIT)
    ticks = []
    ticker = spawn(lambda: [ticks.append(i) or sleep(0.001) for i in range(20)])
    ticker.wait()
    assert len(ticks) == 20  # the hub kept running other green threads
    assert not gt.dead
    gate.set()
    assert gt.wait() is True
    # A test that leaves listeners or timers on the hub fails in conftest's hygiene check.


def test_calls_run_concurrently_in_several_threads() -> None:
    barrier = threading.Barrier(8, timeout=WAIT)  # unpatched here: a real barrier
    gts = [spawn(tpool.execute, barrier.wait) for _ in range(8)]
    # Serial execution would break the barrier (BrokenBarrierError after WAIT seconds).
    assert sorted(gt.wait() for gt in gts) == list(range(8))


def test_exception_crosses_with_the_workers_frames_in_its_traceback() -> None:
    def failing_deep_in_the_worker() -> None:
        raise KeyError("lost")

    with pytest.raises(KeyError) as info:
        tpool.execute(failing_deep_in_the_worker)
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "failing_deep_in_the_worker" in names
    assert names.index("test_exception_crosses_with_the_workers_frames_in_its_traceback") < \
        names.index("failing_deep_in_the_worker")


def test_base_exceptions_cross_too() -> None:
    with pytest.raises(SystemExit) as info:
        tpool.execute(sys.exit, 3)
    assert info.value.code == 3
    assert tpool.execute(int, "7") == 7  # the worker survived


def test_execute_inside_a_worker_runs_inline() -> None:
    def outer() -> tuple[int, int]:
        return threading.get_ident(), tpool.execute(threading.get_ident)

    first, nested = tpool.execute(outer)
    assert first == nested


def test_context_variables_are_visible_to_the_call() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller's")
    assert tpool.execute(var.get) == "caller's"


def test_a_timed_out_caller_lets_the_running_call_finish_and_drops_its_result() -> None:
    gate = threading.Event()
    finished = threading.Event()

    def slow() -> str:
        gate.wait(WAIT)
        finished.set()
        return "unwanted"

    started = time.monotonic()
    with pytest.raises(Timeout), Timeout(0.05):
        tpool.execute(slow)
    assert time.monotonic() - started < WAIT / 2
    gate.set()
    assert finished.wait(WAIT)
    # The dropped result must not resume anything: a later wait gets its own result.
    assert tpool.execute(str, 5) == "5"


@pytest.mark.usefixtures("pool_size")
def test_a_queued_call_whose_caller_left_is_never_started() -> None:
    tpool.set_num_threads(1)
    gate = threading.Event()
    ran = []
    blocker = spawn(tpool.execute, gate.wait, WAIT)
    sleep(0)
    with pytest.raises(Timeout), Timeout(0.02):
        tpool.execute(ran.append, "should not run")
    gate.set()
    assert blocker.wait() is True
    assert tpool.execute(ran.append, "runs") is None  # FIFO: the abandoned call came first
    assert ran == ["runs"]


def test_killed_waiter_leaves_nothing_behind() -> None:
    gate = threading.Event()
    gt = spawn(tpool.execute, gate.wait, WAIT)
    assert _spins(gt)
    gt.kill()
    assert gt.dead
    gate.set()
    assert tpool.execute(int, "1") == 1


def test_each_os_thread_gets_its_results_on_its_own_hub() -> None:
    results: dict[int, list[Any]] = {}

    def thread_main(n: int) -> None:
        hub = get_hub()
        gts = [spawn(tpool.execute, lambda i=i: (n, i, get_hub())) for i in range(5)]
        results[n] = [gt.wait() for gt in gts] + [hub]

    threads = [threading.Thread(target=thread_main, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert sorted(results) == [0, 1, 2]
    for n, got in results.items():
        *answers, hub = got
        assert [(a, b) for a, b, _ in answers] == [(n, i) for i in range(5)]
        assert all(worker_hub is not hub for _, _, worker_hub in answers)


def test_a_plain_thread_without_green_threads_can_execute() -> None:
    out = []
    t = threading.Thread(target=lambda: out.append(tpool.execute(pow, 2, 10)))
    t.start()
    t.join(WAIT)
    assert out == [1024]


def test_execute_from_a_hub_callback_is_refused() -> None:
    errors: list[BaseException] = []

    def callback() -> None:
        try:
            tpool.execute(int)
        except RuntimeError as exc:
            errors.append(exc)

    get_hub().schedule_call_global(0, callback)
    sleep(0)
    sleep(0)
    assert len(errors) == 1 and "hub" in str(errors[0])


@pytest.mark.usefixtures("pool_size")
def test_killall_joins_workers_and_the_pool_restarts() -> None:
    tpool.setup()
    deadline = time.monotonic() + WAIT
    while len(tpool._pool.idents) < tpool.DEFAULT_SIZE and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(tpool._pool.idents) == tpool.DEFAULT_SIZE  # setup() started them all
    tpool.killall()
    assert tpool._pool.idents == set()
    assert tpool.execute(abs, -3) == 3
    assert len(tpool._pool.idents) == 1  # lazily: one thread for one call


def test_killall_runs_queued_calls_first() -> None:
    gate = threading.Event()
    gts = [spawn(tpool.execute, gate.wait, WAIT) for _ in range(3)]
    sleep(0)

    def release_soon() -> None:
        time.sleep(0.05)
        gate.set()

    threading.Thread(target=release_soon).start()
    tpool.killall()  # blocks this OS thread until the three calls are done
    assert [gt.wait() for gt in gts] == [True, True, True]


def test_killall_from_a_worker_is_refused() -> None:
    with pytest.raises(RuntimeError, match="worker"):
        tpool.execute(tpool.killall)


@pytest.mark.usefixtures("pool_size")
def test_zero_threads_runs_inline_with_a_warning() -> None:
    tpool.set_num_threads(0)
    with pytest.warns(RuntimeWarning, match=r"Zero threads in tpool \(set_num_threads\(0\)\)"):
        assert tpool.execute(threading.get_ident) == threading.get_ident()


@pytest.mark.usefixtures("pool_size")
def test_pool_size_bounds_concurrency_and_can_change_at_run_time() -> None:
    tpool.set_num_threads(2)
    lock = real.allocate_lock()
    running = [0, 0]  # now, most

    def task() -> None:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    gts = [spawn(tpool.execute, task) for _ in range(6)]
    for gt in gts:
        gt.wait()
    assert running[1] == 2
    tpool.set_num_threads(6)
    running[1] = 0
    gts = [spawn(tpool.execute, task) for _ in range(6)]
    for gt in gts:
        gt.wait()
    assert running[1] > 2


@pytest.mark.usefixtures("pool_size")
def test_calls_queued_before_a_resize_to_zero_still_run() -> None:
    tpool.set_num_threads(1)
    gate = threading.Event()
    first = spawn(tpool.execute, gate.wait, WAIT)
    queued = spawn(tpool.execute, pow, 3, 3)
    sleep(0)
    tpool.set_num_threads(0)
    gate.set()
    assert first.wait() is True
    assert queued.wait() == 27


@pytest.mark.usefixtures("pool_size")
def test_eventlet_private_nthreads_reads_the_pool_size() -> None:
    tpool.set_num_threads(5)
    assert tpool._nthreads == 5  # type: ignore[attr-defined]  # eventlet's private name
    tpool.set_num_threads(7)
    assert tpool._nthreads == 7  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        tpool.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_set_num_threads_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        tpool.set_num_threads(-1)
    with pytest.raises(TypeError):
        tpool.set_num_threads("3")  # type: ignore[arg-type]


_HIGH_WATER = """
    import sys, threading, time
    from greenlane import tpool
    from greenlane.greenpool import GreenPool
    lock = threading.Lock()
    running = [0, 0]
    all_in = threading.Event()
    def call():
        with lock:
            running[0] += 1
            running[1] = max(running)
            if running[0] == int(sys.argv[1]):
                all_in.set()
        all_in.wait(2)  # each thread stays until the expected number run at once, or 2 s
        with lock:
            running[0] -= 1
    pool = GreenPool(100)
    for _ in range(60):
        pool.spawn(tpool.execute, call)
    pool.waitall()
    print(running[1])
"""


@pytest.mark.parametrize(("env", "threads"), [
    ({"GREENLANE_THREADPOOL_SIZE": "30"}, 30),
    ({"EVENTLET_THREADPOOL_SIZE": "30"}, 30),
    ({"GREENLANE_THREADPOOL_SIZE": "25", "EVENTLET_THREADPOOL_SIZE": "30"}, 25),
    ({"GREENLANE_THREADPOOL_SIZE": " ", "EVENTLET_THREADPOOL_SIZE": "30"}, 30),
])
def test_environment_variables_set_the_size(env: dict[str, str], threads: int) -> None:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_HIGH_WATER), str(threads)],
                          capture_output=True, text=True, timeout=60,
                          env={**_run_script_env(), **env})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == threads


@pytest.mark.parametrize("variable", ["GREENLANE_THREADPOOL_SIZE", "EVENTLET_THREADPOOL_SIZE"])
def test_size_zero_from_the_environment_runs_inline_with_one_warning(variable: str) -> None:
    proc = _run_script("""
        import threading, warnings
        from greenlane import tpool
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert tpool.execute(threading.get_ident) == threading.get_ident()
            assert tpool.execute(threading.get_ident) == threading.get_ident()
        assert len(caught) == 1, caught
        print(caught[0].category.__name__, caught[0].message)
    """, env={variable: "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("RuntimeWarning Zero threads in tpool")
    assert f"{variable}=0" in proc.stdout


@pytest.mark.parametrize("variable", ["GREENLANE_THREADPOOL_SIZE", "EVENTLET_THREADPOOL_SIZE"])
def test_negative_size_from_the_environment_fails_each_call_not_the_import(variable: str) -> None:
    proc = _run_script("""
        from greenlane import tpool
        for attempt in (lambda: tpool.execute(print, "ran"), tpool.setup):
            try:
                attempt()
            except ValueError as exc:
                assert isinstance(exc, AssertionError)
                print(exc)
        tpool.set_num_threads(2)  # a valid size set at run time replaces it
        print(tpool.execute(len, "abc"))
    """, env={variable: "-1"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and "ran" not in proc.stdout, proc.stdout
    assert all(f"negative number of threads ({variable}=-1)" in line for line in lines[:2])
    assert lines[2] == "3"


def test_a_size_that_is_not_a_number_fails_at_import_naming_the_variable() -> None:
    proc = _run_script("import greenlane.tpool", env={"EVENTLET_THREADPOOL_SIZE": "many"})
    assert proc.returncode != 0
    assert "EVENTLET_THREADPOOL_SIZE" in proc.stderr and "'many'" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_child_of_a_fork_starts_with_an_empty_pool() -> None:
    proc = _run_script("""
        import os, threading
        from greenlane import tpool
        tpool.setup()
        assert tpool.execute(threading.get_ident) != threading.get_ident()
        pid = os.fork()
        if pid == 0:
            ok = not tpool._pool.idents and tpool._pool.count == 0
            ok = ok and tpool.execute(lambda: 6 * 7) == 42 and len(tpool._pool.idents) == 1
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")
              else status >> 8)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_interpreter_exit_does_not_wait_for_a_busy_worker() -> None:
    proc = _run_script("""
        import time, greenlane
        from greenlane import tpool
        tpool.setup()
        greenlane.spawn(tpool.execute, time.sleep, 60)   # busy for a minute
        greenlane.sleep(0.05)
        print("exiting", flush=True)
    """, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exiting"


# ----------------------------------------------------------------------------- Proxy
class Thing:
    def __init__(self) -> None:
        self.items = [1, 2, 3]
        self.label = "thing"
        self.entered = 0

    def where(self) -> int:
        return threading.get_ident()

    def child(self) -> Thing:
        return Thing()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self.items[i], threading.get_ident()

    def __setitem__(self, i: int, value: int) -> None:
        self.items[i] = value

    def __iter__(self) -> Iterator[int]:
        return iter(self.items)

    def __enter__(self) -> int:
        self.entered += 1
        return threading.get_ident()

    def __exit__(self, *exc: Any) -> None:
        self.entered -= 1

    def __call__(self, x: int) -> tuple[int, int]:
        return x * 2, threading.get_ident()

    def __repr__(self) -> str:
        return "<Thing>"


def test_proxy_runs_methods_in_the_pool() -> None:
    me = threading.get_ident()
    p = tpool.Proxy(Thing())
    assert p.where() != me
    assert p.where(nonblocking=True) == me
    assert p.label == "thing"
    assert p(4)[0] == 8 and p(4)[1] != me
    value, ident = p[1]
    assert value == 2 and ident != me
    p[0] = 10
    assert p.items[0] == 10
    with p as entered_in:
        assert entered_in != me
        assert p.entered == 1
    assert p.entered == 0
    assert len(p) == 3 and bool(p)
    assert list(p) == [10, 2, 3]
    assert repr(p) == "<Thing>" and str(p) == "<Thing>"


def test_proxy_forwards_attribute_assignment_and_equality() -> None:
    thing = Thing()
    p = tpool.Proxy(thing)
    p.label = "renamed"
    assert thing.label == "renamed"
    del p.label
    assert not hasattr(thing, "label")
    assert p == thing and hash(p) == hash(thing)
    assert p != Thing()
    assert "where" in dir(p)


def test_proxy_autowrap() -> None:
    p = tpool.Proxy(Thing(), autowrap=(Thing,))
    assert isinstance(p.child(), tpool.Proxy)
    p = tpool.Proxy(Thing(), autowrap_names=("child", "items"))
    child = p.child()
    assert isinstance(child, tpool.Proxy)
    assert isinstance(p.items, tpool.Proxy) and len(p.items) == 3
    assert not isinstance(p.where(), tpool.Proxy)


def test_proxy_iterates_an_iterator_through_the_pool() -> None:
    me = threading.get_ident()
    p = tpool.Proxy(iter([1, 2]))
    assert iter(p) is p
    assert next(p) == 1 and next(p) == 2
    with pytest.raises(StopIteration):
        next(p)
    gen = tpool.Proxy(threading.get_ident() for _ in range(2))
    assert all(ident != me for ident in gen)


def test_proxy_copies() -> None:
    p = tpool.Proxy([[1], [2]])
    shallow = copy.copy(p)
    deep = copy.deepcopy(p)
    assert shallow == [[1], [2]] and not isinstance(shallow, tpool.Proxy)
    assert deep[0] is not p._obj[0]
