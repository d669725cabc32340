"""listen, connect, serve, StopServe over loopback: options, families, errors, EMFILE back-off."""

from __future__ import annotations

import errno
import os
import resource
import socket
import time
import warnings
from typing import Any

import pytest

from greenlane import Event, StopServe, connect, listen, serve
from greenlane.convenience import (
    _FIRST_PAUSE,
    ReusePortUnavailableWarning,
    ReuseRandomPortWarning,
)
from greenlane.greenio import GreenSocket, IOClosed
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from tests._support import has_ipv6_loopback


def _echo_once(conn: Any, _addr: Any) -> None:
    data = conn.recv(100)
    conn.sendall(b"echo " + data)
    if data == b"stop":
        raise StopServe()


def _talk(addr: Any, message: bytes) -> bytes:
    with connect(addr) as client:
        client.sendall(message)
        return client.recv(100)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- listen / connect
def test_listen_sets_reuse_addr_but_not_reuse_port_by_default() -> None:
    with listen(("127.0.0.1", 0)) as sock:
        assert isinstance(sock, GreenSocket)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        if hasattr(socket, "SO_REUSEPORT"):
            assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    with listen(("127.0.0.1", 0), reuse_addr=False) as sock:
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
def test_reuse_port_lets_two_listeners_share_a_port_only_when_asked() -> None:
    with pytest.warns(ReuseRandomPortWarning), listen(("127.0.0.1", 0), reuse_port=True) as first:
        port = first.getsockname()[1]
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        with listen(("127.0.0.1", port), reuse_port=True) as second:
            assert second.getsockname()[1] == port
    with listen(("127.0.0.1", 0)) as taken:
        with pytest.raises(OSError) as info:
            listen(taken.getsockname())
        assert info.value.errno == errno.EADDRINUSE


