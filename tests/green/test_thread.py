"""greenlane.green.thread: the green ``_thread`` primitives, used directly (no patching)."""

from __future__ import annotations

import _thread as real_thread
import sys
import time
import weakref
from typing import Any

import pytest
from greenlet import getcurrent

from greenlane.event import Event
from greenlane.green import thread
from greenlane.greenthread import sleep, spawn


def test_module_has_every_stdlib_name() -> None:
    missing = [n for n in dir(real_thread) if not n.startswith("__") and not hasattr(thread, n)]
    assert not missing
    assert thread.stack_size is real_thread.stack_size
    assert thread.error is RuntimeError


# ----------------------------------------------------------------------------- Lock
def test_lock_basics_and_repr() -> None:
    lock = thread.allocate_lock()
    assert isinstance(lock, thread.LockType)
    assert "<unlocked " in repr(lock)
    assert lock.acquire() is True
    assert lock.locked() and "<locked " in repr(lock)
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=0) is False
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock as entered:
        assert entered is True and lock.locked()
    assert not lock.locked()
    assert weakref.ref(lock)() is lock


def test_lock_argument_errors_match_the_c_lock() -> None:
    lock = thread.allocate_lock()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="non-negative"):
        lock.acquire(timeout=-5)
    with pytest.raises(OverflowError):
        lock.acquire(timeout=thread.TIMEOUT_MAX * 2)
    assert not lock.locked()  # none of those took it


def test_allocate_lock_stays_a_plain_callable_as_class_attribute() -> None:
    # lock_tests keeps ``locktype = _thread.allocate_lock`` on a class: it must not bind.
    class Holder:
        locktype = thread.allocate_lock

    assert isinstance(Holder().locktype(), thread.LockType)


def test_contended_lock_suspends_only_the_waiter_and_serves_fifo() -> None:
    lock = thread.allocate_lock()
    lock.acquire()
    order: list[int] = []

    def taker(n: int) -> None:
        with lock:
            order.append(n)

    threads = [spawn(taker, n) for n in range(3)]
    sleep(0.01)
    assert order == []  # they wait, and we still run
    lock.release()
    for t in threads:
        t.wait()
    assert order == [0, 1, 2]


def test_lock_acquire_timeout_expires() -> None:
    lock = thread.allocate_lock()
    lock.acquire()
    start = time.monotonic()
    assert lock.acquire(timeout=0.05) is False
    assert time.monotonic() - start >= 0.045
    lock.release()


def test_lock_at_fork_reinit_frees_it() -> None:
    lock = thread.allocate_lock()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked() and lock.acquire(False)


def test_lock_type_is_callable_only_where_the_c_type_is() -> None:
    # bpo-43916: before 3.13 only allocate_lock() makes locks; 3.13 made _thread.lock public.
    c_type = type(real_thread.allocate_lock())
    assert thread.LockType.__name__ == c_type.__name__ == "lock"
    try:
        c_type()
    except TypeError as exc:
        with pytest.raises(TypeError) as info:
            thread.LockType()
        assert str(info.value) == str(exc) or sys.implementation.name != "cpython"
        assert "cannot create '_thread.lock' instances" in str(info.value)
    else:
        assert isinstance(thread.LockType(), thread.LockType)
    assert type(thread.allocate_lock()) is thread.LockType
    assert thread.allocate is thread.allocate_lock


def test_lock_type_cannot_be_subclassed_as_the_c_type_cannot() -> None:
    with pytest.raises(TypeError, match="not an acceptable base type"):
        class MyLock(thread.LockType):  # type: ignore[misc]
            pass


# ----------------------------------------------------------------------------- taking turns
@pytest.fixture
def switch_interval() -> Any:
    """Set ``sys.setswitchinterval`` for the test (the lock reads it), restored afterwards."""
    before = sys.getswitchinterval()
    yield sys.setswitchinterval
    sys.setswitchinterval(before)


def test_a_polling_loop_lets_the_thread_it_waits_for_run(switch_interval: Any) -> None:
    # lock.acquire(False) in a loop until another green thread releases the lock: with real
    # threads the GIL lets the other one in; here the lock takes turns.
    switch_interval(0.001)
    lock = thread.allocate_lock()
    lock.acquire()

    def releaser() -> None:
        lock.release()

    spawn(releaser)
    deadline = time.monotonic() + 10
    spins = 0
    while not lock.acquire(False):
        spins += 1
        assert time.monotonic() < deadline, "the releasing green thread never ran"
    assert spins > 0  # it had to poll: the releaser was only scheduled
    lock.release()


