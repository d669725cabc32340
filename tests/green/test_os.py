"""greenlane.green.os: read and write that never block the process, open/close/fdopen."""

from __future__ import annotations

import errno
import inspect
import os as stdos
import pickle
import time

import pytest

from greenlane.green import os
from greenlane.greenio import IOClosed
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub


def _blocked(gt: object) -> bool:
    for _ in range(3):
        sleep(0)
    return not gt.dead  # type: ignore[attr-defined]


def test_module_mirrors_the_stdlib() -> None:
    assert os.getpid is stdos.getpid
    assert os.O_RDONLY == stdos.O_RDONLY
    assert os.read is not stdos.read
    assert {"read", "write", "open", "close", "fdopen", "getpid", "waitpid", "wait"} <= set(
        os.__all__)
    assert os.waitpid is not stdos.waitpid and os.fork is stdos.fork


def test_every_name_of_the_stdlib_module_is_there() -> None:
    # Names outside os.__all__ too: pathlib registers with os.PathLike at import.
    missing = [name for name in dir(stdos) if not name.startswith("__") and not hasattr(os, name)]
    assert missing == []
    assert os.PathLike is stdos.PathLike and os.supports_fd is stdos.supports_fd


REPLACED = ("read", "write", "waitpid", "wait", "open", "close", "fdopen")


@pytest.mark.parametrize("name", REPLACED)
def test_replacements_do_not_bind_as_methods(name: str) -> None:
    # As the builtins they replace: a class attribute holding one stays a plain function.
    holder = type("Holder", (), {"function": getattr(os, name)})()
    assert holder.function is getattr(os, name)
    assert getattr(os, name).__name__ == name
    assert pickle.loads(pickle.dumps(getattr(os, name))) is getattr(os, name)


def test_open_stored_in_a_class_opens_the_file(tmp_path: object) -> None:
    path = stdos.path.join(str(tmp_path), "data")
    with open(path, "w") as f:  # the builtin, to make the file
        f.write("abc")

    class Accessor:  # PyPy's pathlib._NormalAccessor keeps os.open this way
        open = os.open
        read = os.read
        close = os.close

    accessor = Accessor()
    fd = accessor.open(path, stdos.O_RDONLY)
    try:
        assert accessor.read(fd, 10) == b"abc"
    finally:
        accessor.close(fd)
    flags = inspect.signature(os.open).parameters["flags"]
    assert flags.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_pathlib_imported_patched_opens_files() -> None:
    # eventlet's issue 534: import_patched("pathlib") gets this module as os.
    import greenlane

    pathlib = greenlane.import_patched("pathlib")
    # 3.13's pathlib is a package; its submodules are patched copies too
    owner = pathlib if hasattr(pathlib, "os") else pathlib._local
    assert owner.os is os
    with pathlib.Path(__file__).open() as f:
        assert f.readline().startswith('"""greenlane.green.os')
    assert isinstance(pathlib.Path("x"), stdos.PathLike)


@pytest.mark.usefixtures("hub_backend")
@pytest.mark.parametrize("blocking", [True, False])
def test_read_on_an_empty_pipe_suspends_only_the_caller(blocking: bool) -> None:
    r, w = stdos.pipe()
    stdos.set_blocking(r, blocking)
    try:
        gt = spawn(os.read, r, 10)
        start = time.monotonic()
        assert _blocked(gt)  # the process was not blocked: we are running
        stdos.write(w, b"data")
        assert gt.wait() == b"data"
        assert time.monotonic() - start < 2
        assert stdos.get_blocking(r) == blocking  # flags untouched
    finally:
        stdos.close(r)
        stdos.close(w)


@pytest.mark.usefixtures("hub_backend")
def test_write_to_a_blocking_pipe_writes_everything_cooperatively() -> None:
    r, w = stdos.pipe()
    payload = b"p" * (1 << 20)  # far more than a pipe holds
    try:
        gt = spawn(os.write, w, payload)
        assert _blocked(gt)
        assert stdos.get_blocking(w)
        got = bytearray()
        while len(got) < len(payload):
            got += os.read(r, 1 << 16)
        assert gt.wait() == len(payload)  # like the blocking call: everything
        assert got == payload
    finally:
        stdos.close(r)
        stdos.close(w)


@pytest.mark.usefixtures("hub_backend")
def test_write_to_a_full_nonblocking_pipe_waits_then_returns_what_went() -> None:
    r, w = stdos.pipe()
    stdos.set_blocking(w, False)
    try:
        with pytest.raises(BlockingIOError):
            while True:
                stdos.write(w, b"f" * 65536)
        gt = spawn(os.write, w, b"late")
        assert _blocked(gt)
        stdos.read(r, 1 << 20)
        assert gt.wait() == 4  # like os.write: what the pipe took
    finally:
        stdos.close(r)
        stdos.close(w)


