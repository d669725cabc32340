"""GreenSocket over loopback: every socket method, timeouts, closing under a waiter, fd reuse."""

from __future__ import annotations

import array
import errno
import gc
import io
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from greenlane import debug
from greenlane.green.socket import socketpair
from greenlane.greenio import (
    CONNECT_ERR,
    CONNECT_SUCCESS,
    SOCKET_BLOCKING,
    SOCKET_CLOSED,
    GreenSocket,
    IOClosed,
    set_nonblocking,
    shutdown_safe,
    socket_timeout,
)
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import READ, get_hub
from greenlane.timeout import Timeout, is_timeout
from tests._support import has_ipv6_loopback, recv_exactly

Pair = tuple[GreenSocket, GreenSocket]


def _listener(family: int = socket.AF_INET, addr: object = ("127.0.0.1", 0)) -> GreenSocket:
    sock = GreenSocket(family, socket.SOCK_STREAM)
    if family != getattr(socket, "AF_UNIX", None):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(addr)
    sock.listen(128)
    return sock


def _connected_pair(family: int = socket.AF_INET, addr: object = ("127.0.0.1", 0)) -> Pair:
    with _listener(family, addr) as listener:
        client = GreenSocket(family, socket.SOCK_STREAM)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
    return client, server


@pytest.fixture
def pair() -> Iterator[Pair]:
    client, server = _connected_pair()
    yield client, server
    client.close()
    server.close()


def _blocked(gt: object, turns: int = 3) -> bool:
    """Let other green threads run; True if ``gt`` is still parked."""
    for _ in range(turns):
        sleep(0)
    return not gt.dead  # type: ignore[attr-defined]


def _fill(sock: GreenSocket) -> int:
    """Send until the kernel buffers are full; return how much went."""
    sock.setblocking(False)
    total = 0
    chunk = b"f" * 65536
    try:
        while True:
            total += sock.send(chunk)
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return total




# ---------------------------------------------------------------------------- construction
def test_new_socket_is_nonblocking_underneath_and_green_blocking() -> None:
    with GreenSocket() as sock:
        assert sock.fd.gettimeout() == 0.0
        assert sock.gettimeout() is None
        assert sock.getblocking()
        assert sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM
        assert sock.proto == 0
        assert sock.timeout is None
        assert "GreenSocket" in repr(sock)


def test_new_sockets_are_non_blocking_at_the_descriptor_with_the_plain_type() -> None:
    kinds = [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM)]
    if hasattr(socket, "AF_UNIX"):
        kinds.append((socket.AF_UNIX, socket.SOCK_STREAM))
    for family, kind in kinds:
        with GreenSocket(family, kind) as sock:
            assert not os.get_blocking(sock.fileno())
            assert sock.type == kind  # no SOCK_NONBLOCK flag leaks into the type
            assert sock.gettimeout() is None
    socket.setdefaulttimeout(3.0)
    try:
        with GreenSocket() as sock:
            assert sock.gettimeout() == 3.0
            assert not os.get_blocking(sock.fileno())
    finally:
        socket.setdefaulttimeout(None)


def test_wrapping_an_existing_socket_keeps_a_positive_timeout() -> None:
    real = socket.socket()
    real.settimeout(2.5)
    with GreenSocket(real) as sock:
        assert sock.fd is real
        assert sock.gettimeout() == 2.5
        assert real.gettimeout() == 0.0


def test_wrapping_a_blocking_socket_takes_the_default_timeout() -> None:
    real = socket.socket()
    socket.setdefaulttimeout(7.0)
    try:
        with GreenSocket(real) as sock:
            assert sock.gettimeout() == 7.0
            fresh = GreenSocket()
            assert fresh.gettimeout() == 7.0
            fresh.close()
    finally:
        socket.setdefaulttimeout(None)


def test_wrapping_rejects_non_sockets() -> None:
    with pytest.raises(TypeError):
        GreenSocket(object())


def test_fileno_constructor_argument() -> None:
    real = socket.socket()
    fd = real.detach()
    with GreenSocket(fileno=fd) as sock:
        assert sock.fileno() == fd
        assert sock.family == socket.AF_INET


def test_unknown_attributes_come_from_the_real_socket(pair: Pair) -> None:
    client, _ = pair
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert client.get_inheritable() is False
    assert isinstance(client.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8), bytes)
    with pytest.raises(AttributeError):
        client.no_such_method  # noqa: B018


def test_eventlet_constants() -> None:
    assert errno.EAGAIN in SOCKET_BLOCKING
    assert errno.EPIPE in SOCKET_CLOSED
    assert errno.EINPROGRESS in CONNECT_ERR
    assert 0 in CONNECT_SUCCESS and errno.EISCONN in CONNECT_SUCCESS
    assert socket_timeout is socket.timeout


# ---------------------------------------------------------------------------- accept / connect
@pytest.mark.usefixtures("hub_backend")
def test_accept_waits_cooperatively_and_returns_green_sockets() -> None:
    with _listener() as listener:
        gt = spawn(listener.accept)
        assert _blocked(gt)
        client = GreenSocket()
        client.connect(listener.getsockname())
        conn, addr = gt.wait()
        assert isinstance(conn, GreenSocket)
        assert addr == client.getsockname()
        assert conn.gettimeout() is None
        conn.sendall(b"hi")
        assert client.recv(2) == b"hi"
        conn.close()
        client.close()


