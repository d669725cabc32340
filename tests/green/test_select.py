"""greenlane.green.select: select(), poll() and epoll that suspend only the calling green thread.

CPython's own test_select, test_poll and test_epoll run against these under patching too (see
the report in docs/compatibility.md); the tests here check what those cannot: that a wait lets
other green threads run, that results are complete and correct after a wait, that the hub is
left clean (no listener, no registration of a closed private epoll) and that nothing spins.
"""

from __future__ import annotations

import errno
import os
import select as stdselect
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from greenlet import getcurrent

import greenlane
from greenlane import _originals as real
from greenlane.green import select
from greenlane.green import socket as green_socket
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import READ, get_hub, use_hub
from greenlane.testing import VirtualClockHub

needs_epoll = pytest.mark.skipif(real.epoll is None, reason="epoll is Linux only")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    # The hub first: creating it opens its wake-up descriptor, which would otherwise take the
    # number of a pipe end a test closes on purpose.
    get_hub()
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture(params=["epoll", "listeners"] if real.epoll is not None else ["listeners"])
def waiter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of waiting: the private epoll (Linux) and hub listeners (elsewhere)."""
    if request.param == "listeners":
        monkeypatch.setattr(select, "_Waiter", select._ListenerReadiness)
    return str(request.param)


def _write_later(fd: int, data: bytes = b"x", delay: float = 0.05) -> Any:
    def later() -> None:
        sleep(delay)
        os.write(fd, data)
    return spawn(later)


# ----------------------------------------------------------------------------- the module
def test_module_mirrors_the_stdlib() -> None:
    for name in dir(stdselect):
        if not name.startswith("_"):
            assert name in select.__all__, name
            assert hasattr(select, name), name
    assert select.error is OSError
    assert select.POLLIN == stdselect.POLLIN
    assert select.select is not stdselect.select
    group, target, names = select.__patches__[0]
    assert (group, target) == ("select", "select")
    assert "select" in names
    for name in names:
        assert getattr(select, name) is not getattr(stdselect, name), name
    if real.epoll is not None:
        assert {"poll", "epoll"} <= set(names)


def test_poll_type_cannot_be_instantiated() -> None:
    # Like the stdlib's: poll() is the only way to get one.
    kind = type(select.poll())
    assert kind.__name__ == "poll"
    with pytest.raises(TypeError, match="cannot create 'greenlane.green.select.poll' instances"):
        kind()


# ----------------------------------------------------------------------------- select()
def test_select_waits_only_the_calling_green_thread(pipe: tuple[int, int], waiter: str) -> None:
    r, w = pipe
    ran = []
    spawn(ran.append, "other")
    writer = _write_later(w)
    assert select.select([r], [], [], 5) == ([r], [], [])
    assert ran == ["other"]
    writer.wait()


def test_select_reports_every_fd_ready_after_the_wait(waiter: str) -> None:
    pipes = [os.pipe() for _ in range(3)]
    try:
        def write_two() -> None:
            sleep(0.02)
            # Both in one turn: the waiter is woken by the first, and must report both.
            os.write(pipes[0][1], b"a")
            os.write(pipes[2][1], b"c")
        gt = spawn(write_two)
        readers = [p[0] for p in pipes]
        r, w, x = select.select(readers, [], [], 5)
        assert sorted(r) == sorted([pipes[0][0], pipes[2][0]])
        assert w == x == []
        gt.wait()
    finally:
        for a, b in pipes:
            os.close(a)
            os.close(b)


def test_select_returns_the_objects_given(waiter: str) -> None:
    a, b = socket.socketpair()
    with a, b:
        class Wrapper:
            def fileno(self) -> int:
                return a.fileno()
        obj = Wrapper()
        gt = spawn(lambda: (sleep(0.02), b.send(b"!")))
        r, w, x = select.select([obj], [], [], 5)
        assert r == [obj] and r[0] is obj
        assert select.select([], (obj, b), [], 0) == ([], [obj, b], [])
        gt.wait()


def test_select_ready_at_once_does_not_wait_but_yields(pipe: tuple[int, int]) -> None:
    r, w = pipe
    os.write(w, b"x")
    ran = []
    spawn(ran.append, 1)
    assert select.select([r], [w], [], None) == ([r], [w], [])
    # It returned at once, but only after letting the other green thread run, as a blocking
    # select would have given it the CPU.
    assert ran == [1]


def test_select_zero_timeout_polls(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    assert select.select([r], [], [], 0) == ([], [], [])
    assert select.select([r], [], [], 0.0) == ([], [], [])


def test_select_timeout_runs_out(fresh_hub: None, pipe: tuple[int, int]) -> None:
    use_hub(VirtualClockHub)
    r, _ = pipe
    hub = get_hub()
    start = hub.clock()
    assert select.select([r], [], [], 30) == ([], [], [])
    assert hub.clock() - start == pytest.approx(30)
    start = hub.clock()
    assert select.select([], [], [], 7) == ([], [], [])  # nothing to watch: a sleep
    assert hub.clock() - start == pytest.approx(7)


def test_select_timeout_runs_out_in_real_time(pipe: tuple[int, int], waiter: str) -> None:
    r, _ = pipe
    start = time.monotonic()
    assert select.select([r], [], [], 0.1) == ([], [], [])
    assert 0.09 <= time.monotonic() - start < 2


def test_select_errors_are_the_stdlibs(pipe: tuple[int, int]) -> None:
    r, w = pipe
    os.close(w)
    with pytest.raises(OSError) as info:
        select.select([w], [], [], None)  # closed: EBADF at once, not a wait
    assert info.value.errno == errno.EBADF
    with pytest.raises(ValueError, match="negative"):
        select.select([-1], [], [], None)
    with pytest.raises(TypeError, match="fileno"):
        select.select([object()], [], [], None)
    with pytest.raises(TypeError, match="sequences"):
        select.select(5, [], [], None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        select.select([r], [], [], -1)
    with pytest.raises(TypeError, match="float or None"):
        select.select([r], [], [], "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        select.select([r], [], [], float("nan"))
    with pytest.raises(OverflowError):
        select.select([r], [], [], 1 << 64)


def test_select_accepts_iterables(pipe: tuple[int, int]) -> None:
    r, w = pipe
    os.write(w, b"x")
    assert select.select(iter([r]), {w}, (), 1) == ([r], [w], [])


def test_select_urgent_data_wakes_xlist(waiter: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        conn, _ = server.accept()
        with client, conn:
            gt = spawn(lambda: (sleep(0.02), client.send(b"!", socket.MSG_OOB)))
            if waiter == "listeners":
                # Documented: hub listeners cannot wait for urgent data; it is seen by the
                # final check when the timeout ends the wait, which must not spin meanwhile.
                start = time.monotonic()
                assert select.select([], [], [conn], 0.2) == ([], [], [conn])
                assert time.monotonic() - start >= 0.15
            else:
                assert select.select([], [], [conn], 5) == ([], [], [conn])
            gt.wait()


def test_select_hangup_on_xlist_only_does_not_spin(waiter: str) -> None:
    # epoll reports a hang-up even where only urgent data was asked for; select() never
    # reports it in xlist. The wait must then sleep to its timeout, not wake again and again.
    a, b = socket.socketpair()
    with a:
        b.close()
        ran = []

        def count() -> None:
            while True:
                ran.append(1)
                sleep(0.01)
        counter = spawn(count)
        cpu = time.process_time()
        start = time.monotonic()
        assert select.select([], [], [a], 0.3) == ([], [], [])
        elapsed = time.monotonic() - start
        used = time.process_time() - cpu
        counter.kill()
        assert elapsed >= 0.29
        assert used < 0.5 * elapsed, f"select() spun: {used:.3f}s of CPU in {elapsed:.3f}s"


def test_hangup_in_rlist_is_reported(waiter: str) -> None:
    a, b = socket.socketpair()
    with a:
        spawn(lambda: (sleep(0.02), b.close()))
        assert select.select([a], [], [], 5) == ([a], [], [])
        assert a.recv(1) == b""


def test_concurrent_selects_overlap(waiter: str) -> None:
    pipes = [os.pipe() for _ in range(50)]
    try:
        start = time.monotonic()
        gts = [spawn(select.select, [r], [], [], 0.2) for r, _ in pipes]
        assert [gt.wait() for gt in gts] == [([], [], [])] * 50
        assert time.monotonic() - start < 2.0  # one at a time would take 10 s
    finally:
        for a, b in pipes:
            os.close(a)
            os.close(b)


def test_select_beside_a_green_reader_of_the_same_socket() -> None:
    # The private epoll leaves the hub's listeners alone: a green thread blocked in recv() on a
    # socket and another one in select() on it are both woken (hub listeners would clash).
    if real.epoll is None:
        pytest.skip("needs epoll")
    a, b = green_socket.socketpair()
    with a, b:
        reader = spawn(a.recv, 10)
        sleep(0)
        selecting = spawn(select.select, [a], [], [], 5)
        sleep(0)
        b.send(b"data")
        assert reader.wait() == b"data"
        assert selecting.wait() in (([a], [], []), ([], [], []))  # woken, whoever read first


def test_caller_changing_its_list_during_the_wait(pipe: tuple[int, int], waiter: str) -> None:
    r, w = pipe
    watched = [r]

    def meddle() -> None:
        sleep(0.02)
        watched.clear()
        os.write(w, b"x")
    gt = spawn(meddle)
    assert select.select(watched, [], [], 5) == ([r], [], [])
    gt.wait()


def test_interrupted_select_cleans_up(pipe: tuple[int, int], waiter: str) -> None:
    r, _ = pipe
    get_hub()  # its own descriptors are not the ones counted
    before = _open_fds()
    with greenlane.Timeout(0.05, False):
        select.select([r], [], [], None)
        pytest.fail("the Timeout did not interrupt select()")
    assert _open_fds() == before  # the private epoll is closed
    # (the conftest fails the test if a listener or timer is left on the hub)


def _park_after_eagain(fd: int) -> bytes:
    # The green-I/O way of waiting (hub.park_on_fd), which trusts the hub's registrations.
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1)
    except BlockingIOError:
        get_hub().park_on_fd(READ, fd, getcurrent())
        return os.read(fd, 1)


def test_private_epoll_number_reuse_is_safe(pipe: tuple[int, int]) -> None:
    # The private epoll's fd is forgotten by the hub before it is closed: a new descriptor
    # that gets the same number must still wake a waiter parked the green-I/O way (which
    # trusts the hub's record of what is registered).
    if real.epoll is None:
        pytest.skip("needs epoll")
    r, w = pipe
    get_hub()
    lowest = os.dup(0)
    os.close(lowest)  # the number the private epoll is about to get
    _write_later(w, delay=0.01)
    assert select.select([r], [], [], 5) == ([r], [], [])
    new_r, new_w = os.pipe()
    try:
        assert new_r == lowest
        reader = spawn(_park_after_eagain, new_r)
        sleep(0.01)
        os.write(new_w, b"!")
        with greenlane.Timeout(2):
            assert reader.wait() == b"!"
    finally:
        os.close(new_r)
        os.close(new_w)


def test_select_on_regular_files(tmp_path: Any) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    with open(path, "rb") as f:
        # Regular files are always ready for reading and writing, never for urgent data.
        assert select.select([f], [f], [], None) == ([f], [f], [])
        start = time.monotonic()
        assert select.select([], [], [f], 0.05) == ([], [], [])
        assert time.monotonic() - start >= 0.04


# ----------------------------------------------------------------------------- poll()
def test_poll_waits_cooperatively(pipe: tuple[int, int], waiter: str) -> None:
    r, w = pipe
    p = select.poll()
    p.register(r, select.POLLIN)
    ran = []
    spawn(ran.append, 1)
    writer = _write_later(w)
    assert p.poll(5000) == [(r, select.POLLIN)]
    assert ran == [1]
    writer.wait()


def test_poll_timeout_in_milliseconds(pipe: tuple[int, int], waiter: str) -> None:
    r, _ = pipe
    p = select.poll()
    p.register(r, select.POLLIN)
    start = time.monotonic()
    assert p.poll(100) == []
    assert 0.09 <= time.monotonic() - start < 2
    assert p.poll(0) == []


def test_poll_negative_or_none_timeout_waits_for_ever(pipe: tuple[int, int]) -> None:
    r, w = pipe
    p = select.poll()
    p.register(r)
    for timeout in (None, -1, -5):
        writer = _write_later(w, delay=0.02)
        assert p.poll(timeout) == [(r, select.POLLIN)]
        os.read(r, 1)
        writer.wait()


def test_poll_pollout_and_hangup(waiter: str) -> None:
    a, b = socket.socketpair()
    with a:
        p = select.poll()
        p.register(a, select.POLLOUT)
        assert p.poll(1000) == [(a.fileno(), select.POLLOUT)]
        p.modify(a, select.POLLIN)
        spawn(lambda: (sleep(0.02), b.close()))
        [(fd, events)] = p.poll(5000)
        assert fd == a.fileno()
        assert events & select.POLLHUP


def test_poll_pollerr_on_a_pipe_with_no_reader(pipe: tuple[int, int], waiter: str) -> None:
    r, w = pipe
    p = select.poll()
    p.register(w, 0)  # no interest: errors are reported all the same
    spawn(lambda: (sleep(0.02), os.close(r)))
    if waiter == "listeners":
        # Documented: hub listeners cannot wait for errors alone; the error is seen by the
        # final check when the timeout ends the wait.
        start = time.monotonic()
        assert p.poll(200) == [(w, select.POLLERR)]
        assert time.monotonic() - start >= 0.15
    else:
        assert p.poll(5000) == [(w, select.POLLERR)]


def test_poll_pollnval_for_a_closed_fd(pipe: tuple[int, int]) -> None:
    r, w = pipe
    p = select.poll()
    p.register(r, select.POLLIN)
    os.close(r)
    assert p.poll(None) == [(r, select.POLLNVAL)]


def test_poll_registration_errors_are_the_stdlibs(pipe: tuple[int, int]) -> None:
    r, w = pipe
    p = select.poll()
    with pytest.raises(ValueError):
        p.register(-1)
    with pytest.raises(FileNotFoundError):
        p.modify(r, select.POLLIN)
    with pytest.raises(KeyError):
        p.unregister(r)
    with pytest.raises(TypeError):
        p.register(object())
    with pytest.raises(TypeError, match="integer or None"):
        p.poll("1")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        p.poll(1 << 40)
    p.register(r)
    p.unregister(r)
    assert p.poll(0) == []


def test_poll_unregistered_during_the_wait(pipe: tuple[int, int]) -> None:
    # The stdlib's test_threaded_poll, on green threads: the registrations change under a
    # poll() in progress, which returns what the object holds when it wakes up.
    r, w = pipe
    p = select.poll()
    p.register(r, select.POLLIN)
    gt = spawn(p.poll)
    sleep(0.01)
    with pytest.raises(RuntimeError, match="concurrent poll"):
        p.poll(0)
    p.unregister(r)
    p.register(w, select.POLLOUT)
    os.write(w, b"wake")
    assert gt.wait() == [(w, select.POLLOUT)]


def test_poll_with_nothing_registered_sleeps(fresh_hub: None) -> None:
    use_hub(VirtualClockHub)
    hub = get_hub()
    start = hub.clock()
    assert select.poll().poll(12_000) == []
    assert hub.clock() - start == pytest.approx(12)


# ----------------------------------------------------------------------------- epoll
@needs_epoll
def test_epoll_waits_cooperatively(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with select.epoll() as ep:
        ep.register(r, select.EPOLLIN)
        ran = []
        spawn(ran.append, 1)
        writer = _write_later(w)
        assert ep.poll(5) == [(r, select.EPOLLIN)]
        assert ran == [1]
        writer.wait()
        os.write(w, b"x")
        assert ep.poll(-1, 1) == [(r, select.EPOLLIN)]


@needs_epoll
def test_epoll_timeout_and_errors(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    start = time.monotonic()
    assert ep.poll(0.1) == []
    assert 0.09 <= time.monotonic() - start < 2
    with pytest.raises(ValueError, match="maxevents"):
        ep.poll(1, 0)
    with pytest.raises(TypeError):
        ep.poll("1")  # type: ignore[arg-type]
    with pytest.raises(FileExistsError):
        ep.register(r)
    ep.close()
    assert ep.closed
    with pytest.raises(ValueError):
        ep.poll(1)
    with pytest.raises(ValueError):
        ep.fileno()
    with pytest.raises(TypeError):
        select.epoll(1, 2, 3)  # type: ignore[call-arg]


@needs_epoll
def test_epoll_closed_while_a_green_thread_waits(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    gt = spawn(ep.poll, None)
    sleep(0.01)
    ep.close()
    with pytest.raises(ValueError, match="closed"):
        gt.wait()


@needs_epoll
def test_epoll_fromfd(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with select.epoll() as ep:
        ep.register(r, select.EPOLLIN)
        with select.epoll.fromfd(os.dup(ep.fileno())) as other:
            assert isinstance(other, select.epoll)
            writer = _write_later(w, delay=0.01)
            assert other.poll(5) == [(r, select.EPOLLIN)]
            writer.wait()


@needs_epoll
def test_epoll_closed_behind_the_hubs_back(pipe: tuple[int, int]) -> None:
    # An epoll object may be closed without close() (garbage collection closes it): the hub
    # holds no registration for its number after poll() returns, so a descriptor that reuses
    # the number is waited for correctly.
    r, w = pipe
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    writer = _write_later(w, delay=0.01)
    assert ep.poll(5) == [(r, select.EPOLLIN)]
    writer.wait()
    number = ep.fileno()
    ep._epoll.close()  # what collecting it does: the hub is not told
    new_r, new_w = os.pipe()
    try:
        assert new_r == number
        reader = spawn(_park_after_eagain, new_r)
        sleep(0.01)
        os.write(new_w, b"!")
        with greenlane.Timeout(2):
            assert reader.wait() == b"!"
    finally:
        os.close(new_r)
        os.close(new_w)


@needs_epoll
def test_epoll_concurrent_pollers_overlap() -> None:
    pipes = [os.pipe() for _ in range(20)]
    epolls = []
    try:
        for r, _ in pipes:
            ep = select.epoll()
            ep.register(r, select.EPOLLIN)
            epolls.append(ep)
        start = time.monotonic()
        gts = [spawn(ep.poll, 0.2) for ep in epolls]
        assert [gt.wait() for gt in gts] == [[]] * 20
        assert time.monotonic() - start < 2.0
    finally:
        for ep in epolls:
            ep.close()
        for a, b in pipes:
            os.close(a)
            os.close(b)


# ----------------------------------------------------------------------------- patching
def test_monkey_patched_select_is_cooperative() -> None:
    code = """
