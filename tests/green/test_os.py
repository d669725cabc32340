"""greenlane.green.os: read and write that never block the process, open/close/fdopen."""

from __future__ import annotations

import os as stdos
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
    assert {"read", "write", "open", "close", "fdopen", "getpid"} <= set(os.__all__)


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