@pytest.mark.usefixtures("hub_backend")
def test_many_concurrent_clients_echo() -> None:
    n_clients, rounds = 50, 20
    with _listener() as listener:
        addr = listener.getsockname()

        def serve_one(conn: GreenSocket) -> None:
            with conn:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(data)

        servers = []

        def acceptor() -> None:
            for _ in range(n_clients):
                conn, _ = listener.accept()
                servers.append(spawn(serve_one, conn))

        def client(i: int) -> int:
            with GreenSocket() as sock:
                sock.connect(addr)
                for r in range(rounds):
                    msg = f"{i}:{r};".encode() * 10
                    sock.sendall(msg)
                    assert recv_exactly(sock, len(msg)) == msg
            return i

        acc = spawn(acceptor)
        clients = [spawn(client, i) for i in range(n_clients)]
        assert sorted(gt.wait() for gt in clients) == list(range(n_clients))
        acc.wait()
        for gt in servers:
            gt.wait()


def test_connect_refused_raises_and_connect_ex_returns_errno() -> None:
    with _listener() as listener:
        addr = listener.getsockname()
    with GreenSocket() as sock:
        with pytest.raises(ConnectionRefusedError):
            sock.connect(addr)
    with GreenSocket() as sock:
        assert sock.connect_ex(addr) == errno.ECONNREFUSED


def test_connect_errors_are_the_stdlib_exception_classes(tmp_path: object) -> None:
    with _listener() as listener, GreenSocket() as sock:
        sock.setblocking(False)
        with pytest.raises(BlockingIOError) as info:
            sock.connect(listener.getsockname())
        assert info.value.errno == errno.EINPROGRESS
        conn, _ = listener.accept()
        conn.close()
    if hasattr(socket, "AF_UNIX"):
        missing = os.path.join(str(tmp_path), "nobody-listens-here")
        with GreenSocket(socket.AF_UNIX) as sock:
            with pytest.raises(FileNotFoundError):
                sock.connect(missing)
            assert sock.connect_ex(missing) == errno.ENOENT


def test_connect_ex_success_returns_zero() -> None:
    with _listener() as listener, GreenSocket() as sock:
        assert sock.connect_ex(listener.getsockname()) == 0
        conn, _ = listener.accept()
        conn.close()


def test_connect_ex_raises_for_resolution_errors() -> None:
    with GreenSocket() as sock, pytest.raises(socket.gaierror):
        sock.connect_ex(("name.invalid.", 80))


def test_nonblocking_connect_passes_through() -> None:
    with _listener() as listener, GreenSocket() as sock:
        sock.setblocking(False)
        try:
            sock.connect(listener.getsockname())
        except BlockingIOError as exc:
            assert exc.errno in CONNECT_ERR
        assert sock.connect_ex(listener.getsockname()) in CONNECT_SUCCESS | CONNECT_ERR
        conn, _ = listener.accept()
        conn.close()


def test_connect_times_out_when_the_backlog_is_full() -> None:
    # With a full accept queue Linux drops the SYN, so connect hangs: that is the timeout case,
    # reproduced on loopback.
    listener = GreenSocket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    addr = listener.getsockname()
    fillers = []
    try:
        start = time.monotonic()
        with pytest.raises(socket.timeout):
            for _ in range(16):
                sock = GreenSocket()
                fillers.append(sock)
                sock.settimeout(0.2)
                sock.connect(addr)
        assert time.monotonic() - start < 5
    finally:
        for sock in fillers:
            sock.close()
        listener.close()


def test_accept_timeout() -> None:
    with _listener() as listener:
        listener.settimeout(0.05)
        start = time.monotonic()
        with pytest.raises(socket.timeout) as info:
            listener.accept()
        assert 0.04 < time.monotonic() - start < 2
        assert is_timeout(info.value)


def test_nonblocking_accept_raises_blocking_io_error() -> None:
    with _listener() as listener:
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


# ---------------------------------------------------------------------------- receiving
@pytest.mark.usefixtures("hub_backend")
def test_recv_waits_for_data(pair: Pair) -> None:
    client, server = pair
    gt = spawn(server.recv, 100)
    assert _blocked(gt)
    client.sendall(b"payload")
    assert gt.wait() == b"payload"


@pytest.mark.usefixtures("hub_backend")
def test_recv_into_with_nbytes_and_memoryview(pair: Pair) -> None:
    client, server = pair
    buf = bytearray(10)
    gt = spawn(server.recv_into, memoryview(buf)[2:], 3)
    assert _blocked(gt)
    client.sendall(b"abcdef")
    assert gt.wait() == 3
    assert buf == b"\0\0abc" + b"\0" * 5
    assert server.recv_into(buf) == 3
    assert buf[:3] == b"def"


def test_recv_returns_empty_at_eof(pair: Pair) -> None:
    client, server = pair
    gt = spawn(server.recv, 10)
    assert _blocked(gt)
    client.close()
    assert gt.wait() == b""