def test_reuse_port_on_a_fixed_port_does_not_warn() -> None:
    with listen(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with listen(("127.0.0.1", port), reuse_port=True) as sock:
            assert sock.getsockname()[1] == port


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOPROTOOPT])
def test_a_kernel_refusing_reuse_port_gets_a_warning_and_a_listener(
        monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    # Kernels that define SO_REUSEPORT but do not implement it (WSL 1) answer EINVAL or
    # ENOPROTOOPT: faked here, since no test machine has such a kernel.
    def refusing(sock: GreenSocket, level: int, option: int, value: Any) -> None:
        if option == socket.SO_REUSEPORT:
            raise OSError(code, os.strerror(code))
        sock.fd.setsockopt(level, option, value)

    monkeypatch.setattr(GreenSocket, "setsockopt", refusing, raising=False)
    with listen(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.warns(ReusePortUnavailableWarning):
        sock = listen(("127.0.0.1", port), reuse_port=True)
    with sock:
        assert sock.getsockname()[1] == port
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
def test_other_reuse_port_errors_still_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(sock: GreenSocket, level: int, option: int, value: Any) -> None:
        raise PermissionError(errno.EPERM, "no")

    with listen(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    monkeypatch.setattr(GreenSocket, "setsockopt", failing, raising=False)
    with pytest.raises(PermissionError):
        listen(("127.0.0.1", port), reuse_addr=False, reuse_port=True)


def test_listen_backlog_is_applied() -> None:
    # Linux completes backlog + 1 handshakes without accept(); the next connect stalls.
    with listen(("127.0.0.1", 0), backlog=1) as sock:
        addr = sock.getsockname()
        clients = []
        try:
            for _ in range(10):
                c = GreenSocket(socket.AF_INET, socket.SOCK_STREAM)
                clients.append(c)
                c.settimeout(0.2)
                try:
                    c.connect(addr)
                except socket.timeout:
                    break
            assert 1 <= len(clients) - 1 <= 3, "a backlog of 1 queued too many connections"
        finally:
            for c in clients:
                c.close()


def test_connect_binds_first_when_asked() -> None:
    with listen(("127.0.0.1", 0)) as server:
        with GreenSocket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = connect(server.getsockname(), bind=("127.0.0.1", port))
        conn, addr = server.accept()
        assert addr == ("127.0.0.1", port) == client.getsockname()
        conn.close()
        client.close()


def test_connect_refused_raises_and_leaks_no_socket() -> None:
    with listen(("127.0.0.1", 0)) as probe:
        addr = probe.getsockname()
    get_hub()
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with pytest.raises(ConnectionRefusedError):
        connect(addr)
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.skipif(not has_ipv6_loopback(), reason="the machine has no ::1 loopback address")
def test_ipv6_family_is_taken_from_the_address() -> None:
    server = listen(("::1", 0))
    assert server.family == socket.AF_INET6
    srv = spawn(serve, server, _echo_once)
    addr = server.getsockname()[:2]
    assert _talk(addr, b"six") == b"echo six"
    assert _talk(addr, b"stop") == b"echo stop"
    srv.wait()
    server.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix-domain sockets")
def test_unix_domain_listen_connect_serve(tmp_path: Any) -> None:
    path = os.path.join(str(tmp_path), "srv.sock")
    server = listen(path)
    assert server.family == socket.AF_UNIX
    srv = spawn(serve, server, _echo_once)
    assert _talk(path, b"unix") == b"echo unix"
    assert _talk(path, b"stop") == b"echo stop"
    srv.wait()
    server.close()


# ---------------------------------------------------------------------- serve
def test_serve_runs_handlers_concurrently_and_closes_connections() -> None:
    server = listen(("127.0.0.1", 0))
    gate = Event()
    inside: list[int] = []

    def handle(conn: Any, _addr: Any) -> None:
        n = int(conn.recv(10))
        inside.append(n)
        if len(inside) == 5:
            gate.send(None)
        gate.wait()
        conn.sendall(b"%d" % (n * 2))
        # No close here: serve closes the connection when the handler returns.

    srv = spawn(serve, server, handle)
    results = [spawn(_talk, server.getsockname(), b"%d" % i) for i in range(5)]
    assert sorted(int(r.wait()) for r in results) == [0, 2, 4, 6, 8]
    assert sorted(inside) == list(range(5))
    srv.kill()
    server.close()


def test_serve_limits_concurrency() -> None:
    server = listen(("127.0.0.1", 0))
    active = [0]
    peak = [0]

    def handle(conn: Any, _addr: Any) -> None:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        try:
            conn.recv(10)
            sleep(0.01)
            conn.sendall(b"ok")
        finally:
            active[0] -= 1

    srv = spawn(serve, server, handle, 2)
    results = [spawn(_talk, server.getsockname(), b"x") for _ in range(6)]
    assert [r.wait() for r in results] == [b"ok"] * 6
    assert peak[0] == 2
    srv.kill()
    server.close()
    with pytest.raises(ValueError):
        serve(server, handle, 0)


def test_a_handler_exception_is_reported_and_serving_goes_on(
        capsys: pytest.CaptureFixture[str]) -> None:
    server = listen(("127.0.0.1", 0))

    def handle(conn: Any, addr: Any) -> None:
        data = conn.recv(100)
        if data == b"boom":
            raise ZeroDivisionError("handler bug")
        _echo_once_reply(conn, data)

    def _echo_once_reply(conn: Any, data: bytes) -> None:
        conn.sendall(b"echo " + data)
        if data == b"stop":
            raise StopServe()

    srv = spawn(serve, server, handle)
    addr = server.getsockname()
    # The failing connection is closed by serve: the client sees EOF, not a hang.
    assert _talk(addr, b"boom") == b""
    assert _talk(addr, b"after") == b"echo after"
    assert _talk(addr, b"stop") == b"echo stop"
    srv.wait()
    server.close()
    err = capsys.readouterr().err
    assert "ZeroDivisionError: handler bug" in err
    assert "serve() handler" in err


def test_stop_serve_thrown_into_the_serving_thread_stops_it() -> None:
    server = listen(("127.0.0.1", 0))
    srv = spawn(serve, server, _echo_once)
    sleep(0)  # parked in accept
    srv.kill(StopServe())
    assert srv.wait() is None
    server.close()


def test_serve_raises_when_the_listening_socket_is_closed() -> None:
    server = listen(("127.0.0.1", 0))
    srv = spawn(serve, server, _echo_once)
    sleep(0)
    server.close()
    with pytest.raises(IOClosed):
        srv.wait()


def test_a_network_error_of_one_pending_connection_is_skipped() -> None:
    class Flaky:
        """A listening socket whose first accept fails as the kernel may (ECONNABORTED)."""

        def __init__(self, real: GreenSocket) -> None:
            self.real = real
            self.calls = 0

        def accept(self) -> Any:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionAbortedError(errno.ECONNABORTED, "aborted")
            return self.real.accept()

    real = listen(("127.0.0.1", 0))
    flaky = Flaky(real)
    srv = spawn(serve, flaky, _echo_once)
    assert _talk(real.getsockname(), b"stop") == b"echo stop"
    srv.wait()
    assert flaky.calls >= 2
    real.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_accept_backs_off_on_emfile_then_recovers(capsys: pytest.CaptureFixture[str]) -> None:
    """Really run out of descriptors: accept fails with EMFILE, serve pauses and retries."""
    server = listen(("127.0.0.1", 0))
    addr = server.getsockname()
    # Client sockets are created while descriptors remain; connecting needs none.
    clients = [GreenSocket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(2)]
    served: list[bytes] = []

    def handle(conn: Any, _addr: Any) -> None:
        data = conn.recv(100)
        served.append(data)
        conn.sendall(b"echo " + data)
        if len(served) == len(clients):
            raise StopServe()

    get_hub()  # its poller needs a descriptor too
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fillers: list[int] = []
    srv = None
    try:
        highest = max(int(name) for name in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
        while True:
            try:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
            except OSError as exc:
                assert exc.errno == errno.EMFILE
                break
        for c in clients:
            c.connect(addr)  # completes in the listen backlog
        srv = spawn(serve, server, handle)
        started = time.monotonic()
        sleep(0.2)
        attempts = capsys.readouterr().err.count("accept() failed")
        # Pauses of 5, 10, 20, 40, 80 ms fit in 0.2 s: a handful of attempts, not a spin.
        assert 2 <= attempts <= 0.2 / _FIRST_PAUSE
        assert not srv.dead, "EMFILE must not end serve()"
        assert served == []
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    replies = [spawn(lambda c, m: (c.sendall(m), c.recv(100))[1], c, b"c%d" % i)
               for i, c in enumerate(clients)]
    assert sorted(r.wait() for r in replies) == [b"echo c0", b"echo c1"]
    assert srv is not None
    srv.wait()
    assert time.monotonic() - started < 5
    for c in clients:
        c.close()
    server.close()


def test_signatures_match_eventlet() -> None:
    import inspect

    params = inspect.signature(serve).parameters
    assert list(params) == ["sock", "handle", "concurrency"]
    assert params["concurrency"].default == 1000
    lparams = inspect.signature(listen).parameters
    assert list(lparams) == ["addr", "family", "backlog", "reuse_addr", "reuse_port"]
    assert lparams["backlog"].default == 50
