"""The stdlib ``threading`` (and ``queue``, ``concurrent.futures``, ``logging``) on green threads.

Each scenario patches a fresh interpreter (``sys.executable``) and prints what it checked; the
test process itself stays unpatched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import greenlane
greenlane.monkey_patch()
import threading, time
"""


def _run(code: str, *, prelude: str = PRELUDE, timeout: float = 60) -> str:
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_threads_are_green_and_the_api_works() -> None:
    out = _run("""
        from greenlane.green.thread import LockType, RLock
        assert isinstance(threading.Lock(), LockType)
        assert isinstance(threading.RLock(), RLock)
        main = threading.current_thread()
        assert main is threading.main_thread() and main.name == "MainThread"
        assert threading.get_ident() == main.ident

        names = []
        def work(n):
            time.sleep(0.3)                     # green: the five sleeps overlap
            names.append((n, threading.current_thread().name))
        threads = [threading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(5)]
        start = time.monotonic()
        for t in threads:
            t.start()
        assert threading.active_count() == 6 and all(t.is_alive() for t in threads)
        assert len({t.ident for t in threads} | {main.ident}) == 6
        for t in threads:
            t.join()
        # One after the other they would take 1.5 s; the margin is for a loaded machine.
        assert time.monotonic() - start < 1.0, time.monotonic() - start
        assert sorted(names) == [(n, f"w{n}") for n in range(5)]
        assert not any(t.is_alive() for t in threads) and threading.active_count() == 1

        # join(timeout) on a thread that keeps waiting
        gate = threading.Event()
        waiter = threading.Thread(target=gate.wait, daemon=True)
        waiter.start()
        waiter.join(0.02)
        assert waiter.is_alive() and waiter.daemon
        gate.set()
        waiter.join()
        assert not waiter.is_alive()

        # Condition with timeout and notify
        cond = threading.Condition()
        with cond:
            assert cond.wait(0.01) is False
        box = []
        def notifier():
            with cond:
                box.append(1)
                cond.notify()
        threading.Thread(target=notifier).start()
        with cond:
            assert cond.wait_for(lambda: box, timeout=5)

        # Barrier, Semaphore, Timer, local
        barrier = threading.Barrier(3)
        sem = threading.BoundedSemaphore(2)
        local = threading.local()
        local.x = "main"
        seen = []
        def party(n):
            local.x = n
            with sem:
                time.sleep(0.001)
            barrier.wait(5)
            seen.append(local.x)
        parties = [threading.Thread(target=party, args=(n,)) for n in range(3)]
        for t in parties:
            t.start()
        for t in parties:
            t.join()
        assert sorted(seen) == [0, 1, 2] and local.x == "main"
        fired = threading.Event()
        timer = threading.Timer(0.05, fired.set)
        timer.start()
        assert fired.wait(5)
        cancelled = threading.Timer(0.05, fired.clear)
        cancelled.start()
        cancelled.cancel()
        cancelled.join()
        assert fired.is_set()
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_a_spawned_green_thread_gets_one_green_thread_object_with_the_thread_api() -> None:
    out = _run("""
        import logging, warnings
        warnings.simplefilter("error", DeprecationWarning)  # eventlet's names must not warn
        def who():
            t = threading.current_thread()
            assert t is threading.current_thread()
            assert type(t).__name__ == "_GreenThread" and isinstance(t, threading.Thread)
            assert t.ident == threading.get_ident() == id(t._g) and t.native_id
            assert t.daemon and t.isDaemon() and t.is_daemon()
            assert t.is_alive() and t.isAlive()
            first = t.name
            t.name = "renamed"
            assert t.getName() == t.get_name() == "renamed"
            t.set_name("worker")
            return t, first
        t, first = greenlane.spawn(who).wait()
        assert first.startswith("GreenThread-"), first
        assert t.name == "worker" and not t.is_alive(), t
        assert repr(t).startswith("<_GreenThread(worker, stopped daemon "), repr(t)
        # Each green thread its own, numbered with the stdlib's threads.
        gt_a, gt_b = greenlane.spawn(who), greenlane.spawn(who)
        a, b = gt_a.wait()[0], gt_b.wait()[0]
        assert a is not b and a.ident != b.ident and a.ident == id(gt_a), (a, b)
        # Not listed: threading's registry holds only the main thread throughout.
        def listed():
            threading.current_thread()
            return threading.enumerate()
        assert greenlane.spawn(listed).wait() == [threading.main_thread()]
        assert list(threading._active.values()) == [threading.main_thread()]
        # logging's %(threadName)s names the green thread.
        logging.basicConfig(format="%(threadName)s:%(message)s", level=logging.INFO,
                            stream=__import__("sys").stdout)
        def log():
            threading.current_thread().name = "fetcher"
            logging.info("hello")
        greenlane.spawn(log).wait()
        print("ok")
    """)
    assert out.split() == ["fetcher:hello", "ok"]



def test_current_thread_alias_warns_as_the_stdlib_unless_eventlet_defaults() -> None:
    out = _run("""
        import warnings
        from greenlane.green.threading import CurrentThreadAlias
        def who():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t = threading.currentThread()
            assert t is threading.current_thread()
            return [str(w.message) for w in caught if w.category is DeprecationWarning]
        print(len(greenlane.spawn(who).wait()))
        CurrentThreadAlias.warns = False  # what the eventlet alias sets
        print(len(greenlane.spawn(who).wait()))
    """)
    assert out.split() == ["1", "0"], out

def test_a_green_threads_object_joins_it() -> None:
    out = _run("""
        from greenlane.event import Event
        go = Event()
        seen = []
        def worker():
            seen.append(threading.current_thread())
            go.wait()
            return "done"
        gt = greenlane.spawn(worker)
        greenlane.sleep(0)
        t = seen[0]
        start = time.monotonic()
        t.join(0.05)                       # times out: the green thread is still waiting
        assert t.is_alive() and time.monotonic() - start >= 0.04
        t.join(0)
        assert t.is_alive() and not gt._links   # nothing left linked after a timeout
        greenlane.spawn_after(0.05, go.send)
        t.join()                           # returns once worker() has returned
        assert not t.is_alive() and gt.ready() and gt.wait() == "done"
        t.join()                           # an ended thread: at once
        # From itself: refused, as for a real thread.
        def self_join():
            try:
                threading.current_thread().join()
            except RuntimeError as exc:
                return str(exc)
        assert "current thread" in greenlane.spawn(self_join).wait()
        # A spawn_n green thread cannot be waited for: join() says so.
        got = []
        def raw():
            got.append(threading.current_thread())
            greenlane.sleep(0.01)
        greenlane.spawn_n(raw)
        greenlane.sleep(0)
        assert got[0].is_alive() and got[0].ident != threading.get_ident()
        try:
            got[0].join()
        except RuntimeError as exc:
            assert "GreenThread-" in str(exc) and "greenlane.spawn" in str(exc), exc
        else:
            raise AssertionError("joined a spawn_n green thread")
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_green_thread_objects_do_not_outlive_their_green_threads() -> None:
    # 10,000 green threads each asking for current_thread(): nothing is kept anywhere once
    # they have ended (threading's registry, or the objects themselves).
    out = _run("""
        import gc, sys, weakref
        refs = []
        def work():
            refs.append(weakref.ref(threading.current_thread()))
            greenlane.sleep(0)
        gts = [greenlane.spawn(work) for _ in range(10000)]
        for gt in gts:
            gt.wait()
        assert len(threading._active) == 1 and threading.enumerate() == [threading.main_thread()]
        del gts, gt
        gc.collect()
        alive = sum(ref() is not None for ref in refs)
        # PyPy's greenlet may keep the start frame of the last greenlet that ended (so that
        # one's object) a while longer: one at most, whatever the number of green threads.
        allowed = 1 if sys.implementation.name == "pypy" else 0
        assert len(refs) == 10000 and alive <= allowed, alive
        print("ok")
    """, timeout=120)
    assert out.split() == ["ok"]


def test_real_threads_get_their_own_thread_object() -> None:
    # A thread of original("threading") is found in that module's registry; a foreign one
    # (started with the real _thread) gets the stdlib's dummy; neither is a green object.
    out = _run("""
        from greenlane import patcher
        import _thread
        real_threading = patcher.original("threading")
        seen = []
        t = real_threading.Thread(target=lambda: seen.append(threading.current_thread()),
                                  name="real-one")
        t.start()
        t.join()
        assert seen == [t], seen
        assert len(threading._active) == 1 and len(real_threading._active) == 1
        done = real_threading.Event()
        def foreign():
            seen.append(threading.current_thread())
            done.set()
        patcher.original("_thread").start_new_thread(foreign, ())
        done.wait()
        assert isinstance(seen[1], threading._DummyThread), seen
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_thread_module_threads_keep_their_dummy_as_foreign_threads_do() -> None:
    # CPython's test_foreign_thread / test_ident_of_no_threading_threads: up to 3.12 the dummy
    # of a thread started with _thread stays in threading._active after it ends (3.13 drops
    # it at the end); a green thread that later gets the same id() gets a dummy of its own.
    out = _run("""
        import _thread, gc, sys
        done = threading.Event()
        seen = []
        def f():
            seen.append(threading.current_thread())
            done.set()
        tid = _thread.start_new_thread(f, ())
        done.wait()
        greenlane.sleep(0)
        gc.collect()
        dummy = seen[0]
        assert isinstance(dummy, threading._DummyThread) and dummy.ident == tid
        kept = threading._active.get(tid) is dummy
        assert kept == (sys.version_info < (3, 13)), (kept, threading._active)
        threading._active.pop(tid, None)
        # A green thread whose id() an ended one had (greenlets' ids are reused) finds that
        # one's dummy listed under its identity: it must get its own.
        def reused():
            stale = threading._DummyThread()  # what the ended green thread left behind
            assert threading._active[threading.get_ident()] is stale
            mine = threading.current_thread()
            assert mine is not stale and mine is threading.current_thread()
            seen.append(threading._active[threading.get_ident()] is mine)
            done.set()
        done.clear()
        _thread.start_new_thread(reused, ())
        done.wait()
        assert seen[-1] is True, seen
        # A spawned green thread never takes a stale dummy either: it gets its own object.
        def spawned():
            stale = threading._DummyThread()
            mine = threading.current_thread()
            return mine is not stale and type(mine).__name__ == "_GreenThread"
        assert greenlane.spawn(spawned).wait()
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_queue_thread_pool_and_nondaemon_threads_at_exit() -> None:
    out = _run("""
        import queue
        from concurrent.futures import ThreadPoolExecutor
        from greenlane.green.queue import SimpleQueue
        assert queue.SimpleQueue is SimpleQueue

        q = queue.Queue(maxsize=2)
        def producer():
            for i in range(20):
                q.put(i)
            q.put(None)
        threading.Thread(target=producer).start()
        got = []
        while (item := q.get(timeout=5)) is not None:
            got.append(item)
        assert got == list(range(20))

        def square(x):
            time.sleep(0.25)
            return x * x
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(square, range(8))) == [x * x for x in range(8)]
        assert time.monotonic() - start < 1.2  # one after the other: 2 s

        # A non-daemon thread outlives the main script: the interpreter waits for it.
        def late():
            time.sleep(0.1)
            print("late thread done", flush=True)
        threading.Thread(target=late).start()
        print("main done", flush=True)
    """)
    assert out.split("\n")[:2] == ["main done", "late thread done"]


def test_threads_polling_a_queue_let_the_producers_run() -> None:
    # CPython 3.13's test_queue shutdown tests: readers poll get(block=False) in a loop that
    # never blocks, until the producers (which never block either) are done. Real threads
    # rely on the GIL's switch interval; green ones on the lock taking turns.
    out = _run("""
        import queue
        q = queue.Queue()
        done = threading.Event()
        got = []

        def reader():
            while True:
                try:
                    got.append(q.get(block=False))
                except queue.Empty:
                    if done.is_set() and q.empty():
                        return

        def writer(base):
            for i in range(5000):
                q.put(base + i)

        start = time.monotonic()
        readers = [threading.Thread(target=reader) for _ in range(3)]
        writers = [threading.Thread(target=writer, args=(n * 5000,)) for n in range(2)]
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join()
        done.set()
        for t in readers:
            t.join(timeout=30)
            assert not t.is_alive()
        assert sorted(got) == list(range(10000))
        print("ok", time.monotonic() - start < 20)
    """)
    assert out.split() == ["ok", "True"]


def test_locks_made_before_patching_are_greened_or_reported() -> None:
    prelude = """
import logging, logging.handlers, concurrent.futures.thread, threading, warnings, sys, types
real_lock = threading.Lock()
mod = types.ModuleType("mylib")
mod.LOCK = real_lock
sys.modules["mylib"] = mod
handler = logging.StreamHandler(sys.stdout)
logging.getLogger().addHandler(handler)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import greenlane
    greenlane.monkey_patch()
    greenlane.monkey_patch()
import time, importlib
"""
    out = _run("""
        from greenlane.green.thread import LockType, RLock
        import _thread
        assert isinstance(logging._lock, RLock)
        assert isinstance(handler.lock, RLock)
        assert isinstance(concurrent.futures.thread._global_shutdown_lock, LockType)
        assert threading._active_limbo_lock is not None
        messages = [str(w.message) for w in caught]
        mine = [m for m in messages if "mylib.LOCK" in m]
        assert len(mine) == 1, messages                 # reported once, naming it
        assert not any("logging" in m or "_strptime" in m for m in messages), messages
        # The import machinery keeps the real _thread.
        bootstrap = sys.modules["_frozen_importlib"]
        assert bootstrap._thread is not _thread
        assert bootstrap._thread.allocate_lock is not _thread.allocate_lock
        assert not isinstance(bootstrap._thread.allocate_lock(), LockType)

        # Many green threads logging through a handler whose writes switch: no deadlock.
        import os
        r, w = os.pipe()
        from greenlane.greenio import GreenPipe
        reader, writer = GreenPipe(r, "rb", 0), GreenPipe(w, "w")
        class Switching(logging.StreamHandler):
            def emit(self, record):
                time.sleep(0.001)   # switch while holding the handler's lock
                super().emit(record)
        slow = Switching(writer)
        log = logging.getLogger("green")
        log.propagate = False
        log.addHandler(slow)
        threads = [threading.Thread(target=log.warning, args=("line %d", n)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writer.flush()
        data = b""
        while data.count(b"\\n") < 20:
            data += reader.read(4096)
        assert sorted(data.decode().split()) == sorted(f"line {n}".split()[0] for n in range(20))\
            or data.count(b"line") == 20, data
        print("ok")
    """, prelude=prelude)
    assert out.split()[-1] == "ok"


def test_main_thread_can_be_joined_from_a_green_thread() -> None:
    out = _run("""
        def joiner():
            threading.main_thread().join(0.02)
            return threading.main_thread().is_alive()
        assert greenlane.spawn(joiner).wait() is True
        print("ok")
    """)
    assert out.split() == ["ok"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("where", ["main", "thread", "spawn"])
def test_fork_gives_the_child_a_sane_threading_state(where: str) -> None:
    out = _run(f"""
        import logging, os, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
        busy = threading.Event()
        def background():
            busy.wait()                         # a green thread parked at fork time
        bg = threading.Thread(target=background, daemon=True)
        bg.start()

        def child_checks():
            me = threading.current_thread()
            assert me is threading.main_thread(), (me, threading.main_thread())
            assert list(threading._active.values()) == [me], threading._active
            assert not bg.is_alive()
            bg.join()                           # the thread that did not fork has ended
            logging.info("child logs")
            results = []
            t = threading.Thread(target=lambda: results.append(threading.get_ident()))
            t.start()
            t.join()
            assert results and results[0] != me.ident
            # A non-daemon thread still running at exit is waited for.
            threading.Thread(target=lambda: (time.sleep(0.05), print("child thread done"))
                             ).start()

        in_child = []

        def fork_and_wait():
            pid = os.fork()
            if pid == 0:
                in_child.append(True)
                try:
                    child_checks()
                except BaseException:
                    import traceback
                    traceback.print_exc()
                    sys.stdout.flush()
                    os._exit(1)
                if "{where}" == "main":
                    sys.exit(0)                 # interpreter exit: threading._shutdown runs
                return None                     # the child goes on, and exits normally
            _, status = os.waitpid(pid, 0)
            return status

        if "{where}" == "main":
            status = fork_and_wait()
        elif "{where}" == "thread":
            box = []
            t = threading.Thread(target=lambda: box.append(fork_and_wait()))
            t.start()
            t.join()
            status = box[0]
        else:
            status = greenlane.spawn(fork_and_wait).wait()
        if not in_child:
            busy.set()
            print(f"parent ok {{status}}")
    """)
    lines = out.split("\n")
    assert "child logs" in lines, out
    if where != "thread":
        # A thread that forks becomes the child's main thread and has ended by the time the
        # child exits, so (as with real threads) nothing waits for other threads then.
        assert "child thread done" in lines, out
    assert "parent ok 0" in lines, out


def test_changed_internals_are_named_not_failed_on_obscurely() -> None:
    # A Python release that renames a threading internal greenlane relies on: importing the
    # green module says which, and on which version; the import-system check warns.
    out = _run("""
        import sys, threading, types, warnings
        name = "_DummyThread"
        saved = getattr(threading, name)
        delattr(threading, name)
        try:
            import greenlane.green.threading
        except RuntimeError as exc:
            assert name in str(exc) and sys.version.split()[0] in str(exc), exc
        else:
            raise AssertionError("no error for a missing threading internal")
        setattr(threading, name, saved)
        from greenlane.green import thread
        real_bootstrap = sys.modules["_frozen_importlib"]
        sys.modules["_frozen_importlib"] = types.ModuleType("_frozen_importlib")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                thread.__after_patch__()
        finally:
            sys.modules["_frozen_importlib"] = real_bootstrap
        assert any("_frozen_importlib._thread" in str(w.message) for w in caught), caught
        print("ok")
    """, prelude="")
    assert out.split() == ["ok"]
