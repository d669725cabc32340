"""The green I/O toolkit (greenio/_io.py): the one wait after EAGAIN, timeouts, fd lifetime."""

from __future__ import annotations

import array
import math
import os
import re
import socket
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import pytest

from greenlane.greenio import IOClosed
from greenlane.greenio._io import (
    SocketTimeouts,
    byte_view,
    check_timeout,
    close_fd,
    deadline,
    io_retry,
    notify_close,
    notify_opened,
    remaining,
    send_all,
    timeout_error,
    wait_after_eagain,
)
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import READ, WRITE, get_hub
from greenlane.timeout import is_timeout

SRC = Path(__file__).resolve().parents[2] / "src" / "greenlane"


@pytest.fixture
def raw_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    for sock in (a, b):
        if sock.fileno() >= 0:
            notify_close(sock.fileno())
        sock.close()


def _blocked(gt: Any) -> bool:
    for _ in range(3):
        sleep(0)
    return not gt.dead


def _fill(sock: socket.socket) -> None:
    try:
        while True:
            sock.send(b"f" * 65536)
    except BlockingIOError:
        pass


# ---------------------------------------------------------------------------- io_retry
def test_io_retry_waits_then_returns_the_call_result(raw_pair: Any) -> None:
    a, b = raw_pair
    with pytest.raises(BlockingIOError):
        a.recv(10)
    gt = spawn(io_retry, a.fileno(), READ, None, a.recv, (10,))
    assert _blocked(gt)
    b.send(b"ready")
    assert gt.wait() == b"ready"
    assert get_hub().get_readers() == []


def test_io_retry_times_out_in_total_and_leaves_no_timer(raw_pair: Any) -> None:
    a, _ = raw_pair
    hub = get_hub()
    start = hub.clock()
    with pytest.raises(socket.timeout) as info:
        io_retry(a.fileno(), READ, 0.05, a.recv, (10,))
    assert hub.clock() - start >= 0.04
    assert is_timeout(info.value)
    assert hub.get_timers_count() == 0 and hub.get_readers() == []


def test_io_retry_switches_direction_on_want_read_and_want_write(raw_pair: Any) -> None:
    # A TLS-like call that wants to write, then to read: io_retry must wait for each direction
    # in turn, and readiness in the other direction must not wake it.
    a, b = raw_pair

    class WantRead(Exception):
        pass

    class WantWrite(Exception):
        pass

    _fill(a)  # writing would block: the precondition of the first wait
    calls: list[int] = []

    def call() -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise WantRead
        return a.recv(10)  # type: ignore[no-any-return]

    gt = spawn(io_retry, a.fileno(), WRITE, None, call, (), BlockingIOError, WantRead, WantWrite)
    assert _blocked(gt) and calls == []
    try:
        while True:
            b.recv(1 << 20)
    except BlockingIOError:
        pass
    # Writable now: the hub wakes it when it next polls, the call asks to read, and it parks.
    for _ in range(2000):
        if calls:
            break
        sleep(0.001)
    assert calls == [1]
    assert _blocked(gt), "readability was never there: it must still wait"
    b.send(b"tls")
    assert gt.wait() == b"tls"
    assert calls == [1, 1]


def test_io_retry_raises_ioclosed_when_the_fd_is_closed(raw_pair: Any) -> None:
    a, _ = raw_pair
    gt = spawn(io_retry, a.fileno(), READ, 5.0, a.recv, (1,))
    assert _blocked(gt)
    notify_close(a.fileno())
    with pytest.raises(IOClosed):
        gt.wait()
    assert get_hub().get_timers_count() == 0


def test_wait_after_eagain_only_waits(raw_pair: Any) -> None:
    a, b = raw_pair
    with pytest.raises(BlockingIOError):
        a.recv(1)
    gt = spawn(wait_after_eagain, a.fileno(), READ)
    assert _blocked(gt)
    b.send(b"x")
    assert gt.wait() is None
    assert a.recv(1) == b"x"  # the data is still there: nothing was called
    with pytest.raises(BlockingIOError):
        a.recv(1)
    with pytest.raises(socket.timeout):
        wait_after_eagain(a.fileno(), READ, 0.02)


# ---------------------------------------------------------------------------- send_all
def test_send_all_waits_between_partial_sends(raw_pair: Any) -> None:
    a, b = raw_pair
    payload = os.urandom(1 << 20)
    received = bytearray()

    def drain() -> None:
        while len(received) < len(payload):
            try:
                received.extend(b.recv(65536))
            except BlockingIOError:
                wait_after_eagain(b.fileno(), READ)

    reader = spawn(drain)
    with memoryview(payload) as view:
        send_all(a.fileno(), a.send, view, 0, 0, deadline(10.0))
    reader.wait()
    assert received == payload


