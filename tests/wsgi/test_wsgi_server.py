"""``greenlane.wsgi.server()`` with eventlet's keyword arguments, logging, capacity and
back-pressure, graceful stop, and TLS."""

from __future__ import annotations

import io
import logging
import os
import re
import resource
import selectors
import socket
import ssl
import subprocess
import threading
import time
import warnings
from typing import Any, Callable, Iterator, Optional

import pytest

import greenlane
from greenlane import wsgi
from greenlane.greenpool import GreenPool
from greenlane.wsgi._server import warn_running_as_root
from tests._support import unavailable

from ._wsgi_support import TIMEOUT, Client, RecordingLog, ServerThread, connect, hello_app

StartResponse = Callable[..., Any]


class _Box:
    """eventlet's ``server_event``: receives the Server object."""

    def __init__(self) -> None:
        self.value: Any = None

    def send(self, value: Any) -> None:
        self.value = value


class EventletStyle(ServerThread):
    """Runs ``wsgi.server(listen(...), app, **kwargs)`` (eventlet's entry point) in a thread."""

    def _run(self) -> None:
        box = _Box()
        try:
            sock = greenlane.listen(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
            self._ready.set()
            return

        def started(value: Any) -> None:
            self.server = value
            self._ready.set()

        box.send = started  # type: ignore[method-assign]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                wsgi.server(sock, self.app, server_event=box, **self.options)
            assert self.server is not None
            self.shutdown_result = self.server.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
            self._ready.set()
        finally:
            self._check_hub()


@pytest.fixture
def eventlet_server() -> Iterator[Callable[..., EventletStyle]]:
    servers: list[EventletStyle] = []

    def start(app: Callable[..., Any], **kwargs: Any) -> EventletStyle:
        kwargs.setdefault("log_output", False)
        srv = EventletStyle(app, **kwargs)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def environ_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("content-TYPE", "text/plain")])
    return [repr(sorted((k, v) for k, v in environ.items() if isinstance(v, str))).encode()]


def stream_app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [])
    for _ in range(4):
        yield b"12345"


def get(port: int, path: str = "/", **kwargs: Any) -> Any:
    """One request on a new connection, closed afterwards (error responses linger until the
    client closes, so an unclosed client would hold the server's shutdown up)."""
    c = Client(port)
    try:
        return c.request(path, **kwargs)
    finally:
        c.close()


ACCESS_LINE = re.compile(
    r'(?P<ip>[^ ]+) - - \[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] "(?P<line>[^"]*)" '
    r"(?P<status>\d{3}) (?P<length>\d+) \d+\.\d{6}$")


# -- eventlet's keyword arguments ----------------------------------------------------------------

def test_log_file_gets_startup_and_access_lines(eventlet_server: Any) -> None:
    log = io.StringIO()
    srv = eventlet_server(hello_app, log=log, log_output=True)
    get(srv.port, "/p?q=1")
    srv.stop()
    lines = log.getvalue().splitlines()
    assert f"({os.getpid()}) wsgi starting up on http://127.0.0.1:{srv.port}" in lines
    access = [m for m in map(ACCESS_LINE.match, lines) if m]
    assert len(access) == 1
    assert access[0]["ip"] == "127.0.0.1"
    assert access[0]["line"] == "GET /p?q=1 HTTP/1.1"
    assert (access[0]["status"], access[0]["length"]) == ("200", "13")


def test_default_log_goes_through_logging(eventlet_server: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="greenlane.wsgi")
    srv = eventlet_server(hello_app, log_output=True)
    get(srv.port)
    srv.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "greenlane.wsgi"]
    assert f"({os.getpid()}) wsgi starting up on http://127.0.0.1:{srv.port}" in messages
    assert any(ACCESS_LINE.match(m) for m in messages), messages


def test_log_output_false_silences_startup_and_access(eventlet_server: Any) -> None:
    log = io.StringIO()
    srv = eventlet_server(hello_app, log=log, log_output=False)
    get(srv.port)
    srv.stop()
    assert "starting up" not in log.getvalue()
    assert "GET /" not in log.getvalue()


