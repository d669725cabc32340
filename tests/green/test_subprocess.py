"""greenlane.green.subprocess: stdlib semantics; waits and pipes suspend one green thread.

Real commands throughout (``sh``, ``sleep``, ``cat``, ``head``, the test interpreter); results
are compared with what the stdlib's own ``subprocess`` returns for the same command.
"""

from __future__ import annotations

import os
import subprocess as stdsubprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from greenlane.green import subprocess
from greenlane.greenio import GreenPipe  # noqa: F401 - the type behind Popen's pipes
from greenlane.greenio._pipe import GreenFileIO
from greenlane.greenthread import sleep, spawn

MIB = 1 << 20


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _ticker(n: int, interval: float) -> Any:
    ticks: list[int] = []

    def tick() -> list[int]:
        for i in range(n):
            ticks.append(i)
            sleep(interval)
        return ticks

    return spawn(tick)


@pytest.mark.parametrize("args,kwargs", [
    (["echo", "hello"], {"capture_output": True}),
    (["sh", "-c", "echo out; echo err >&2; exit 3"], {"capture_output": True}),
    (["sh", "-c", "printf 'a\\r\\nb\\rc'"], {"stdout": stdsubprocess.PIPE, "text": True}),
    (["cat"], {"input": b"fed through stdin", "capture_output": True}),
    (["cat"], {"input": "text in, text out\n", "capture_output": True, "text": True}),
    ("echo $((6 * 7)) 1>&2", {"shell": True, "stderr": stdsubprocess.STDOUT,
                              "stdout": stdsubprocess.PIPE}),
    (["true"], {}),
    (["cat"], {"input": b"", "stdout": stdsubprocess.DEVNULL}),
])
def test_run_returns_what_the_stdlib_returns(args: Any, kwargs: dict[str, Any]) -> None:
    expected = stdsubprocess.run(args, **kwargs)
    got = subprocess.run(args, **kwargs)
    assert isinstance(got, stdsubprocess.CompletedProcess)
    assert (got.args, got.returncode, got.stdout, got.stderr) == \
        (expected.args, expected.returncode, expected.stdout, expected.stderr)


def test_helpers_match_the_stdlib() -> None:
    assert subprocess.check_output(["echo", "x"]) == stdsubprocess.check_output(["echo", "x"])
    assert subprocess.call(["sh", "-c", "exit 5"]) == 5
    assert subprocess.check_call(["true"]) == 0
    assert subprocess.getoutput("echo hi; exit 2") == "hi"
    assert subprocess.getstatusoutput("echo hi; exit 2") == (2, "hi")
    with pytest.raises(stdsubprocess.CalledProcessError) as info:
        subprocess.check_output(["sh", "-c", "echo partial; exit 4"])
    assert (info.value.returncode, info.value.output) == (4, b"partial\n")
    with pytest.raises(FileNotFoundError):
        subprocess.run(["/nonexistent/greenlane-test-binary"])
    assert subprocess.TimeoutExpired is stdsubprocess.TimeoutExpired
    assert subprocess.CompletedProcess is stdsubprocess.CompletedProcess
    assert issubclass(subprocess.Popen, stdsubprocess.Popen)
    assert set(subprocess.__all__) == set(stdsubprocess.__all__)


@pytest.mark.usefixtures("hub_backend")
def test_wait_suspends_only_the_caller() -> None:
    proc = subprocess.Popen(["sleep", "0.2"])
    ticker = _ticker(10, 0.005)
    started = time.monotonic()
    assert proc.wait() == 0
    assert ticker.wait() == list(range(10))  # ran while we waited
    assert 0.15 < time.monotonic() - started < 5


@pytest.mark.usefixtures("hub_backend")
def test_wait_timeout() -> None:
    proc = subprocess.Popen(["sleep", "10"])
    try:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired) as info:
            proc.wait(timeout=0.1)
        assert 0.09 < time.monotonic() - started < 2
        assert info.value.timeout == 0.1 and info.value.cmd == ["sleep", "10"]
        assert proc.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0)
    finally:
        proc.kill()
        assert proc.wait() == -9


def test_run_timeout_kills_the_child_and_keeps_partial_output() -> None:
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        subprocess.run(["sh", "-c", "echo $$; exec sleep 10"], timeout=0.5,
                       capture_output=True)
    elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 3
    assert info.value.stdout is not None  # the pid came out before the timeout
    pid = int(info.value.stdout)
    assert _gone(pid)  # run() killed it and reaped it, as the stdlib does
    assert info.value.stderr is None


def test_run_timeout_without_pipes() -> None:
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["sleep", "10"], timeout=0.2)
    assert 0.18 < time.monotonic() - started < 2