def test_recv_flags_peek(pair: Pair) -> None:
    client, server = pair
    client.sendall(b"peek")
    assert server.recv(4, socket.MSG_PEEK) == b"peek"
    assert server.recv(4) == b"peek"


@pytest.mark.usefixtures("hub_backend")
def test_recv_timeout(pair: Pair) -> None:
    _, server = pair
    server.settimeout(0.05)
    start = time.monotonic()
    with pytest.raises(socket.timeout, match="timed out"):
        server.recv(1)
    assert 0.04 < time.monotonic() - start < 2
    with pytest.raises(TimeoutError if sys.version_info >= (3, 10) else OSError):
        server.recv_into(bytearray(1))


def test_timeout_is_per_operation_not_cumulative(pair: Pair) -> None:
    client, server = pair
    server.settimeout(0.2)

    def trickle() -> None:
        for _ in range(4):
            sleep(0.1)
            client.sendall(b"x")

    gt = spawn(trickle)
    assert b"".join(server.recv(1) for _ in range(4)) == b"xxxx"
    gt.wait()


def test_nonblocking_recv_passes_through(pair: Pair) -> None:
    client, server = pair
    server.setblocking(False)
    assert not server.getblocking()
    assert server.gettimeout() == 0.0
    with pytest.raises(BlockingIOError):
        server.recv(1)
    with pytest.raises(BlockingIOError):
        server.recv_into(bytearray(1))
    client.sendall(b"z")
    deadline = time.monotonic() + 2
    while True:
        try:
            assert server.recv(1) == b"z"
            break
        except BlockingIOError:
            assert time.monotonic() < deadline
            sleep(0.001)


def test_settimeout_validates() -> None:
    with GreenSocket() as sock:
        with pytest.raises(ValueError):
            sock.settimeout(-1)
        with pytest.raises(TypeError):
            sock.settimeout("soon")  # type: ignore[arg-type]
        sock.settimeout(3)
        assert sock.gettimeout() == 3.0
        sock.setblocking(True)
        assert sock.gettimeout() is None


def test_greenlane_timeout_interrupts_recv_cleanly(pair: Pair) -> None:
    _, server = pair
    with Timeout(0.02, False):
        server.recv(1)
        raise AssertionError("recv returned without data")
    assert get_hub().get_readers() == []


def test_udp_recvfrom_sendto_both_forms() -> None:
    a = GreenSocket(socket.AF_INET, socket.SOCK_DGRAM)
    b = GreenSocket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        gt = spawn(a.recvfrom, 100)
        assert _blocked(gt)
        assert b.sendto(b"one", a.getsockname()) == 3
        assert gt.wait() == (b"one", b.getsockname())
        buf = bytearray(8)
        gt = spawn(a.recvfrom_into, buf, 5)
        assert _blocked(gt)
        assert b.sendto(b"two", 0, a.getsockname()) == 3
        assert gt.wait() == (3, b.getsockname())
        assert buf[:3] == b"two"
        a.settimeout(0.02)
        with pytest.raises(socket.timeout):
            a.recvfrom(1)
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_sendmsg_recvmsg_pass_a_descriptor() -> None:
    a, b = socketpair()
    r, w = os.pipe()
    try:
        gt = spawn(b.recvmsg, 16, socket.CMSG_SPACE(array.array("i").itemsize))
        assert _blocked(gt)
        fds = array.array("i", [w])
        assert a.sendmsg([b"fd", b"!"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())]
                         ) == 3
        data, ancdata, _flags, _addr = gt.wait()
        assert data == b"fd!"
        level, kind, payload = ancdata[0]
        assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
        received = array.array("i")
        received.frombytes(payload[:received.itemsize])
        os.write(received[0], b"via passed fd")
        os.close(received[0])
        assert os.read(r, 100) == b"via passed fd"
        buf = bytearray(4)
        gt = spawn(b.recvmsg_into, [buf])
        assert _blocked(gt)
        a.sendmsg([b"abcd"])
        assert gt.wait()[0] == 4
        assert buf == b"abcd"
    finally:
        os.close(r)
        os.close(w)
        a.close()
        b.close()


# ---------------------------------------------------------------------------- sending
@pytest.mark.usefixtures("hub_backend")
def test_send_waits_when_the_buffers_are_full(pair: Pair) -> None:
    client, server = pair
    filled = _fill(client)
    gt = spawn(client.send, b"more")
    assert _blocked(gt)
    got = 0
    while not gt.dead:
        got += len(server.recv(1 << 20))
    assert gt.wait() == 4
    assert got <= filled + 4


@pytest.mark.usefixtures("hub_backend")
def test_sendall_and_recv_into_move_64_mib(pair: Pair) -> None:
    client, server = pair
    size = 64 << 20
    block = os.urandom(1 << 20)
    payload = bytearray(block * 64)
    received = bytearray(size)

    def reader() -> int:
        view = memoryview(received)
        got = 0
        while got < size:
            n = server.recv_into(view[got:], min(size - got, 1 << 20))
            assert n
            got += n
        return got

    gt = spawn(reader)
    client.sendall(payload)
    assert gt.wait() == size
    assert received == payload
    payload.append(0)  # the buffer export was released: resizing works


