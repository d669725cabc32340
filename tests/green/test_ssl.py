"""greenlane.green.ssl: TLS that cooperates with the hub, against itself and the stdlib."""

from __future__ import annotations

import errno
import os
import socket
import ssl as stdssl
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from greenlane.convenience import StopServe, connect, listen, serve, wrap_ssl
from greenlane.green import ssl
from greenlane.greenio import GreenSocket, IOClosed
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from tests._support import recv_exactly

from .conftest import Certs


def _blocked(gt: object) -> bool:
    for _ in range(3):
        sleep(0)
    return not gt.dead  # type: ignore[attr-defined]


def _server_ctx(certs: Certs, *, alpn: Any = None) -> ssl.GreenSSLContext:
    ctx = ssl.GreenSSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def _client_ctx(certs: Certs, *, alpn: Any = None) -> ssl.GreenSSLContext:
    ctx = ssl.create_default_context(cafile=certs.ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


@pytest.fixture
def tls_listener(certs: Certs) -> Iterator[ssl.GreenSSLSocket]:
    sock = _server_ctx(certs, alpn=["h2", "http/1.1"]).wrap_socket(
        listen(("127.0.0.1", 0)), server_side=True)
    yield sock
    sock.close()


def _accept_handshaken(listener: ssl.GreenSSLSocket) -> tuple[Any, Any]:
    """accept() defers the handshake to the first I/O; a test that blocks on the client side
    needs the server to answer the ClientHello meanwhile."""
    conn, addr = listener.accept()
    conn.do_handshake()
    return conn, addr




class _Thread:
    """A real OS thread running blocking stdlib code, for a stdlib peer."""

    def __init__(self, target: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = target()
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> Any:
        # Poll so that the hub (and the green side of the conversation) keeps running.
        deadline = time.monotonic() + 20
        while self.thread.is_alive():
            assert time.monotonic() < deadline, "stdlib peer thread hung"
            sleep(0.002)
        if self.error is not None:
            raise self.error
        return self.result


# ---------------------------------------------------------------------------- module
def test_module_mirrors_the_stdlib() -> None:
    assert ssl.SSLSocket is ssl.GreenSSLSocket
    assert ssl.SSLContext is ssl.GreenSSLContext
    assert ssl.CERT_REQUIRED == stdssl.CERT_REQUIRED
    assert ssl.SSLError is stdssl.SSLError
    assert ssl.SSLWantReadError is stdssl.SSLWantReadError
    assert issubclass(ssl.GreenSSLSocket, stdssl.SSLSocket)
    for name in ssl.__all__:
        assert hasattr(ssl, name), name
    assert isinstance(ssl.create_default_context(), ssl.GreenSSLContext)
    assert ssl._create_default_https_context is ssl.create_default_context


# ---------------------------------------------------------------------------- green <-> green
def test_green_client_and_server_with_alpn_and_big_transfer(
        certs: Certs, tls_listener: ssl.GreenSSLSocket) -> None:
    addr = tls_listener.getsockname()
    size = 16 << 20
    payload = os.urandom(1 << 20) * 16

    def server() -> tuple[Any, ...]:
        conn, _ = tls_listener.accept()
        with conn:
            data = recv_exactly(conn, size)
            conn.sendall(b"got it")
            return conn.selected_alpn_protocol(), conn.version(), data == payload

    srv = spawn(server)
    client = _client_ctx(certs, alpn=["http/1.1"]).wrap_socket(
        connect(addr), server_hostname="localhost")
    with client:
        assert isinstance(client, ssl.GreenSSLSocket)
        assert client.selected_alpn_protocol() == "http/1.1"
        assert client.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
        assert client.cipher() is not None
        client.sendall(payload)
        assert recv_exactly(client, 6) == b"got it"
    alpn, version, same = srv.wait()
    assert alpn == "http/1.1"
    assert version and version.startswith("TLS")
    assert same


def test_client_connect_method_does_the_handshake(
        certs: Certs, tls_listener: ssl.GreenSSLSocket) -> None:
    srv = spawn(lambda: tls_listener.accept()[0].recv(5))
    client = _client_ctx(certs).wrap_socket(GreenSocket(), server_hostname="localhost")
    client.connect(tls_listener.getsockname())
    assert client.version() is not None
    client.send(b"hello")
    assert srv.wait() == b"hello"
    with pytest.raises(ValueError):
        client.connect(tls_listener.getsockname())
    client.close()


def test_connect_ex_reports_refusal(certs: Certs) -> None:
    with listen(("127.0.0.1", 0)) as gone:
        addr = gone.getsockname()
    client = _client_ctx(certs).wrap_socket(GreenSocket(), server_hostname="localhost")
    with client:
        assert client.connect_ex(addr) == errno.ECONNREFUSED


def test_nonblocking_connect_ex_then_handshake(certs: Certs,
                                                tls_listener: ssl.GreenSSLSocket) -> None:
    # CPython's test_ssl (test_non_blocking_connect_ex): the TLS object must survive a
    # connect_ex() that answered EINPROGRESS, for the do_handshake() that follows.
    srv = spawn(_accept_handshaken, tls_listener)
    client = _client_ctx(certs).wrap_socket(GreenSocket(), server_hostname="localhost",
                                            do_handshake_on_connect=False)
    client.setblocking(False)
    rc = client.connect_ex(tls_listener.getsockname())
    assert rc in (0, errno.EINPROGRESS)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.do_handshake()
            break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError as exc:  # the connection is still under way
            if exc.errno != errno.ENOTCONN:
                raise
        assert time.monotonic() < deadline, "handshake never completed"
        sleep(0.001)
    conn, _ = srv.wait()
    assert client.version() is not None
    conn.close()
    client.close()


def test_makefile_over_tls(certs: Certs, tls_listener: ssl.GreenSSLSocket) -> None:
    def server() -> bytes:
        conn, _ = tls_listener.accept()
        with conn:
            f = conn.makefile("rwb")
            line = f.readline()
            f.write(b"echo " + line)
            f.flush()
            f.close()
            return line

    srv = spawn(server)
    client = _client_ctx(certs).wrap_socket(connect(tls_listener.getsockname()),
                                            server_hostname="localhost")
    with client:
        f = client.makefile("rwb")
        f.write(b"a line\n")
        f.flush()
        assert f.readline() == b"echo a line\n"
        f.close()
    assert srv.wait() == b"a line\n"


def test_unwrap_both_sides_then_plain_tcp(certs: Certs,
                                           tls_listener: ssl.GreenSSLSocket) -> None:
    def server() -> bytes:
        conn, _ = tls_listener.accept()
        assert conn.recv(3) == b"tls"
        plain = conn.unwrap()
        try:
            plain.sendall(b"plain from server")
            return plain.recv(100)  # type: ignore[no-any-return]
        finally:
            plain.close()

    srv = spawn(server)
    client = _client_ctx(certs).wrap_socket(connect(tls_listener.getsockname()),
                                            server_hostname="localhost")
    client.sendall(b"tls")
    plain = client.unwrap()
    assert recv_exactly(plain, 17) == b"plain from server"
    plain.sendall(b"plain from client")
    assert srv.wait() == b"plain from client"
    plain.close()
    with pytest.raises(ValueError):
        plain.unwrap()


def test_sni_callback_switches_certificate(certs: Certs) -> None:
    other = ssl.GreenSSLContext(ssl.PROTOCOL_TLS_SERVER)
    other.load_cert_chain(certs.other_cert, certs.other_key)
    seen = []

    def pick(sock: Any, server_name: Any, ctx: Any) -> None:
        seen.append((type(sock).__name__, server_name))
        if server_name == "other.test":
            sock.context = other

    server_ctx = _server_ctx(certs)
    server_ctx.sni_callback = pick
    with server_ctx.wrap_socket(listen(("127.0.0.1", 0)), server_side=True) as lsock:
        srv = spawn(lambda: lsock.accept()[0].recv(2))
        client = _client_ctx(certs).wrap_socket(connect(lsock.getsockname()),
                                                server_hostname="other.test")
        with client:
            assert client.getpeercert()["subjectAltName"] == (("DNS", "other.test"),)
            client.sendall(b"ok")
        assert srv.wait() == b"ok"
    assert seen == [("GreenSSLSocket", "other.test")]


def test_mutual_tls(certs: Certs) -> None:
    server_ctx = _server_ctx(certs)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(certs.ca)
    with server_ctx.wrap_socket(listen(("127.0.0.1", 0)), server_side=True) as lsock:
        def server() -> Any:
            conn, _ = lsock.accept()
            with conn:
                return conn.getpeercert()  # runs the deferred handshake

        srv = spawn(server)
        client_ctx = _client_ctx(certs)
        client_ctx.load_cert_chain(certs.client_cert, certs.client_key)
        client = client_ctx.wrap_socket(connect(lsock.getsockname()),
                                        server_hostname="localhost")
        peer = srv.wait()
        client.close()
    assert ("DNS", "client.test") in peer["subjectAltName"]


# ---------------------------------------------------------------------------- stdlib peers
def test_green_server_with_a_stdlib_client_thread(certs: Certs,
                                                   tls_listener: ssl.GreenSSLSocket) -> None:
    addr = tls_listener.getsockname()

    def stdlib_client() -> bytes:
        ctx = stdssl.create_default_context(cafile=certs.ca)
        ctx.set_alpn_protocols(["h2"])
        with socket.create_connection(addr, timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
            tls.sendall(b"x" * 1_000_000)
            out = b""
            while len(out) < 4:
                out += tls.recv(4 - len(out))
            return out

    ticks = [0]

    def ticker() -> None:
        while True:
            ticks[0] += 1
            sleep(0.001)

    tick = spawn(ticker)
    peer = _Thread(stdlib_client)
    conn, _ = tls_listener.accept()
    with conn:
        assert recv_exactly(conn, 1_000_000) == b"x" * 1_000_000
        assert conn.selected_alpn_protocol() == "h2"
        conn.sendall(b"done")
        assert peer.join() == b"done"
    tick.kill()
    assert ticks[0] > 0  # the hub kept running while the stdlib client worked


def test_green_client_with_a_stdlib_server_thread(certs: Certs) -> None:
    ctx = stdssl.create_default_context(stdssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    raw = socket.create_server(("127.0.0.1", 0))
    raw.settimeout(10)
    addr = raw.getsockname()

    def stdlib_server() -> bytes:
        with raw:
            conn, _ = raw.accept()
            with ctx.wrap_socket(conn, server_side=True) as tls:
                data = tls.recv(100)
                tls.sendall(data.upper())
                return data

    peer = _Thread(stdlib_server)
    client = _client_ctx(certs).wrap_socket(connect(addr), server_hostname="localhost")
    with client:
        client.sendall(b"shout")
        assert client.recv(100) == b"SHOUT"
    assert peer.join() == b"shout"


# ---------------------------------------------------------------------------- blocking semantics
def test_accept_does_not_wait_for_the_handshake(tls_listener: ssl.GreenSSLSocket) -> None:
    silent = connect(tls_listener.getsockname())  # TCP only: it never says ClientHello
    try:
        conn, _ = tls_listener.accept()
        assert conn._handshake_pending
        conn.settimeout(0.05)
        with pytest.raises(socket.timeout):
            conn.recv(1)  # the deferred handshake times out in the handler, not in accept
        conn.close()
    finally:
        silent.close()


def test_handshake_timeout_and_recv_timeout(certs: Certs,
                                            tls_listener: ssl.GreenSSLSocket) -> None:
    silent = connect(tls_listener.getsockname())
    conn, _ = tls_listener.accept()
    conn.settimeout(0.05)
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        conn.do_handshake()
    assert time.monotonic() - start < 2
    conn.close()
    silent.close()

    srv = spawn(_accept_handshaken, tls_listener)
    client = _client_ctx(certs).wrap_socket(connect(tls_listener.getsockname()),
                                            server_hostname="localhost")
    client.settimeout(0.05)
    assert client.gettimeout() == 0.05 and client.timeout == 0.05
    with pytest.raises(socket.timeout):
        client.recv(1)
    client.close()
    srv.wait()[0].close()


def test_nonblocking_mode_passes_ssl_want_read_through(
        certs: Certs, tls_listener: ssl.GreenSSLSocket) -> None:
    srv = spawn(_accept_handshaken, tls_listener)
    client = _client_ctx(certs).wrap_socket(connect(tls_listener.getsockname()),
                                            server_hostname="localhost")
    conn, _ = srv.wait()
    conn.do_handshake()
    client.setblocking(False)
    assert not client.getblocking()
    with pytest.raises(ssl.SSLWantReadError):
        client.recv(1)
    conn.sendall(b"now")
    deadline = time.monotonic() + 5
    while True:
        try:
            assert client.recv(3) == b"now"
            break
        except ssl.SSLWantReadError:
            assert time.monotonic() < deadline
            sleep(0.001)
    client.close()
    conn.close()


def test_close_wakes_a_blocked_tls_reader(certs: Certs,
                                          tls_listener: ssl.GreenSSLSocket) -> None:
    srv = spawn(_accept_handshaken, tls_listener)
    client = _client_ctx(certs).wrap_socket(connect(tls_listener.getsockname()),
                                            server_hostname="localhost")
    conn, _ = srv.wait()
    gt = spawn(client.recv, 10)
    assert _blocked(gt)
    client.close()
    with pytest.raises(IOClosed):
        gt.wait()
    conn.close()
    assert get_hub().get_readers() == []


def test_detach_hands_over_the_descriptor(certs: Certs,
                                          tls_listener: ssl.GreenSSLSocket) -> None:
    srv = spawn(_accept_handshaken, tls_listener)
    client = _client_ctx(certs).wrap_socket(connect(tls_listener.getsockname()),
                                            server_hostname="localhost")
    conn, _ = srv.wait()
    fd = client.detach()
    assert client.fileno() == -1
    os.close(fd)
    conn.close()


# ------------------------------------------------------------------------ wrap_socket / wrap_ssl
def test_legacy_wrap_socket_signature(certs: Certs) -> None:
    server = ssl.wrap_socket(listen(("127.0.0.1", 0)), certs.server_key, certs.server_cert,
                             server_side=True)
    with server:
        srv = spawn(lambda: server.accept()[0].recv(4))
        client = ssl.wrap_socket(connect(server.getsockname()))  # CERT_NONE, as it always was
        client.sendall(b"leg!")
        assert srv.wait() == b"leg!"
        client.close()
    with pytest.raises(ValueError):
        ssl.wrap_socket(GreenSocket(), server_side=True)
    with pytest.raises(ValueError):
        ssl.wrap_socket(GreenSocket(), keyfile=certs.server_key)
    with pytest.raises(ValueError):
        ssl.wrap_socket(GreenSocket(), certfile=certs.server_cert, context=_client_ctx(certs))


def test_wrap_socket_with_a_plain_stdlib_context_is_still_green(certs: Certs) -> None:
    plain = stdssl.SSLContext(stdssl.PROTOCOL_TLS_SERVER)
    plain.load_cert_chain(certs.server_cert, certs.server_key)
    server = wrap_ssl(listen(("127.0.0.1", 0)), server_side=True, context=plain)
    with server:
        assert isinstance(server, ssl.GreenSSLSocket)
        srv = spawn(lambda: server.accept()[0].recv(2))
        real_client = socket.socket()  # a real socket gets wrapped too
        real_client.connect(server.getsockname())
        client = ssl.wrap_socket(real_client, context=_client_ctx(certs),
                                 server_hostname="localhost")
        assert isinstance(client, ssl.GreenSSLSocket)
        client.sendall(b"ok")
        assert srv.wait() == b"ok"
        client.close()


def test_serve_drops_clients_that_reset_during_the_handshake(
        certs: Certs, capsys: pytest.CaptureFixture[str]) -> None:
    server = wrap_ssl(listen(("127.0.0.1", 0)), certfile=certs.server_cert,
                      keyfile=certs.server_key, server_side=True)
    handled = []

    def handle(conn: Any, addr: Any) -> None:
        data = conn.recv(100)
        handled.append(data)
        conn.sendall(b"served " + data)
        if data == b"last":
            raise StopServe()

    srv = spawn(serve, server, handle)
    addr = server.getsockname()
    # A client that resets (RST) mid-handshake, and one that sends garbage instead of TLS.
    rude = connect(addr)
    rude.sendall(b"\x16\x03\x01\x00\x10")  # the start of a record, then nothing more
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()
    junk = connect(addr)
    junk.sendall(b"GET / HTTP/1.0\r\n\r\n")
    try:
        answer = junk.recv(100)
    except ConnectionResetError:
        answer = b""
    assert not answer.startswith(b"HTTP"), "plain text must never reach the handler"
    junk.close()
    for message in (b"first", b"last"):
        client = _client_ctx(certs).wrap_socket(connect(addr), server_hostname="localhost")
        client.sendall(message)
        assert client.recv(100) == b"served " + message
        client.close()
    srv.wait()
    server.close()
    assert handled == [b"first", b"last"]
    assert "Traceback" not in capsys.readouterr().err