def test_large_output_on_stdout_and_stderr_at_once() -> None:
    # The child alternates 64 KiB blocks between stdout and stderr: reading one pipe to the end
    # before the other would deadlock once the other pipe is full.
    code = ("import os\nblock = b'o' * 65536\nfor _ in range(256):\n"
            "    os.write(1, block)\n    os.write(2, block.upper())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0
    assert len(result.stdout) == 16 * MIB and len(result.stderr) == 16 * MIB
    assert set(result.stdout) == {ord("o")} and set(result.stderr) == {ord("O")}


def test_communicate_feeds_and_drains_at_once() -> None:
    data = os.urandom(4 * MIB)
    proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, err = proc.communicate(data, timeout=60)
    assert out == data and err is None and proc.returncode == 0


def test_communicate_resumes_after_a_timeout() -> None:
    proc = subprocess.Popen(["sh", "-c", "echo first; sleep 0.3; echo second"],
                            stdout=subprocess.PIPE, text=True)
    with pytest.raises(subprocess.TimeoutExpired) as info:
        proc.communicate(timeout=0.1)
    assert info.value.output == b"first\n"  # bytes, as the stdlib gives them
    out, err = proc.communicate(timeout=5)
    assert out == "first\nsecond\n" and err is None


def test_pipes_are_green() -> None:
    proc = subprocess.Popen(["sh", "-c", "echo one; sleep 0.2; echo two"],
                            stdout=subprocess.PIPE, text=True)
    with proc:
        assert isinstance(proc.stdout.buffer.raw, GreenFileIO)
        ticker = _ticker(10, 0.005)
        lines = list(proc.stdout)  # waits 0.2 s for the second line, without blocking the hub
        assert lines == ["one\n", "two\n"]
        assert ticker.wait() == list(range(10))
    assert proc.returncode == 0


@pytest.mark.parametrize("how", ["keyword", "positional", "text"])
def test_a_pipe_handed_to_another_child_is_blocking_there(how: str) -> None:
    # CPython's test_pipe_cloexec_real_tools: p1.stdout (non-blocking in this process, for
    # the hub) as p2's stdin. O_NONBLOCK belongs to the open file: shared, p2 would read
    # EAGAIN before p1 writes. p1 writes late so that p2 always reads first.
    p1 = subprocess.Popen(["sh", "-c", "sleep 0.3; cat"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=how == "text")
    reader = [sys.executable, "-c",
              "import os, sys; print(os.get_blocking(0)); print(sys.stdin.read().upper())"]
    if how == "positional":
        p2 = subprocess.Popen(reader, -1, None, p1.stdout, subprocess.PIPE)
    else:
        p2 = subprocess.Popen(reader, stdin=p1.stdout, stdout=subprocess.PIPE)
    try:
        assert p1.stdout is not None and p1.stdin is not None
        assert not os.get_blocking(p1.stdout.fileno())  # ours stays non-blocking
        p1.stdout.close()  # as the subprocess documentation's pipeline recipe does
        p1.stdin.write("data\n" if how == "text" else b"data\n")
        p1.stdin.close()
        out, _ = p2.communicate(timeout=30)
        assert out.split() == [b"True", b"DATA"]
    finally:
        p1.wait(timeout=30)
        p2.wait(timeout=30)


def test_pipe_construction_follows_the_stdlib() -> None:
    for kwargs in ({"bufsize": 0}, {"bufsize": 1, "text": True}, {"text": True},
                   {"encoding": "latin-1", "errors": "replace"}):
        with subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              **kwargs) as mine, \
                stdsubprocess.Popen(["cat"], stdin=stdsubprocess.PIPE,
                                    stdout=stdsubprocess.PIPE, **kwargs) as theirs:
            for name in ("stdin", "stdout"):
                a, b = getattr(mine, name), getattr(theirs, name)
                assert type(a).__name__ == type(b).__name__ or (
                    type(b).__name__ == "FileIO" and isinstance(a, GreenFileIO)), kwargs
                for attr in ("encoding", "errors", "line_buffering", "write_through"):
                    assert getattr(a, attr, None) == getattr(b, attr, None), (kwargs, attr)
            mine.communicate()
            theirs.communicate()


def test_fifty_green_threads_run_commands_at_once() -> None:
    def sleeper() -> int:
        return subprocess.run(["sleep", "0.3"]).returncode

    def big_output() -> tuple[int, int]:
        result = subprocess.run(["sh", "-c", "head -c 1048576 /dev/zero; "
                                 "head -c 1048576 /dev/zero >&2"], capture_output=True)
        return len(result.stdout), len(result.stderr)

    def timing_out() -> str:
        try:
            subprocess.run(["sleep", "10"], timeout=0.3)
        except subprocess.TimeoutExpired:
            return "timeout"
        return "finished?"

    jobs = [sleeper] * 20 + [big_output] * 20 + [timing_out] * 10
    started = time.monotonic()
    threads = [spawn(job) for job in jobs]
    results = [gt.wait() for gt in threads]
    elapsed = time.monotonic() - started
    assert results == [0] * 20 + [(MIB, MIB)] * 20 + ["timeout"] * 10
    serial = 20 * 0.3 + 10 * 0.3
    assert elapsed < serial / 3, elapsed


SCRIPT_PATCHED = """
import time
import greenlane
greenlane.monkey_patch(subprocess=True)
import subprocess
from greenlane.green import subprocess as green
assert subprocess.Popen is green.Popen
started = time.monotonic()
threads = [greenlane.spawn(subprocess.run, ["sleep", "0.3"]) for _ in range(10)]
assert [t.wait().returncode for t in threads] == [0] * 10
out = subprocess.check_output(["echo", "patched"])
print(round(time.monotonic() - started, 2), out.decode().strip())
"""


def test_monkey_patched_stdlib_uses_green_popen() -> None:
    proc = stdsubprocess.run([sys.executable, "-c", SCRIPT_PATCHED], capture_output=True,
                             text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    elapsed, word = proc.stdout.split()
    assert word == "patched"
    assert float(elapsed) < 1.5  # ten 0.3 s sleeps overlapped (serially: 3 s)


def test_missing_stdlib_internal_is_reported_clearly() -> None:
    code = textwrap.dedent("""
        import subprocess
        del subprocess.Popen._try_wait
        import greenlane.green.subprocess
    """)
    proc = stdsubprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "subprocess.Popen._try_wait" in proc.stderr