def test_sendall_of_a_large_non_byte_buffer_waits_between_partial_sends(pair: Pair) -> None:
    client, server = pair
    numbers = array.array("d", range(1 << 21))  # 16 MiB, far more than the socket buffers
    size = len(numbers) * numbers.itemsize

    def reader() -> bytes:
        return recv_exactly(server, size)

    gt = spawn(reader)
    client.sendall(numbers)
    assert gt.wait() == numbers.tobytes()
    numbers.append(0.0)  # the cast view was released: resizing works


def test_sendall_accepts_any_buffer(pair: Pair) -> None:
    client, server = pair
    numbers = array.array("i", range(1000))
    client.sendall(numbers)
    data = recv_exactly(server, len(numbers) * numbers.itemsize)
    assert data == numbers.tobytes()
    client.sendall(memoryview(b"tail"))
    assert recv_exactly(server, 4) == b"tail"


def test_sendall_timeout_bounds_the_whole_call(pair: Pair) -> None:
    client, _ = pair
    client.settimeout(0.1)
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        client.sendall(b"x" * (64 << 20))
    assert 0.08 < time.monotonic() - start < 3


def test_nonblocking_sendall_raises_when_full(pair: Pair) -> None:
    client, _ = pair
    client.setblocking(False)
    with pytest.raises(BlockingIOError):
        client.sendall(b"x" * (64 << 20))


def test_sendall_to_a_closed_peer_raises(pair: Pair) -> None:
    client, server = pair
    server.close()
    with pytest.raises(OSError) as info:
        for _ in range(100):
            client.sendall(b"x" * 65536)
            sleep(0.001)
    assert info.value.errno in SOCKET_CLOSED


# ---------------------------------------------------------------------------- sendfile
def test_sendfile_regular_file_with_offset_and_count(pair: Pair) -> None:
    client, server = pair
    content = os.urandom(3 << 20)
    with tempfile.TemporaryFile() as f:
        f.write(content)
        f.flush()
        f.seek(0)
        gt = spawn(recv_exactly, server, len(content) - 1000 - 7)
        assert client.sendfile(f, 1000, len(content) - 1000 - 7) == len(content) - 1007
        assert gt.wait() == content[1000:-7]
        assert f.tell() == len(content) - 7
        f.seek(0)
        gt = spawn(recv_exactly, server, len(content))
        assert client.sendfile(f) == len(content)
        assert gt.wait() == content


def test_sendfile_falls_back_for_objects_without_a_descriptor(pair: Pair) -> None:
    client, server = pair
    data = b"0123456789" * 20000
    f = io.BytesIO(data)
    gt = spawn(recv_exactly, server, len(data) - 5)
    assert client.sendfile(f, 5) == len(data) - 5
    assert gt.wait() == data[5:]


def test_sendfile_rejects_text_files_and_bad_counts(pair: Pair, tmp_path: object) -> None:
    client, _ = pair
    path = os.path.join(str(tmp_path), "t.txt")
    with open(path, "w") as f:
        f.write("text")
    with open(path) as f, pytest.raises(ValueError):
        client.sendfile(f)
    with pytest.raises(ValueError):
        client.sendfile(io.BytesIO(b"x"), 0, 0)
    client.setblocking(False)
    with pytest.raises(ValueError):
        client.sendfile(io.BytesIO(b"x"))


# ---------------------------------------------------------------------------- makefile
def test_makefile_binary_buffered(pair: Pair) -> None:
    client, server = pair
    wfile = client.makefile("wb")
    rfile = server.makefile("rb")
    gt = spawn(rfile.readline)
    assert _blocked(gt)
    wfile.write(b"line one\nline two\n")
    wfile.flush()
    assert gt.wait() == b"line one\n"
    assert rfile.readline() == b"line two\n"
    wfile.close()
    rfile.close()


def test_makefile_text_and_readwrite(pair: Pair) -> None:
    client, server = pair
    cfile = client.makefile("rw", encoding="utf-8", newline="")
    sfile = server.makefile("rw", encoding="utf-8", newline="")
    assert cfile.mode == "rw"
    cfile.write("héllo\r\n")
    cfile.flush()
    assert sfile.readline() == "héllo\r\n"
    sfile.write("back\n")
    sfile.flush()
    assert cfile.readline() == "back\n"
    cfile.close()
    sfile.close()


def test_makefile_unbuffered_must_be_binary(pair: Pair) -> None:
    client, server = pair
    raw = server.makefile("rb", buffering=0)
    client.sendall(b"raw")
    assert raw.read(3) == b"raw"
    raw.close()
    with pytest.raises(ValueError):
        server.makefile("r", buffering=0)
    with pytest.raises(ValueError):
        server.makefile("rx")


def test_close_waits_for_makefile_objects(pair: Pair) -> None:
    client, server = pair
    rfile = server.makefile("rb")
    fileno = server.fileno()
    server.close()
    assert server.fileno() == fileno  # still open: a file object uses it
    client.sendall(b"still here\n")
    assert rfile.readline() == b"still here\n"
    rfile.close()
    assert server.fileno() == -1