def test_log_format_and_x_forwarded_for(eventlet_server: Any) -> None:
    log = io.StringIO()
    srv = eventlet_server(hello_app, log=log, log_output=True,
                          log_format="%(client_ip)s|%(status_code)s|%(request_line)s")
    get(srv.port, "/a", headers="X-Forwarded-For: 10.0.0.1\r\n")
    srv.stop()
    assert "10.0.0.1,127.0.0.1|200|GET /a HTTP/1.1" in log.getvalue().splitlines()

    log = io.StringIO()
    srv = eventlet_server(hello_app, log=log, log_output=True, log_x_forwarded_for=False,
                          log_format="%(client_ip)s|%(status_code)s")
    get(srv.port, "/a", headers="X-Forwarded-For: 10.0.0.1\r\n")
    srv.stop()
    assert "127.0.0.1|200" in log.getvalue().splitlines()


def test_environ_argument_is_merged(eventlet_server: Any) -> None:
    srv = eventlet_server(environ_app, environ={"EXTRA_KEY": "extra"})
    assert b"('EXTRA_KEY', 'extra')" in get(srv.port).body


def test_max_http_version_10(eventlet_server: Any) -> None:
    srv = eventlet_server(stream_app, max_http_version="HTTP/1.0")
    c = Client(srv.port)
    r = c.request("/")
    assert r.body == b"12345" * 4
    assert r.header("Transfer-Encoding") is None
    assert r.header("Content-Length") == "20"
    assert r.header("Connection") == "close"
    assert c.closed_by_peer()


def test_protocol_other_than_http_protocol_is_refused() -> None:
    class Custom:
        pass

    with pytest.raises(TypeError):
        wsgi.server(None, hello_app, protocol=Custom)
    with pytest.raises(ValueError):
        wsgi.server(None, hello_app, max_http_version="HTTP/2")


def test_minimum_chunk_size_coalesces(eventlet_server: Any) -> None:
    srv = eventlet_server(stream_app, minimum_chunk_size=10)
    r = get(srv.port)
    assert r.body == b"12345" * 4 and r.chunks == 2
    # Default: no buffering, one chunk per piece.
    srv = eventlet_server(stream_app)
    assert get(srv.port).chunks == 4


