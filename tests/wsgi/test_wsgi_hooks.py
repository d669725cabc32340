"""Request hooks, ``max_requests``, the separate access log, and Unix-socket listeners: the
server features the command line and the Gunicorn worker build on."""

from __future__ import annotations

import io
import os
import socket
import tempfile
import threading
from typing import Any, Callable, Iterator

import pytest

import greenlane
from greenlane.wsgi import Server

from ._wsgi_support import TIMEOUT, Client, RecordingLog, ServerThread, hello_app

StartResponse = Callable[..., Any]


class Recorder:
    """before_request / after_request that record what they get, from the server's thread."""

    def __init__(self) -> None:
        self.before: list[str] = []
        self.after: list[tuple[str, str, list[tuple[str, str]], int, float]] = []
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.threads: set[Any] = set()

    def before_request(self, environ: dict[str, Any]) -> None:
        self.before.append(environ["PATH_INFO"])
        environ["test.before"] = True
        self.threads.add(greenlane.getcurrent())

    def after_request(self, environ: dict[str, Any], status: str,
                      headers: list[tuple[str, str]], body_bytes: int, seconds: float) -> None:
        with self.lock:
            self.after.append((environ["PATH_INFO"], status, headers, body_bytes, seconds))
        self.threads.add(greenlane.getcurrent())
        self.done.set()


def hooked_app(environ: dict[str, Any], start_response: StartResponse) -> Any:
    assert environ.get("test.before") is True  # the before hook ran first, same environ
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("boom")
    if path == "/stream":
        start_response("200 OK", [("X-Kind", "stream")])
        return iter([b"ab", b"cde"])
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_before_and_after_hooks_see_each_request(serve: Any) -> None:
    rec = Recorder()
    srv = serve(hooked_app, before_request=rec.before_request, after_request=rec.after_request,
                log=RecordingLog())
    c = Client(srv.port)
    assert c.request("/one").status == 201
    assert c.request("/stream").body == b"abcde"
    c.close()
    srv.stop()
    assert rec.before == ["/one", "/stream"]
    one, stream = rec.after
    assert one[:4] == ("/one", "201 Created", [("Content-Type", "text/plain"),
                                               ("Content-Length", "5")], 5)
    assert stream[:4] == ("/stream", "200 OK", [("X-Kind", "stream")], 5)
    assert all(0 <= entry[4] < TIMEOUT for entry in rec.after)
    assert len(rec.threads) == 1  # both ran in the connection's green thread


def test_after_hook_reports_the_500_the_server_sent(serve: Any) -> None:
    rec = Recorder()
    log = RecordingLog()
    srv = serve(hooked_app, before_request=rec.before_request, after_request=rec.after_request,
                log=log)
    c = Client(srv.port)
    assert c.request("/fail").status == 500
    c.close()
    assert rec.done.wait(TIMEOUT)
    [(path, status, headers, body_bytes, _)] = rec.after
    assert (path, status, headers, body_bytes) == ("/fail", "500 Internal Server Error", [], 0)


def test_a_failing_before_hook_fails_the_request(serve: Any) -> None:
    rec = Recorder()
    called: list[str] = []

    def before(environ: dict[str, Any]) -> None:
        raise ValueError("refused by the hook")

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        called.append("app")
        start_response("200 OK", [])
        return [b""]

    log = RecordingLog()
    srv = serve(app, before_request=before, after_request=rec.after_request, log=log)
    c = Client(srv.port)
    assert c.request("/").status == 500
    c.close()
    assert rec.done.wait(TIMEOUT)
    assert not called
    assert rec.after[0][1] == "500 Internal Server Error"
    assert "refused by the hook" in log.text("error")


def test_after_hook_errors_are_logged_and_the_connection_goes_on(serve: Any) -> None:
    def after(*args: Any) -> None:
        raise RuntimeError("hook bug")

    log = RecordingLog()
    srv = serve(hello_app, after_request=after, log=log)
    c = Client(srv.port)
    assert c.request("/").status == 200
    assert c.request("/").status == 200  # same connection, still usable
    c.close()
    assert "error in the after_request hook" in log.text("error")
    assert "hook bug" in log.text("error")