def test_makefile_read_timeout(pair: Pair) -> None:
    _, server = pair
    server.settimeout(0.03)
    rfile = server.makefile("rb")
    with pytest.raises(socket.timeout):
        rfile.read(1)
    rfile.close()


# ---------------------------------------------------------------------------- lifetime
@pytest.mark.usefixtures("hub_backend")
def test_close_wakes_a_blocked_reader_with_ioclosed(pair: Pair) -> None:
    _, server = pair
    gt = spawn(server.recv, 10)
    assert _blocked(gt)
    start = time.monotonic()
    server.close()
    with pytest.raises(IOClosed) as info:
        gt.wait()
    assert time.monotonic() - start < 1
    assert isinstance(info.value, OSError)
    assert info.value.errno == errno.EBADF
    assert get_hub().get_readers() == []


@pytest.mark.usefixtures("hub_backend")
def test_close_wakes_blocked_accept_and_sendall(pair: Pair) -> None:
    listener = _listener()
    acc = spawn(listener.accept)
    client, _ = pair
    _fill(client)
    snd = spawn(client.sendall, b"y" * (1 << 20))
    assert _blocked(acc) and _blocked(snd)
    listener.close()
    client.close()
    with pytest.raises(IOClosed):
        acc.wait()
    with pytest.raises(IOClosed):
        snd.wait()


def test_close_with_a_timeout_pending_leaves_no_timer(pair: Pair) -> None:
    _, server = pair
    server.settimeout(30)
    gt = spawn(server.recv, 1)
    assert _blocked(gt)
    server.close()
    with pytest.raises(IOClosed):
        gt.wait()
    assert get_hub().get_timers_count() == 0


def test_io_on_a_closed_socket_raises_ebadf(pair: Pair) -> None:
    client, _ = pair
    client.close()
    client.close()  # idempotent
    assert client.fileno() == -1
    with pytest.raises(OSError) as info:
        client.recv(1)
    assert info.value.errno == errno.EBADF
    assert "closed" in repr(client)


@pytest.mark.usefixtures("hub_backend")
def test_reused_fd_number_never_wakes_the_wrong_waiter() -> None:
    # Socket A and a raw duplicate of it keep A's file open after A is closed, so events for
    # that file can still happen; the number A had is then reused by socket B.
    a_client, a_server = _connected_pair()
    listener = _listener()
    duplicate = os.dup(a_server.fileno())
    old_number = a_server.fileno()
    waiter_a = spawn(a_server.recv, 10)
    assert _blocked(waiter_a)
    a_server.close()
    with pytest.raises(IOClosed):
        waiter_a.wait()
    spares = []
    b = GreenSocket()
    while b.fileno() != old_number:  # the lowest free number is normally the one just freed
        spares.append(b)
        assert len(spares) < 64
        b = GreenSocket()
    b.connect(listener.getsockname())
    peer, _ = listener.accept()
    b_client, b_server = b, peer
    for spare in spares:
        spare.close()
    listener.close()
    try:
        attempts = []
        real_recv = b.fd.recv

        def counting_recv(*args: object) -> bytes:
            attempts.append(args)
            return real_recv(*args)  # type: ignore[arg-type]

        b._recv = counting_recv
        waiter_b = spawn(b.recv, 100)
        assert _blocked(waiter_b)
        assert len(attempts) == 1  # tried once, got EAGAIN, parked
        a_client.sendall(b"for the old file")  # readable event on the old file only
        sleep(0.02)
        assert _blocked(waiter_b)
        assert len(attempts) == 1, "the old file's event woke the new socket's waiter"
        peer.sendall(b"for B")
        assert waiter_b.wait() == b"for B"
        assert os.read(duplicate, 100) == b"for the old file"
    finally:
        os.close(duplicate)
        for sock in (a_client, b_client, b_server):
            sock.close()


def test_socket_closed_without_notice_does_not_hang_its_successor() -> None:
    # A socket dropped without close() is closed by the garbage collector behind the hub's
    # back; a new socket that gets the same number must still be waited on properly.
    a_client, a_server = _connected_pair()
    a_server.sendall(b"x")
    a_client.recv(1)
    gt = spawn(a_client.recv, 1)
    assert _blocked(gt)
    a_server.sendall(b"y")
    assert gt.wait() == b"y"  # the hub now has a registration for a_client's number
    number = a_client.fileno()
    os.close(a_client.fd.detach())  # the descriptor vanishes without notify_close
    b_client, b_server = _connected_pair()
    try:
        b = b_client if b_client.fileno() == number else b_server
        peer = b_server if b is b_client else b_client
        gt = spawn(b.recv, 10)
        assert _blocked(gt)
        peer.sendall(b"wake")
        with Timeout(2):
            assert gt.wait() == b"wake"
    finally:
        for sock in (a_server, b_client, b_server):
            sock.close()