def test_acquires_with_pauses_or_within_the_interval_do_not_switch(switch_interval: Any) -> None:
    ran: list[int] = []
    other = spawn(ran.append, 1)
    switch_interval(10.0)
    lock = thread.allocate_lock()
    for _ in range(2000):  # back to back, but far shorter than the interval
        with lock:
            pass
    assert ran == []
    switch_interval(0.001)
    lock = thread.allocate_lock()  # the first one's run of acquires is recent
    for _ in range(3):  # a pause longer than the interval between each
        for _ in range(40):
            with lock:
                pass
        time.sleep(0.005)  # the real, blocking sleep: no switch
    assert ran == []
    other.wait()


def test_no_switch_during_an_import(switch_interval: Any, tmp_path: Any) -> None:
    # Another green thread could import the module half-initialised (module import locks
    # are real, so reentrant within the OS thread).
    (tmp_path / "greenlane_spinning_import.py").write_text(
        "import time\n"
        "from greenlane.green import thread\n"
        "lock = thread.allocate_lock()\n"
        "end = time.monotonic() + 0.05\n"
        "while time.monotonic() < end:\n"
        "    with lock:\n"
        "        pass\n")
    switch_interval(0.001)
    ran: list[int] = []
    other = spawn(ran.append, 1)
    sys.path.insert(0, str(tmp_path))
    try:
        import greenlane_spinning_import  # noqa: F401
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("greenlane_spinning_import", None)
    assert ran == []
    # The same loop outside an import does let it run.
    lock = thread.allocate_lock()
    end = time.monotonic() + 0.05
    while time.monotonic() < end and not ran:
        with lock:
            pass
    assert ran == [1]
    other.wait()


def test_a_thread_without_a_hub_never_gets_one_from_a_lock(switch_interval: Any) -> None:
    from greenlane import _originals
    from greenlane.hubs import _context

    switch_interval(0.001)
    out: list[Any] = []
    done = _originals.allocate_lock()
    done.acquire()

    def plain_thread() -> None:
        lock = thread.allocate_lock()
        end = time.monotonic() + 0.03
        while time.monotonic() < end:
            with lock:
                pass
        out.append(_context.current.hub)
        done.release()

    _originals.start_new_thread(plain_thread, ())
    assert done.acquire(timeout=10)
    assert out == [None]


# ----------------------------------------------------------------------------- RLock
def test_rlock_ignores_arguments_as_the_c_rlock_does() -> None:
    # CPython 3.13's threading.RLock(*args, **kwargs) warns and passes them on to _CRLock.
    rlock = thread.RLock(1, 2, a=3)  # type: ignore[call-arg]
    assert rlock.acquire(False) and rlock._recursion_count() == 1
    rlock.release()


def test_rlock_is_owned_by_the_green_thread() -> None:
    rlock = thread.RLock()
    assert rlock.acquire() and rlock.acquire()
    assert rlock._is_owned() and rlock._recursion_count() == 2
    seen: list[Any] = []

    def other() -> None:
        seen.append(rlock._is_owned())
        seen.append(rlock.acquire(False))
        with pytest.raises(RuntimeError):
            rlock.release()
        seen.append(rlock.acquire(timeout=5))  # waits until we release entirely
        rlock.release()

    t = spawn(other)
    sleep(0.01)
    rlock.release()
    sleep(0.01)
    assert seen == [False, False]  # still held once
    rlock.release()
    t.wait()
    assert seen == [False, False, True]
    assert not rlock.locked() and "unlocked" in repr(rlock)


def test_rlock_release_save_and_restore() -> None:
    rlock = thread.RLock()
    rlock.acquire()
    rlock.acquire()
    state = rlock._release_save()
    assert not rlock.locked()
    rlock._acquire_restore(state)
    assert rlock._recursion_count() == 2
    rlock.release()
    rlock.release()
    with pytest.raises(RuntimeError):
        rlock._release_save()


# ----------------------------------------------------------------------------- get_ident
def test_get_ident_main_greenlet_is_real_and_green_threads_differ() -> None:
    assert getcurrent().parent is None  # pytest runs tests in the main greenlet
    assert thread.get_ident() == real_thread.get_ident()
    gate = Event[None]()

    def ident_then_wait() -> int:
        ident = thread.get_ident()
        gate.wait()
        return ident

    threads = [spawn(ident_then_wait) for _ in range(2)]  # alive together: ids cannot repeat
    sleep(0)
    gate.send(None)
    idents = [t.wait() for t in threads]
    assert len({*idents, real_thread.get_ident()}) == 3
    assert idents[0] == id(threads[0])