def test_the_wrong_end_of_a_blocking_pipe_fails_at_once() -> None:
    # CPython's test_signal.test_wakeup_write_error writes to a pipe's read end to get
    # EBADF: waiting for it to become writable first would wait for ever.
    r, w = stdos.pipe()
    try:
        for call, args in ((os.write, (r, b"x")), (os.read, (w, 1))):
            gt = spawn(call, *args)
            for _ in range(3):
                sleep(0)
            assert gt.dead, call.__name__
            with pytest.raises(OSError) as info:
                gt.wait()
            assert info.value.errno == errno.EBADF
        assert stdos.get_blocking(r) and stdos.get_blocking(w)
        assert os.write(w, b"ok") == 2 and os.read(r, 2) == b"ok"  # the right ends work
    finally:
        stdos.close(r)
        stdos.close(w)


def test_regular_files(tmp_path: object) -> None:
    path = stdos.path.join(str(tmp_path), "f")
    fd = os.open(path, stdos.O_RDWR | stdos.O_CREAT)
    try:
        assert os.write(fd, b"regular") == 7
        stdos.lseek(fd, 0, stdos.SEEK_SET)
        assert os.read(fd, 100) == b"regular"
        assert os.write(fd, b"") == 0
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        stdos.fstat(fd)


def test_close_wakes_a_waiter() -> None:
    r, w = stdos.pipe()
    stdos.set_blocking(r, False)
    gt = spawn(os.read, r, 1)
    assert _blocked(gt)
    os.close(r)
    with pytest.raises(IOClosed):
        gt.wait()
    stdos.close(w)
    assert get_hub().get_readers() == []


def test_fdopen_returns_a_green_pipe() -> None:
    r, w = stdos.pipe()
    f = os.fdopen(r, "rb")
    try:
        gt = spawn(f.read, 3)
        assert _blocked(gt)
        stdos.write(w, b"abc")
        assert gt.wait() == b"abc"
    finally:
        f.close()
        stdos.close(w)
    with pytest.raises(TypeError):
        os.fdopen("0")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- child waits
WAIT = 10.0


def _spawn_sleep(seconds: float) -> int:
    argv = ["sh", "-c", f"sleep {seconds}; exit 7"]
    if hasattr(stdos, "posix_spawn"):  # no fork(), which warns once pool threads exist (3.12+)
        return stdos.posix_spawn("/bin/sh", argv, stdos.environ)
    return stdos.spawnv(stdos.P_NOWAIT, "/bin/sh", argv)


def _run_script(code: str, timeout: float = 60) -> str:
    import subprocess
    import sys
    import textwrap

    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_wait_functions_are_declared_for_patching() -> None:
    ((group, module, names),) = os.__patches__
    assert (group, module) == ("os", "os")
    assert {"read", "write", "waitpid", "wait", "open", "close", "fdopen"} == set(names)
    assert {"waitpid", "wait"} <= set(os.__all__)


@pytest.mark.usefixtures("hub_backend")
def test_waitpid_suspends_only_the_caller() -> None:
    pid = _spawn_sleep(0.2)
    ticks: list[int] = []
    ticker = spawn(lambda: [ticks.append(i) or sleep(0.005) for i in range(10)])
    started = time.monotonic()
    got_pid, status = os.waitpid(pid, 0)
    assert got_pid == pid and stdos.WEXITSTATUS(status) == 7
    assert 0.15 < time.monotonic() - started < WAIT
    ticker.wait()
    assert ticks == list(range(10))  # ran while waitpid waited


def test_waitpid_wnohang_passes_through() -> None:
    pid = _spawn_sleep(10)
    try:
        assert os.waitpid(pid, stdos.WNOHANG) == (0, 0)
    finally:
        stdos.kill(pid, 9)
        assert os.waitpid(pid, 0)[0] == pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, stdos.WNOHANG)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)


def test_waitpid_in_a_thread_without_a_hub_makes_no_hub() -> None:
    import threading

    from greenlane.hubs import _context

    pid = _spawn_sleep(0.05)
    out: list[object] = []

    def plain_thread() -> None:
        out.append(os.waitpid(pid, 0)[0])
        out.append(_context.current.hub)

    t = threading.Thread(target=plain_thread)
    t.start()
    t.join(WAIT)
    assert out == [pid, None]


def test_waitpid_in_several_green_threads_at_once() -> None:
    pids = [_spawn_sleep(0.1 * (i % 3)) for i in range(12)]
    started = time.monotonic()
    threads = [spawn(os.waitpid, pid, 0) for pid in pids]
    assert [gt.wait()[0] for gt in threads] == pids
    assert time.monotonic() - started < 1.2 / 2  # serially: 1.2 s