def test_second_reader_is_refused_then_allowed_by_debug(pair: Pair) -> None:
    _, server = pair
    first = spawn(server.recv, 1)
    assert _blocked(first)
    second = spawn(server.recv, 1)
    sleep(0)
    with pytest.raises(RuntimeError, match="second simultaneous read"):
        second.wait()
    debug.hub_prevent_multiple_readers(False)
    try:
        third = spawn(server.recv, 1)
        assert _blocked(third)
        pair[0].sendall(b"ab")
        results = sorted([first.wait(), third.wait()])
        assert results == [b"a", b"b"]
    finally:
        debug.hub_prevent_multiple_readers(True)
        server.settimeout(0.01)
        for _ in range(2):
            try:
                server.recv(1)
            except socket.timeout:
                pass


def test_detach_wakes_waiters_and_hands_over_the_descriptor(pair: Pair) -> None:
    client, server = pair
    gt = spawn(server.recv, 1)
    assert _blocked(gt)
    fd = server.detach()
    with pytest.raises(IOClosed):
        gt.wait()
    assert server.fileno() == -1
    adopted = GreenSocket(socket.socket(fileno=fd))
    client.sendall(b"q")
    assert adopted.recv(1) == b"q"
    adopted.close()


def test_dup_shares_the_connection_and_the_timeout(pair: Pair) -> None:
    client, server = pair
    server.settimeout(4.0)
    twin = server.dup()
    assert isinstance(twin, GreenSocket)
    assert twin.fileno() != server.fileno()
    assert twin.gettimeout() == 4.0
    server.close()
    client.sendall(b"to twin")
    assert twin.recv(10) == b"to twin"
    twin.close()


def test_context_manager_closes() -> None:
    with GreenSocket() as sock:
        assert sock.fileno() >= 0
    assert sock.fileno() == -1


def test_closing_twice_is_harmless_and_releases_the_descriptor_once() -> None:
    a, b = socketpair()
    fd = a.fileno()
    a.close()
    a.close()
    assert a.fileno() == -1
    with pytest.raises(OSError):
        os.fstat(fd)
    b.close()


def test_shutdown_gives_eof_to_the_peer_and_wakes_own_reader(pair: Pair) -> None:
    client, server = pair
    gt = spawn(server.recv, 10)
    assert _blocked(gt)
    client.shutdown(socket.SHUT_WR)
    assert gt.wait() == b""
    gt = spawn(client.recv, 10)
    assert _blocked(gt)
    client.shutdown(socket.SHUT_RD)
    assert gt.wait() == b""


def test_shutdown_safe_ignores_unconnected_and_closed() -> None:
    sock = GreenSocket()
    shutdown_safe(sock)
    sock.close()
    shutdown_safe(sock)


def test_set_nonblocking_on_sockets_and_descriptors() -> None:
    real = socket.socket()
    set_nonblocking(real)
    assert real.gettimeout() == 0.0
    real.close()
    r, w = os.pipe()
    try:
        set_nonblocking(r)
        assert not os.get_blocking(r)
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------------------- families


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1 on this machine")
def test_ipv6_round_trip() -> None:
    client, server = _connected_pair(socket.AF_INET6, ("::1", 0))
    try:
        assert client.family == socket.AF_INET6
        client.sendall(b"six")
        assert server.recv(3) == b"six"
        assert server.getpeername()[0] == "::1"
    finally:
        client.close()
        server.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_unix_domain_round_trip(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "s.sock")
    client, server = _connected_pair(socket.AF_UNIX, path)
    try:
        gt = spawn(server.recv, 10)
        assert _blocked(gt)
        client.sendall(b"unix")
        assert gt.wait() == b"unix"
    finally:
        client.close()
        server.close()


def test_sendfile_fallback_timeout_leaves_the_socket_timeout_alone(pair: Pair) -> None:
    # The send() fallback bounds the whole call by the timeout at its start; it must not
    # borrow the socket's timeout setting to do so, which another green thread may change.
    client, _ = pair  # the peer never reads, so the sender blocks once the buffers are full
    client.settimeout(0.3)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sender = spawn(client.sendfile, io.BytesIO(b"x" * (8 << 20)))
    for _ in range(5):
        sleep(0)
    assert not sender.dead, "the sender should be parked on a full socket"
    client.settimeout(5.0)
    with pytest.raises(socket.timeout):
        sender.wait()
    assert client.gettimeout() == 5.0


# ---------------------------------------------------------------------------- as the stdlib
# Each of these broke one or more of CPython's own test_socket tests under monkey patching
# (named in the comments); compat/stdlib runs those too.
@pytest.mark.skipif(not hasattr(socket, "SOCK_NONBLOCK"), reason="Linux flag")
def test_sock_nonblock_in_the_type_means_non_blocking() -> None:
    # NonblockConstantTest.test_SOCK_NONBLOCK
    kind = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
    with GreenSocket(socket.AF_INET, kind) as sock:
        assert sock.gettimeout() == 0.0 and not sock.getblocking()
        assert sock.type == socket.SOCK_STREAM
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(BlockingIOError):
            sock.accept()
        with GreenSocket(socket.AF_INET, kind, 0, os.dup(sock.fileno())) as twin:
            assert twin.gettimeout() == 0.0
    a, b = socketpair(type=kind)
    with a, b:
        assert a.gettimeout() == 0.0 and b.gettimeout() == 0.0
        with pytest.raises(BlockingIOError):
            a.recv(1)
    assert get_hub().get_readers() == []