# ----------------------------------------------------------------------------- threads
def test_start_new_thread_runs_green_and_counts() -> None:
    done = Event[int]()
    before = thread._count()

    def body(a: int, b: int = 0) -> None:
        done.send(thread.get_ident() + 0 * (a + b))

    ident = thread.start_new_thread(body, (1,), {"b": 2})
    assert thread._count() == before + 1
    assert done.wait() == ident
    sleep(0)
    assert thread._count() == before


def test_start_new_thread_checks_arguments() -> None:
    with pytest.raises(TypeError):
        thread.start_new_thread(print, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        thread.start_new_thread(print, (), [])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        thread.start_new_thread(42, ())  # type: ignore[arg-type]


def test_uncaught_exception_goes_to_unraisablehook_and_system_exit_is_quiet(
        monkeypatch: pytest.MonkeyPatch) -> None:
    caught: list[Any] = []
    second = real_thread.allocate_lock()
    second.acquire()

    def hook(args: Any) -> None:
        caught.append(args)
        if len(caught) == 2:
            second.release()

    monkeypatch.setattr(sys, "unraisablehook", hook)

    def boom() -> None:
        raise KeyError("lost")

    def leave() -> None:
        raise SystemExit(3)

    green_ident = thread.start_new_thread(boom, ())
    thread.start_new_thread(leave, ())
    sleep(0)
    sleep(0)
    assert len(caught) == 1 and caught[0].exc_type is KeyError
    # What a real thread of this interpreter reports, its identity aside (PyPy gives it).
    def real_boom() -> None:
        boom()

    real_ident = real_thread.start_new_thread(real_boom, ())
    assert second.acquire(timeout=10)
    green, real = caught
    assert real.exc_type is KeyError
    assert green.err_msg.replace(str(green_ident), "N") == real.err_msg.replace(
        str(real_ident), "N").replace(repr(real_boom), repr(boom))
    assert green.object is (None if real.object is None else boom)


def test_sentinel_is_released_when_the_green_thread_ends() -> None:
    sentinels: list[Any] = []

    def body() -> None:
        lock = thread._set_sentinel()
        lock.acquire()
        sentinels.append(lock)
        sleep(0.01)

    thread.start_new_thread(body, ())
    sleep(0)
    assert sentinels[0].locked()
    assert sentinels[0].acquire(timeout=5)  # waits for the end of the green thread


def test_joinable_thread_handle() -> None:
    release = Event[None]()
    handle = thread.start_joinable_thread(release.wait, daemon=False)
    sleep(0)
    assert handle.ident is not None and not handle.is_done()
    handle.join(0.01)
    assert not handle.is_done()
    with pytest.raises(RuntimeError, match="already started"):
        thread.start_joinable_thread(print, handle=handle)
    release.send(None)
    handle.join()
    assert handle.is_done()
    handle.join()  # joining again is fine


def test_joining_own_handle_raises() -> None:
    result = Event[str]()

    def body() -> None:
        try:
            handle.join()
        except RuntimeError as exc:
            result.send(str(exc))

    handle = thread.start_joinable_thread(body)
    assert "current thread" in result.wait()


def test_unstarted_handle_cannot_be_joined() -> None:
    handle = thread._ThreadHandle()
    with pytest.raises(RuntimeError, match="not started"):
        handle.join()
    with pytest.raises(RuntimeError, match="not started"):
        handle._set_done()


def test_make_thread_handle_for_a_running_thread() -> None:
    handle = thread._make_thread_handle(12345)
    assert handle.ident == 12345 and not handle.is_done()
    waiter = spawn(handle.join)
    sleep(0)
    handle._set_done()
    waiter.wait()
    assert handle.is_done()


def test_lock_is_eventlet_s_name_for_allocate_lock() -> None:
    lock = thread.Lock()
    assert isinstance(lock, thread.LockType) and "Lock" in thread.__all__
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    assert lock.acquire()
    lock._at_fork_reinit()
    assert lock.acquire(blocking=False) and not lock.acquire(blocking=False)


def test_rlock_taken_while_the_interpreter_finalizes() -> None:
    # logging's weakref callback for a collected handler takes the module lock (green once
    # patched) during interpreter shutdown, when greenlet refuses getcurrent().
    import subprocess
    import textwrap

    code = textwrap.dedent("""
        import greenlane
        greenlane.monkey_patch()
        import logging
        handler = logging.Handler()
        logging.Logger("x").addHandler(handler)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
    assert done.stderr == ""