def test_http_protocol_minimum_chunk_size_is_server_s_default(
        eventlet_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # eventlet's process-wide setting (the alias sets eventlet's 4096): server() calls that
    # pass no minimum_chunk_size read it; one passed wins.
    monkeypatch.setattr(wsgi.HttpProtocol, "minimum_chunk_size", 10)
    assert get(eventlet_server(stream_app).port).chunks == 2
    assert get(eventlet_server(stream_app, minimum_chunk_size=1).port).chunks == 4
    assert wsgi.HttpProtocol.minimum_chunk_size == 10


def test_custom_pool_runs_the_connections(eventlet_server: Any) -> None:
    spawned: list[Any] = []

    class Pool(GreenPool):
        def spawn(self, *args: Any, **kwargs: Any) -> Any:
            spawned.append(args[0])
            return super().spawn(*args, **kwargs)

    pools: list[Pool] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    # The pool must belong to the server thread's hub: create it lazily there.
    class LazyPool:
        def spawn(self, *args: Any, **kwargs: Any) -> Any:
            if not pools:
                pools.append(Pool(10))
            return pools[0].spawn(*args, **kwargs)

    srv = eventlet_server(app, custom_pool=LazyPool())
    assert get(srv.port).body == b"ok"
    assert len(spawned) == 1


def test_keepalive_false_and_keepalive_seconds(eventlet_server: Any) -> None:
    srv = eventlet_server(hello_app, keepalive=False)
    c = Client(srv.port)
    r = c.request("/")
    assert r.status == 200 and r.header("Connection") == "close"
    assert c.closed_by_peer()

    srv = eventlet_server(hello_app, keepalive=0.3)
    c = Client(srv.port)
    assert c.request("/").header("Connection") is None
    c.sock.settimeout(5)
    start = time.monotonic()
    assert c.closed_by_peer()
    assert 0.2 < time.monotonic() - start < 3


def test_url_length_limit(eventlet_server: Any) -> None:
    srv = eventlet_server(hello_app, url_length_limit=100)
    assert get(srv.port, "/" + "a" * 50).status == 200
    assert get(srv.port, "/" + "a" * 150).status == 414


def test_debug_argument(eventlet_server: Any) -> None:
    def failing(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        raise ValueError("detail")

    log = io.StringIO()
    srv = eventlet_server(failing, log=log)
    r = get(srv.port)
    assert r.status == 500 and b"detail" not in r.body
    srv = eventlet_server(failing, log=log, debug=True)
    r = get(srv.port)
    assert r.status == 500 and b"ValueError: detail" in r.body
    srv.stop()
    assert "ValueError: detail" in log.getvalue()  # logged with its traceback
    assert "Traceback" in log.getvalue()


def test_socket_timeout(eventlet_server: Any) -> None:
    def reader(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        data = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [data]

    srv = eventlet_server(reader, socket_timeout=0.3)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
    assert c.read_response().status == 408
    # It also caps the idle timeout.
    c = Client(srv.port)
    assert c.request("/", body=b"12345").body == b"12345"
    c.sock.settimeout(5)
    assert c.closed_by_peer()


def test_capitalize_response_headers(eventlet_server: Any) -> None:
    srv = eventlet_server(environ_app)
    assert "Content-Type" in get(srv.port).header_names()
    srv = eventlet_server(environ_app, capitalize_response_headers=False)
    assert "content-TYPE" in get(srv.port).header_names()


# -- root warning --------------------------------------------------------------------------------

@pytest.mark.parametrize("uid", [0, 1000])
def test_runtime_warning_once_when_running_as_root(serve: Any, monkeypatch: pytest.MonkeyPatch,
                                                   uid: int) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    warn_running_as_root.cache_clear()
    log = RecordingLog()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # a second server in the same process does not warn again
            serve(hello_app, log=log, warn_if_root=True).stop()
    warn_running_as_root.cache_clear()
    root = [w for w in caught if issubclass(w.category, RuntimeWarning)
            and "running as root" in str(w.message)]
    assert len(root) == (1 if uid == 0 else 0)
    if root:
        assert "non-root account" in str(root[0].message)
        assert "--user" in str(root[0].message)
    # Not in the server's log: eventlet-style logs (and tests comparing them) stay clean.
    assert not [m for lv, m in log.lines if "root" in m]


def test_no_root_warning_when_the_caller_handles_it(serve: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    warn_running_as_root.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        serve(hello_app, warn_if_root=False).stop()
    warn_running_as_root.cache_clear()
    assert not [w for w in caught if "running as root" in str(w.message)]


# -- capacity and back-pressure ------------------------------------------------------------------

def test_back_pressure_at_max_connections(serve: Any) -> None:
    srv = serve(hello_app, max_connections=2)
    a, b = Client(srv.port), Client(srv.port)
    assert a.request("/").status == 200 and b.request("/").status == 200
    # Both are idle keep-alive connections: the limit is reached, the third waits in the
    # listen backlog (connect succeeds, no answer) instead of being refused.
    third = Client(srv.port, timeout=0.5)
    third.get("/")
    with pytest.raises(socket.timeout):
        third.rfile.peek(1)
    stats: dict[str, int] = {}
    srv.call(lambda s: stats.update(s.statistics()))
    assert stats["total"] == 2
    a.close()
    third.sock.settimeout(TIMEOUT)
    third.rfile = third.sock.makefile("rb")
    assert third.read_response().status == 200
    b.close()
    third.close()


@pytest.mark.slow
def test_thousands_of_concurrent_keep_alive_connections(serve: Any) -> None:
    n = 3000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * n + 256  # both ends live in this process
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    srv = serve(hello_app, backlog=4096)
    socks: list[socket.socket] = []
    sel = selectors.DefaultSelector()
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
            s.setblocking(False)
            socks.append(s)
        deadline = time.monotonic() + 60
        for round_ in range(2):  # two requests on every connection: they stay alive
            for s in socks:
                s.send(request)
            pending = {s.fileno(): b"" for s in socks}
            for s in socks:
                sel.register(s, selectors.EVENT_READ)
            while pending:
                assert time.monotonic() < deadline, f"{len(pending)} responses missing"
                for key, _ in sel.select(1):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    data = pending[sock.fileno()] + sock.recv(4096)
                    assert data, "a connection was closed"
                    if data.endswith(b"Hello, World!"):
                        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
                        del pending[sock.fileno()]
                        sel.unregister(sock)
                    else:
                        pending[sock.fileno()] = data
            if round_ == 0:
                assert srv.server is not None
                assert srv.server.statistics()["total"] == n
    finally:
        sel.close()
        for s in socks:
            s.close()


# -- graceful stop -------------------------------------------------------------------------------

def test_graceful_stop_finishes_in_flight_and_closes_idle(serve: Any) -> None:
    started = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            started.set()
            greenlane.sleep(0.3)
        start_response("200 OK", [])
        return [b"done " + environ["PATH_INFO"].encode()]

    srv = serve(app)
    idle = Client(srv.port)
    assert idle.request("/idle").status == 200
    busy = Client(srv.port)
    busy.get("/slow")
    assert started.wait(TIMEOUT)
    stopper = threading.Thread(target=srv.stop, kwargs={"timeout": 5})
    stopper.start()
    assert idle.closed_by_peer()  # idle keep-alive connection closed at once
    r = busy.read_response()
    assert r.body == b"done /slow" and r.header("Connection") == "close"
    stopper.join(TIMEOUT)
    assert srv.shutdown_result is True
    with pytest.raises(OSError):
        connect(srv.port, timeout=1).sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 1000)


def test_graceful_stop_deadline_cuts_what_is_left(serve: Any) -> None:
    started = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started.set()
        greenlane.sleep(30)
        start_response("200 OK", [])
        return [b"never"]

    srv = serve(app)
    c = Client(srv.port)
    c.get("/")
    assert started.wait(TIMEOUT)
    t0 = time.monotonic()
    srv.stop(timeout=0.3)
    assert time.monotonic() - t0 < 5
    assert srv.shutdown_result is False
    assert c.closed_by_peer()


@pytest.mark.slow
def test_graceful_stop_under_load_loses_no_request(serve: Any) -> None:
    started_ids: set[str] = set()
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        rid = environ["HTTP_X_ID"]
        with lock:
            started_ids.add(rid)
        greenlane.sleep(0.02)
        start_response("200 OK", [])
        return [rid.encode()]

    srv = serve(app, backlog=512)
    completed: set[str] = set()
    failures: list[str] = []
    stop_now = threading.Event()
    enough = threading.Event()

    def client(worker: int) -> None:
        n = 0
        c: Optional[Client] = None
        while not stop_now.is_set():
            try:
                if c is None:
                    c = Client(srv.port, timeout=5)
                rid = f"{worker}-{n}"
                n += 1
                r = c.request("/", headers=f"X-Id: {rid}\r\n")
            except (OSError, ConnectionError):
                # Refused after the stop, or an idle connection closed by it before this
                # request reached the server: a client would retry, nothing was lost
                # (checked below: the application never saw it).
                if c is not None:
                    c.close()
                c = None
                if srv.server is not None and srv.server.closing:
                    return
                continue
            if r.status != 200 or r.body != rid.encode():
                failures.append(f"{rid}: {r!r}")
            with lock:
                completed.add(rid)
                if len(completed) >= 200:
                    enough.set()
            if r.header("Connection") == "close":
                c.close()
                c = None
        if c is not None:
            c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    assert enough.wait(30)
    srv.stop(timeout=10)
    stop_now.set()
    for t in threads:
        t.join(TIMEOUT)
    assert not failures
    assert srv.shutdown_result is True
    # Every request the application started was answered completely.
    assert started_ids <= completed, sorted(started_ids - completed)[:10]


# -- TLS -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("tls")
    certfile, keyfile = str(d / "cert.pem"), str(d / "key.pem")
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyfile, "-out", certfile,
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable(f"openssl cannot make a certificate: {exc}")
    return certfile, keyfile


def test_tls_handshake_failures_do_not_stop_the_server(serve: Any,
                                                       cert: tuple[str, str]) -> None:
    certfile, keyfile = cert
    srv = ServerThread(environ_app, tls={"certfile": certfile, "keyfile": keyfile},
                       log_output=False, log=RecordingLog())
    try:
        # 1. plain HTTP on the TLS port; 2. a client that closes mid-handshake;
        # 3. a client that does not trust the certificate.
        s = connect(srv.port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            s.recv(100)
        except OSError:
            pass
        s.close()
        s = connect(srv.port)
        s.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
        s.close()
        untrusting = ssl.create_default_context()
        with pytest.raises(ssl.SSLError):
            untrusting.wrap_socket(connect(srv.port), server_hostname="127.0.0.1")
        # The server still serves TLS clients, with wsgi.url_scheme https.
        ctx = ssl.create_default_context(cafile=certfile)
        with ctx.wrap_socket(connect(srv.port), server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK")
        assert b"('wsgi.url_scheme', 'https')" in data
        assert b"('HTTPS', 'on')" in data
    finally:
        srv.stop()