def test_settimeout_on_a_closed_socket_raises_as_the_stdlib() -> None:
    # TestExceptions.test_setblocking_invalidfd: the mode is set on the descriptor each time.
    sock = GreenSocket()
    sock.close()
    with pytest.raises(OSError):
        sock.setblocking(False)
    with pytest.raises(OSError):
        sock.settimeout(1.0)


def test_msg_dontwait_raises_instead_of_waiting(pair: Pair) -> None:
    # BasicTCPTest.testRecvDontWait-style use: a blocking socket, one non-blocking call.
    client, server = pair
    hub = get_hub()
    for call in (lambda: server.recv(10, socket.MSG_DONTWAIT),
                 lambda: server.recv_into(bytearray(10), 0, socket.MSG_DONTWAIT),
                 lambda: server.recvfrom(10, socket.MSG_DONTWAIT),
                 lambda: server.recvmsg(10, 0, socket.MSG_DONTWAIT)):
        with pytest.raises(BlockingIOError):
            call()
    _fill(client)
    with pytest.raises(BlockingIOError):
        client.send(b"x", socket.MSG_DONTWAIT)
    with pytest.raises(BlockingIOError):
        client.sendall(b"x" * 65536, socket.MSG_DONTWAIT)
    assert hub.get_readers() == [] and hub.get_writers() == []
    assert client.gettimeout() is None  # the flag changed nothing on the socket


def test_recvmsg_into_and_sendmsg_take_iterators_across_a_wait(pair: Pair) -> None:
    # RecvmsgIntoTCPTest.testRecvmsgIntoGenerator: the buffers were an exhausted generator by
    # the time the call was retried after the wait, so 0 bytes came back.
    client, server = pair
    first, second = bytearray(3), bytearray(10)
    gt = spawn(server.recvmsg_into, (buf for buf in (first, second)))
    assert _blocked(gt)
    client.sendall(b"generator")
    nbytes, _anc, _flags, _addr = gt.wait()
    assert nbytes == 9
    assert bytes(first) + bytes(second[:6]) == b"generator"
    _fill(client)
    sender = spawn(client.sendmsg, (part for part in (b"one", b"two")))
    assert _blocked(sender)
    drained = 0
    while True:
        try:
            drained += len(server.recv(1 << 20, socket.MSG_DONTWAIT))
        except BlockingIOError:
            break
    assert sender.wait() == 6
    with pytest.raises(TypeError):
        server.recvmsg_into(5)


def test_sendto_argument_errors_are_the_stdlib_ones() -> None:
    # GeneralModuleTests.testSendtoErrors: sendto(data, 0, None) must reject None, and a wrong
    # number of arguments gets the real call's message (CPython: "... (1 given)").
    bad_calls: list[tuple[Any, ...]] = [(b"foo", 0, None), (b"foo", None), (b"foo",),
                                        (b"foo", 0, ("127.0.0.1", 9), 4)]
    with GreenSocket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as real:
        for args in bad_calls:
            with pytest.raises(TypeError) as stdlib:
                real.sendto(*args)
            with pytest.raises(TypeError) as ours:
                sock.sendto(*args)
            assert str(ours.value).replace("GreenSocket.", "") == str(stdlib.value), args


@pytest.mark.skipif(not hasattr(os, "sendfile"), reason="needs os.sendfile")
def test_sendfile_steps_under_the_stdlib_names(pair: Pair, tmp_path: object) -> None:
    # SendfileUsingSendTest / SendfileUsingSendfileTest call these two private steps directly;
    # they used to reach the real, non-blocking socket and refuse with "non-blocking sockets
    # are not supported".
    client, server = pair
    path = os.path.join(str(tmp_path), "data")
    payload = os.urandom(300_000)
    with open(path, "wb") as f:
        f.write(payload)
    client.settimeout(5.0)
    for step in (client._sendfile_use_sendfile, client._sendfile_use_send):
        reader = spawn(recv_exactly, server, 1000)
        with open(path, "rb") as f:
            assert step(f, offset=7, count=1000) == 1000
            assert f.tell() == 1007
        assert reader.wait() == payload[7:1007]
    with pytest.raises(socket._GiveupOnSendfile):  # type: ignore[attr-defined]
        client._sendfile_use_sendfile(io.BytesIO(b"not a file"))
    client.setblocking(False)
    with open(path, "rb") as f:
        for step in (client._sendfile_use_sendfile, client._sendfile_use_send, client.sendfile):
            with pytest.raises(ValueError, match="non-blocking"):
                step(f)


def test_repr_as_the_stdlib_formats_it() -> None:
    # GeneralModuleTests.test_repr
    sock = GreenSocket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        text = repr(sock)
        assert text.startswith(f"<greenlane.GreenSocket fd={sock.fileno()},")
        # Formatted with str(), as CPython's test formats them.
        assert f"family={socket.AF_INET!s}" in text and f"type={socket.SOCK_STREAM!s}" in text
        assert "proto=0" in text and "raddr" not in text
        sock.bind(("127.0.0.1", 0))
        assert f"laddr={sock.getsockname()}" in repr(sock)
    assert "[closed]" in repr(sock) and "laddr" not in repr(sock)