import os, time
import greenlane
greenlane.monkey_patch(select=True, socket=False, thread=False, os=False, time=False,
                       subprocess=False, psycopg=False)
import select, selectors
from greenlane.green import select as green
assert select.select is green.select and select.poll is green.poll
r, w = os.pipe()
def writer():
    greenlane.sleep(0.05)
    os.write(w, b"x")
ran = []
greenlane.spawn(writer)
greenlane.spawn(ran.append, 1)
start = time.monotonic()
assert select.select([r], [], [], 5) == ([r], [], [])
assert ran == [1]
with selectors.DefaultSelector() as sel:
    sel.register(r, selectors.EVENT_READ)
    assert [key.fd for key, _ in sel.select(5)] == [r]
print("ok")
"""
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- hub backends
def test_waits_work_on_every_hub_backend(hub_backend: str) -> None:
    # The private epoll (or the listeners) is waited for by whichever hub is in use.
    r, w = os.pipe()
    try:
        writer = _write_later(w, delay=0.02)
        assert select.select([r], [], [], 5) == ([r], [], [])
        writer.wait()
        os.read(r, 1)
        p = select.poll()
        p.register(r, select.POLLIN)
        writer = _write_later(w, delay=0.02)
        assert p.poll(5000) == [(r, select.POLLIN)]
        writer.wait()
        os.read(r, 1)
        if real.epoll is not None:
            with select.epoll() as ep:
                ep.register(r, select.EPOLLIN)
                writer = _write_later(w, delay=0.02)
                assert ep.poll(5) == [(r, select.EPOLLIN)]
                writer.wait()
        assert select.select([r], [], [], 0.05) == ([r], [], [])
    finally:
        os.close(r)
        os.close(w)


def test_select_lets_others_run_even_when_ready_at_once() -> None:
    # A loop that always finds its descriptor ready must not starve other green threads.
    import greenlane
    from greenlane.green import select as green_select

    r, w = socket.socketpair()
    try:
        w.send(b"x")  # r stays readable
        ran: list[int] = []
        other = greenlane.spawn(ran.append, 1)
        for _ in range(3):
            assert green_select.select([r], [], [], 5)[0] == [r]
        assert ran == [1]
        other.wait()
        p = green_select.poll()
        p.register(r, green_select.POLLIN)
        other = greenlane.spawn(ran.append, 2)
        assert p.poll(5000)
        assert ran == [1, 2]
        other.wait()
        ep = green_select.epoll()
        ep.register(r.fileno(), green_select.EPOLLIN)
        other = greenlane.spawn(ran.append, 3)
        assert ep.poll(5)
        assert ran == [1, 2, 3]
        other.wait()
        ep.close()
    finally:
        r.close()
        w.close()


def test_select_on_a_descriptor_closed_under_it_raises_ioclosed(pipe: tuple[int, int]) -> None:
    # Closing through notify_close (green sockets, os.close of the green os module,
    # mark_as_reopened) ends a select waiting on that fd, as it ends any other green wait.
    from greenlane.hubs import IOClosed, notify_close

    r, _ = pipe
    waiter = spawn(select.select, [r], [], [], None)
    while not get_hub().statistics().readers:  # parked (it yields once before it waits)
        sleep(0)
    notify_close(r)
    with pytest.raises(IOClosed):
        waiter.wait()
    assert get_hub().statistics().readers == 0


# ----------------------------------------------------------------------------- get_fileno
def test_get_fileno_of_an_int_and_of_an_object_with_fileno() -> None:
    assert "get_fileno" in select.__all__
    assert select.get_fileno(0) == 0
    assert select.get_fileno(123) == 123
    a, b = socket.socketpair()
    try:
        assert select.get_fileno(a) == a.fileno()
        with os.fdopen(os.dup(b.fileno()), "rb") as f:
            assert select.get_fileno(f) == f.fileno()
    finally:
        a.close()
        b.close()

    class Int(int):
        pass

    result = select.get_fileno(Int(7))
    assert result == 7 and type(result) is int


@pytest.mark.parametrize("bad", ["foo", 1.5, None, b"3"])
def test_get_fileno_refuses_what_is_not_a_descriptor(bad: Any) -> None:
    # eventlet's message, word for word: code written for it may match on it.
    with pytest.raises(TypeError) as info:
        select.get_fileno(bad)
    assert str(info.value) == f"Expected int or long, got {type(bad)}"

    class Bad:
        def fileno(self) -> Any:
            return bad

    with pytest.raises(TypeError) as info:
        select.get_fileno(Bad())
    assert str(info.value) == f"Expected int or long, got {type(bad)}"


def test_get_fileno_refuses_a_negative_descriptor() -> None:
    with pytest.raises(ValueError, match=r"negative integer \(-1\)$"):
        select.get_fileno(-1)
    closed = socket.socket()
    closed.close()  # fileno() is -1 from now on
    with pytest.raises(ValueError, match=r"negative integer \(-1\) \(the fileno\(\) of "):
        select.get_fileno(closed)
    # select() itself refuses the same objects with the same exception type.
    with pytest.raises(ValueError):
        select.select([closed], [], [], 0)


def test_get_fileno_propagates_an_error_raised_by_fileno() -> None:
    class Broken:
        def fileno(self) -> int:
            raise OSError(errno.EBADF, "gone")

    with pytest.raises(OSError, match="gone"):
        select.get_fileno(Broken())