def test_after_hook_runs_when_the_client_goes_away_mid_response(serve: Any) -> None:
    rec = Recorder()
    first_sent = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"x" * 100
        first_sent.set()
        while True:
            greenlane.sleep(0.01)
            yield b"y" * 65536

    srv = serve(app, after_request=rec.after_request)
    c = Client(srv.port)
    c.get("/")
    assert first_sent.wait(TIMEOUT)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()  # RST: the server's next write fails
    assert rec.done.wait(TIMEOUT)
    [(_, status, _, body_bytes, _)] = rec.after
    assert status == "200 OK" and body_bytes >= 100


def test_max_requests_stops_the_server_gracefully() -> None:
    log = RecordingLog()
    srv = ServerThread(hello_app, max_requests=3, log=log, log_output=True)
    c = Client(srv.port)
    r1, r2 = c.request("/"), c.request("/")
    assert r1.header("Connection") is None and r2.header("Connection") is None
    r3 = c.request("/")
    assert r3.status == 200 and r3.header("Connection") == "close"
    assert c.closed_by_peer()
    c.close()
    srv.stop(timeout=None, join=TIMEOUT)  # already stopping by itself
    assert srv.shutdown_result is True
    assert "max_requests=3" in log.text("info")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT).close()


def test_on_max_requests_replaces_the_stop(serve: Any) -> None:
    reached = threading.Event()
    srv = serve(hello_app, max_requests=1, on_max_requests=reached.set)
    c = Client(srv.port)
    r = c.request("/")
    assert r.status == 200 and r.header("Connection") == "close"
    assert reached.wait(TIMEOUT)
    c.close()
    # The server still accepts: stopping is the callback's business.
    c = Client(srv.port)
    assert c.request("/").status == 200
    c.close()
    assert srv.server is not None and not srv.server.closing


def test_access_log_to_its_own_file(serve: Any) -> None:
    log = RecordingLog()
    access = io.StringIO()
    srv = serve(hello_app, log=log, log_output=True, access_log=access)
    c = Client(srv.port)
    c.request("/here")
    c.close()
    srv.stop()
    assert '"GET /here HTTP/1.1" 200 13' in access.getvalue()
    assert "GET /here" not in log.text("info")
    assert "wsgi starting up" in log.text("info")


def test_access_log_off_keeps_the_other_lines(serve: Any) -> None:
    log = RecordingLog()
    srv = serve(hello_app, log=log, log_output=True, access_log=False)
    c = Client(srv.port)
    c.request("/here")
    c.close()
    srv.stop()
    assert "GET /here" not in log.text("info") and "wsgi exited" in log.text("info")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_requests"):
        Server(hello_app, [], max_requests=0)
    with pytest.raises(TypeError, match="after_request"):
        Server(hello_app, [], after_request="log")
    with pytest.raises(TypeError, match="access_log"):
        Server(hello_app, [], access_log=42)


# -- Unix sockets ------------------------------------------------------------------------------

def test_unix_socket_listener() -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [f"{environ['REMOTE_ADDR']}|{environ['SERVER_NAME']}|"
                f"{environ['wsgi.url_scheme']}".encode()]

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "app.sock")
        log = RecordingLog()
        srv = ServerThread(app, log=log, log_output=True,
                           listen=lambda: [greenlane.listen(path, family=socket.AF_UNIX)])
        try:
            assert srv.server is not None and srv.server.urls == [f"unix:{path}"]
            for _ in range(2):  # keep-alive on a Unix socket too
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(TIMEOUT)
                    s.connect(path)
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                assert data.count(b"HTTP/1.1 200 OK") == 2
                assert data.endswith(b"unix|unix|http")
        finally:
            srv.stop()
        assert f"wsgi starting up on unix:{path}" in log.text("info")