def test_send_all_deadline_bounds_the_whole_call(raw_pair: Any) -> None:
    a, _ = raw_pair
    _fill(a)
    with memoryview(b"z" * 65536) as view, pytest.raises(socket.timeout):
        send_all(a.fileno(), a.send, view, 0, 0, deadline(0.05))
    assert get_hub().get_writers() == []


# ---------------------------------------------------------------------------- timeouts
# CPython's rules (PyPy's own sockets are more lenient; greenlane follows CPython there too).
_BAD_TIMEOUTS = [("1", TypeError), (object(), TypeError), (Decimal("1"), TypeError),
                 (-1, ValueError), (-0.5, ValueError), (math.nan, ValueError),
                 (2 ** 70, OverflowError), (1e300, OverflowError)]


@pytest.mark.parametrize("bad,kind", _BAD_TIMEOUTS)
def test_check_timeout_rejects_as_cpython_settimeout_does(bad: Any, kind: type) -> None:
    with pytest.raises(kind):
        check_timeout(bad)
    if sys.implementation.name == "cpython":
        with socket.socket() as real, pytest.raises(kind):
            real.settimeout(bad)


def test_check_timeout_accepts() -> None:
    assert check_timeout(None) is None
    assert check_timeout(0) == 0.0 and isinstance(check_timeout(0), float)
    assert check_timeout(2.5) == 2.5
    assert check_timeout(True) == 1.0


def test_deadline_and_remaining() -> None:
    assert deadline(None) is None
    assert remaining(None) is None
    when = deadline(10.0)
    assert when is not None
    left = remaining(when)
    assert left is not None and 9.0 < left <= 10.0
    with pytest.raises(socket.timeout):
        remaining(get_hub().clock() - 1)
    exc = timeout_error()
    assert isinstance(exc, socket.timeout) and str(exc) == "timed out"


class _Timed(SocketTimeouts):
    __slots__ = ("_timeout", "act_non_blocking")

    def __init__(self, timeout: Optional[float]) -> None:
        self._timeout = timeout
        self.act_non_blocking = timeout == 0.0


def test_socket_timeouts_mixin() -> None:
    obj = _Timed(None)
    assert obj.gettimeout() is None and obj.getblocking() and obj.timeout is None
    obj.settimeout(1)
    assert obj.gettimeout() == 1.0 and obj.getblocking() and not obj.act_non_blocking
    obj.setblocking(False)
    assert obj.gettimeout() == 0.0 and not obj.getblocking() and obj.act_non_blocking
    obj.setblocking(True)
    assert obj.gettimeout() is None and obj.getblocking() and not obj.act_non_blocking
    with pytest.raises(ValueError):
        obj.settimeout(-1)
    assert not hasattr(obj, "__dict__")  # the mixin keeps slotted classes slotted


# ---------------------------------------------------------------------------- fd lifetime
def test_close_fd_wakes_waiters_and_closes() -> None:
    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        gt = spawn(io_retry, r, READ, None, os.read, (r, 1))
        assert _blocked(gt)
        close_fd(r)
        with pytest.raises(IOClosed):
            gt.wait()
        with pytest.raises(OSError):
            os.fstat(r)
    finally:
        os.close(w)


def test_notify_opened_drops_a_stale_waiter(raw_pair: Any) -> None:
    a, _ = raw_pair
    gt = spawn(io_retry, a.fileno(), READ, None, a.recv, (1,))
    assert _blocked(gt)
    notify_opened(a.fileno())  # as if the number now belonged to a new file
    with pytest.raises(IOClosed):
        gt.wait()
    assert get_hub().get_readers() == []


# ---------------------------------------------------------------------------- buffers
def test_byte_view() -> None:
    data = b"abc"
    with byte_view(data) as view:
        assert view.obj is data and view.format == "B"
    doubles = array.array("d", [1.0, 2.0])
    with byte_view(doubles) as view:
        assert len(view) == 16 and view.itemsize == 1
        assert view.tobytes() == doubles.tobytes()


# ---------------------------------------------------------------------------- the one wait
# Modules not yet moved onto the toolkit, with why (the WSGI server is wired by its owner).
_PENDING = {
    "wsgi/_server.py": "the accept loop parks itself; to use greenio._io.wait_after_eagain",
}


def test_every_wait_after_eagain_goes_through_the_toolkit() -> None:
    # hub.park_on_fd is the wait after EAGAIN; outside the hub layer only io_retry calls it.
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("hubs/") or rel == "greenio/_io.py" or rel in _PENDING:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bpark_on_fd\b", line.split("#", 1)[0]):
                offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert not offenders, "wait through greenio._io.io_retry instead:\n" + "\n".join(offenders)
