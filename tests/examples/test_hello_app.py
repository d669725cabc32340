"""The Flask example (examples/hello-app) run as a real process, as a user would run it.

``python wsgi.py`` is started with ``PORT`` set to a free port; the tests wait for its startup
line on stderr, then talk HTTP to it over loopback. One process serves most tests (module
scope); the graceful-stop tests start their own, since they end it.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Optional

import pytest

from tests._services import free_port

APP_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "hello-app")
TIMEOUT = 30.0


class AppProcess:
    """``python wsgi.py`` with its stderr collected by a reader thread."""

    def __init__(self) -> None:
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "wsgi.py"], cwd=APP_DIR, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        expected = f"({self.proc.pid}) wsgi starting up on http://127.0.0.1:{self.port}"
        if not self.wait_for_line(expected, TIMEOUT):
            self.kill()
            raise AssertionError(f"no startup line {expected!r}; output: {self.lines}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<EOF>")
            self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float) -> bool:
        """True once a line containing ``text`` was printed (False on timeout or EOF)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if any(text in line for line in self.lines):
                    return True
                if self.lines[-1:] == ["<EOF>"]:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)

    def conn(self, timeout: float = TIMEOUT) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path: str) -> tuple[int, bytes]:
        c = self.conn()
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT)
        self._reader.join(TIMEOUT)


@pytest.fixture(scope="module")
def app() -> Iterator[AppProcess]:
    proc = AppProcess()
    try:
        yield proc
    finally:
        proc.kill()


def test_hello_and_keep_alive(app: AppProcess) -> None:
    c = app.conn()
    for _ in range(3):
        c.request("GET", "/")
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"Hello, World!")
        assert r.getheader("Content-Length") == "13"
        assert r.getheader("Date") is not None
    c.close()
    assert app.get("/missing")[0] == 404


def test_access_log_line(app: AppProcess) -> None:
    app.get("/?logged=1")
    assert app.wait_for_line('"GET /?logged=1 HTTP/1.1" 200 13 ', TIMEOUT)


def test_context_locals_are_isolated_under_concurrency(app: AppProcess) -> None:
    n = 200

    def one(i: int) -> tuple[int, bytes]:
        # Each view sets g.name, yields (green sleep), then reads g and request back.
        return app.get(f"/whoami/user{i}?seconds=0.05&tag=t{i}")

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(one, range(n)))
    for i, (status, body) in enumerate(results):
        assert status == 200
        assert body == f"user{i} /whoami/user{i} t{i}".encode()


def test_sleeps_overlap(app: AppProcess) -> None:
    n = 20
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(lambda _: app.get("/sleep?seconds=0.2"), range(n)))
    elapsed = time.monotonic() - start
    assert all(r == (200, b"slept 0.2 s\n") for r in results)
    assert elapsed < n * 0.2 / 2, f"{n} sleeps of 0.2 s took {elapsed:.2f} s"


def test_chunked_upload_to_flask(app: AppProcess) -> None:
    payload = b"".join(b"line %d\n" % i for i in range(2000))
    with socket.create_connection(("127.0.0.1", app.port), timeout=TIMEOUT) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: text/plain\r\nConnection: close\r\n\r\n")
        for i in range(0, len(payload), 1000):
            piece = payload[i:i + 1000]
            s.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
        s.sendall(b"0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: %d" % len(payload) in head
    assert body == payload


def test_chunked_upload_with_http_client(app: AppProcess) -> None:
    c = app.conn()
    c.request("POST", "/echo", body=iter([b"abc", b"def"]), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked", "Content-Type": "text/plain"})
    r = c.getresponse()
    assert (r.status, r.read()) == (200, b"abcdef")
    c.close()


def test_server_sent_events_are_not_held_back(app: AppProcess) -> None:
    # The second event is produced 30 s after the first: the first must arrive long before.
    with socket.create_connection(("127.0.0.1", app.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /events?count=2&interval=30 HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(10)
        start = time.monotonic()
        data = b""
        while b"data: event 0\n\n" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert time.monotonic() - start < 10
        assert b"text/event-stream" in data
        assert b"event 1" not in data


def test_the_example_listens_on_loopback_only(app: AppProcess) -> None:
    assert any(f"wsgi starting up on http://127.0.0.1:{app.port}" in line
               for line in app.lines)


def _stream_until_first_event(port: int) -> tuple[socket.socket, bytes]:
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(b"GET /events?count=3&interval=0.3 HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"data: event 0\n\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    return s, data


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_gracefully_with_in_flight_request_completing(
        signum: signal.Signals) -> None:
    proc = AppProcess()
    stream: Optional[socket.socket] = None
    try:
        # An idle keep-alive connection, and a request in flight (its first event arrived).
        idle = proc.conn()
        idle.request("GET", "/")
        assert idle.getresponse().read() == b"Hello, World!"
        stream, data = _stream_until_first_event(proc.port)
        proc.proc.send_signal(signum)
        # The in-flight response completes: every event, then the chunked terminator.
        while not data.endswith(b"0\r\n\r\n"):
            chunk = stream.recv(65536)
            assert chunk, f"stream cut short: {data!r}"
            data += chunk
        assert b"data: event 2\n\n" in data
        assert proc.proc.wait(TIMEOUT) == 0
        assert proc.wait_for_line("wsgi exited", TIMEOUT)
        # The idle connection was closed, and nothing accepts any more.
        assert idle.sock is not None
        idle.sock.settimeout(TIMEOUT)
        assert idle.sock.recv(1) == b""
        idle.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT).close()
    finally:
        if stream is not None:
            stream.close()
        proc.kill()


@pytest.mark.slow
def test_second_sigint_cuts_a_graceful_stop_short() -> None:
    proc = AppProcess()
    stream: Optional[socket.socket] = None
    try:
        # A response that would take a minute to finish, so only a forced stop can end it soon.
        stream = socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT)
        stream.sendall(b"GET /events?count=3&interval=30 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"data: event 0\n\n" not in data:
            chunk = stream.recv(65536)
            assert chunk, data
            data += chunk
        proc.proc.send_signal(signal.SIGINT)
        # The first SIGINT has been handled once the listener is closed (no event to await in
        # another process: poll).
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT).close()
            except ConnectionRefusedError:
                break
            except ConnectionResetError:
                pass  # the listener closed while this probe was connecting: look again
            assert time.monotonic() < deadline, "the first SIGINT did not stop accepting"
            time.sleep(0.02)
        assert proc.proc.poll() is None, "the stream in flight must hold the graceful stop"
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGINT)
        assert proc.proc.wait(TIMEOUT) == 0
        assert time.monotonic() - started < 5
        rest = b""
        while True:
            chunk = stream.recv(65536)
            if not chunk:
                break
            rest += chunk
        assert not (data + rest).endswith(b"0\r\n\r\n"), "the stream should have been cut off"
        assert proc.wait_for_line("wsgi exited", TIMEOUT)
    finally:
        if stream is not None:
            stream.close()
        proc.kill()