def test_unclosed_socket_warns_naming_itself_but_wrapped_ones_stay_open() -> None:
    # GeneralModuleTests.test_dealloc_warn
    sock = GreenSocket()
    text = repr(sock)
    with pytest.warns(ResourceWarning) as record:
        del sock
        gc.collect()
    # (PyPy's collector may finalize an unrelated object left by an earlier test here too.)
    assert [str(w.message) for w in record
            if not str(w.message).startswith("unclosed file ")] == [f"unclosed {text}"]
    real = socket.socket()
    GreenSocket(real)  # dropped at once: the caller's socket must survive it
    gc.collect()
    assert real.fileno() >= 0
    real.close()


def test_public_halves_of_a_call_nowait_then_wait_and_retry(pair: Pair) -> None:
    # What the WSGI server uses to arm its own deadline only when it has to wait.
    client, server = pair
    buffer = bytearray(16)
    with pytest.raises(BlockingIOError):
        server.recv_into_nowait(buffer)  # even though the socket is blocking
    waiter = spawn(server.wait_and_retry, READ, server.recv_into_nowait, (buffer,))
    assert _blocked(waiter)
    assert client.send_nowait(b"halves") == 6
    assert waiter.wait() == 6 and buffer[:6] == b"halves"
    with pytest.raises(BlockingIOError):
        server.recv_into_nowait(buffer)
    with pytest.raises(socket.timeout):
        server.wait_and_retry(READ, server.recv_into_nowait, (buffer,), timeout=0.02)
    assert get_hub().get_timers_count() == 0


def test_rewrapping_a_green_socket_shares_it_and_keeps_its_timeout() -> None:
    # eventlet's own tests do GreenSocket(green_socket.socket()): dropping the inner wrapper
    # must not close the descriptor under the outer one, and its timeout carries over.
    from greenlane.green import socket as green_socket

    listener = GreenSocket(green_socket.socket())
    try:
        gc.collect()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        inner = green_socket.socket()
        inner.settimeout(0.05)
        outer = GreenSocket(inner)
        assert outer.gettimeout() == 0.05
        del inner
        gc.collect()
        outer.connect(listener.getsockname())  # the descriptor is still open
        conn, _ = listener.accept()
        try:
            with pytest.raises(socket.timeout):
                outer.recv(1)  # the 0.05 s timeout applies: no hang
        finally:
            conn.close()
            outer.close()
    finally:
        listener.close()


def test_set_nonblocking_keyword_is_accepted_and_the_descriptor_made_non_blocking() -> None:
    # eventlet's GreenSocket(sock, set_nonblocking=False) (its dup() passes it): accepted, but
    # a blocking descriptor would stall every green thread, so it is made non-blocking anyway.
    real = socket.socket()
    real.setblocking(True)
    with GreenSocket(real, set_nonblocking=False) as sock:
        assert not os.get_blocking(sock.fileno())
        assert sock.gettimeout() is None  # still green-blocking
    with pytest.raises(TypeError):
        GreenSocket(socket.AF_INET, socket.SOCK_STREAM, 0, None, False)  # type: ignore


def test_a_method_can_be_replaced_on_one_socket(pair: Pair) -> None:
    # eventlet's sockets take instance attributes (tests and mocks replace send/accept); the
    # replacement is what makefile() writes through, and deleting it restores the method.
    client, server = pair
    sent: list[int] = []
    original_send = client.send

    def one_byte_at_a_time(data: Any, *args: Any) -> int:
        sent.append(1)
        return original_send(memoryview(data)[:1], *args)

    client.send = one_byte_at_a_time  # type: ignore[method-assign]
    with client.makefile("wb") as f:
        f.write(b"hello")
    assert recv_exactly(server, 5) == b"hello"
    assert len(sent) == 5  # the BufferedWriter coped with partial writes
    del client.send
    assert client.send(b"!") == 1 and sent == [1] * 5
    assert recv_exactly(server, 1) == b"!"


def _outcome(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except socket.timeout:
        return "timeout"


def test_recv_of_nothing_behaves_as_the_interpreters_own_sockets(pair: Pair) -> None:
    # recv(0) and recv_into(empty buffer) on an idle socket with a timeout: CPython's sockets
    # return b"" / 0 at once, PyPy's wait and time out (as eventlet's GreenSocket does on
    # both). greenlane makes the real call first, so it does what the interpreter does.
    client, _server = pair
    client.settimeout(0.05)
    reference, peer = socket.socketpair()
    with reference, peer:
        reference.settimeout(0.05)
        for call, arg in (("recv", 0), ("recv_into", bytearray())):
            expected = _outcome(getattr(reference, call), arg)
            assert _outcome(getattr(client, call), arg) == expected
            if sys.implementation.name == "cpython":
                assert expected in (b"", 0)


def test_a_reset_connection_raises_as_the_stdlib_does(pair: Pair) -> None:
    # eventlet's GreenSocket turns ECONNRESET into b"" (an orderly close); greenlane keeps
    # the stdlib's ConnectionResetError, so a reset can be told from the peer's close.
    import struct

    client, server = pair
    server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server.close()  # linger 0: the kernel sends RST
    with pytest.raises(ConnectionResetError):
        client.recv(10)