SCRIPT_SIGCHLD = """
import os, signal, threading, time
import greenlane
from greenlane.green import os as gos

gos._children.pidfd_open = None   # as on a kernel without pidfds: SIGCHLD wakes the waits
chained = []
signal.signal(signal.SIGCHLD, lambda signum, frame: chained.append(signum))

def spawn_sleep(seconds):
    return os.spawnv(os.P_NOWAIT, "/bin/sh", ["sh", "-c", "sleep %s; exit 3" % seconds])

# One child, waited for by pid, while another green thread keeps running.
pid = spawn_sleep(0.2)
ticker = greenlane.spawn(lambda: [greenlane.sleep(0.005) for _ in range(10)])
started = time.monotonic()
got, status = gos.waitpid(pid, 0)
assert got == pid and os.WEXITSTATUS(status) == 3, (got, status)
assert ticker.dead, "the hub was blocked"
assert 0.15 < time.monotonic() - started < 0.9, time.monotonic() - started
assert signal.getsignal(signal.SIGCHLD) == gos._children._on_sigchld
assert chained, "the handler that was there before was not called"

# wait(): any child, three at once in three green threads.
pids = {spawn_sleep(0.1), spawn_sleep(0.2), spawn_sleep(0.3)}
threads = [greenlane.spawn(gos.wait) for _ in range(3)]
assert {t.wait()[0] for t in threads} == pids

# A thread with its own hub, woken through call_threadsafe by the main thread's handler.
out = []
def other_thread():
    pid = spawn_sleep(0.2)
    started = time.monotonic()
    got = greenlane.spawn(gos.waitpid, pid, 0).wait()[0]   # a green thread on this thread's hub
    out.append((got == pid, time.monotonic() - started))
t = threading.Thread(target=other_thread)
t.start()
while t.is_alive():
    greenlane.sleep(0.01)   # the main thread runs its hub, where the handler runs
ok, took = out[0]
assert ok and took < 0.9, out
print("ok")
"""


def test_sigchld_path_without_pidfds() -> None:
    assert _run_script(SCRIPT_SIGCHLD).strip() == "ok"


SCRIPT_FALLBACKS = """
import os, signal, threading, time
import greenlane
from greenlane.green import os as gos

def spawn_sleep(seconds):
    return os.spawnv(os.P_NOWAIT, "/bin/sh", ["sh", "-c", "sleep %s; exit 3" % seconds])

# First wait for "any child" in a thread other than the main one: no handler can be installed
# there, so it re-checks with growing intervals, and still returns.
out = []
def other_thread():
    pid = spawn_sleep(0.1)
    out.append(greenlane.spawn(gos.wait).wait()[0] == pid)   # on this thread's own hub
t = threading.Thread(target=other_thread)
t.start()
t.join(10)
assert out == [True], out
assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL  # left alone

# SIGCHLD ignored: the kernel reaps children itself, and waitpid says so, as the stdlib's does.
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
pid = spawn_sleep(0.1)
try:
    greenlane.spawn(gos.waitpid, -1, 0).wait()
except ChildProcessError:
    pass
else:
    raise AssertionError("expected ChildProcessError")
assert signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN
print("ok")
"""


def test_fallbacks_when_no_sigchld_handler_can_be_installed() -> None:
    assert _run_script(SCRIPT_FALLBACKS).strip() == "ok"


SCRIPT_PATCHED = """
import os, time
import greenlane
greenlane.monkey_patch(os=True)
from greenlane.green import os as gos
assert os.waitpid is gos.waitpid and os.read is gos.read
r, w = os.pipe()
reader = greenlane.spawn(os.read, r, 10)
pid = os.spawnv(os.P_NOWAIT, "/bin/sleep", ["sleep", "0.2"])
waiter = greenlane.spawn(os.waitpid, pid, 0)
greenlane.sleep(0.05)
os.write(w, b"while waiting")
assert reader.wait() == b"while wait"
assert waiter.wait()[0] == pid
print("ok")
"""


def test_monkey_patched_os() -> None:
    assert _run_script(SCRIPT_PATCHED).strip() == "ok"


# ----------------------------------------------------------------------------- FIFOs
def _open_fds() -> int:
    get_hub()  # the hub's own descriptors are not the test's concern
    return len(stdos.listdir("/proc/self/fd"))


@pytest.mark.skipif(not stdos.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_opening_a_fifo_waits_for_the_other_end_cooperatively(tmp_path: object) -> None:
    path = stdos.path.join(str(tmp_path), "fifo")
    stdos.mkfifo(path)
    reader = spawn(os.open, path, stdos.O_RDONLY)
    assert _blocked(reader)  # waiting for a writer, without blocking the hub
    w = os.open(path, stdos.O_WRONLY)
    r = reader.wait()
    try:
        os.write(w, b"through the fifo")
        assert os.read(r, 100) == b"through the fifo"
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.skipif(not stdos.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_a_fifo_open_given_up_does_not_leak_its_descriptor(tmp_path: object) -> None:
    from greenlane.timeout import Timeout

    path = stdos.path.join(str(tmp_path), "fifo")
    stdos.mkfifo(path)
    before = _open_fds()
    with pytest.raises(Timeout), Timeout(0.05):
        os.open(path, stdos.O_RDONLY)
    # The pool thread is still in open(); give it its writer, then it closes what it got.
    w = stdos.open(path, stdos.O_WRONLY | stdos.O_NONBLOCK)
    stdos.close(w)
    deadline = time.monotonic() + WAIT
    while _open_fds() > before and time.monotonic() < deadline:
        time.sleep(0.001)
    assert _open_fds() == before
