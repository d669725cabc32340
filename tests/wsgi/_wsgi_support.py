"""Test support for the WSGI server: a server in its own OS thread, and a raw HTTP client.

The server runs ``greenlane.wsgi.Server`` in a background thread with its own hub, so that
tests can talk to it with plain blocking stdlib sockets (every read has a timeout, so a bug
fails a test instead of hanging it). When the test ends the server is stopped with
``Server.stop()`` (safe from another thread), and the thread then checks that its hub holds
no fd listener and no live timer: the WSGI analogue of the hygiene check in tests/conftest.py.

The client reads responses itself (status line, fields, body framed by Content-Length,
chunked coding or close) from one buffered reader, so pipelined responses can be read in order.
"""

from __future__ import annotations

import io
import socket
import threading
import traceback
from typing import Any, Callable, Optional

from greenlet import GreenletExit

import greenlane
from greenlane.hubs import _context, get_hub
from greenlane.wsgi import Server

TIMEOUT = 10.0


class ServerThread:
    """Run ``Server(app, [listen(...)], **options)`` in a background thread."""

    def __init__(self, app: Callable[..., Any], tls: Optional[dict[str, Any]] = None,
                 backlog: int = 50, listen: Optional[Callable[[], list[Any]]] = None,
                 **options: Any) -> None:
        options.setdefault("log_output", False)
        # CI runs as root: the tests about the warning ask for it.
        options.setdefault("warn_if_root", False)
        self.app = app
        self.options = options
        self.tls = tls
        self.backlog = backlog
        # Makes the listening sockets (in the server's thread); default: one on 127.0.0.1.
        self.listen = listen
        self.server: Optional[Server] = None
        self.port = 0
        self.ports: list[int] = []
        self.leftovers: list[str] = []
        self.error: Optional[BaseException] = None
        self.shutdown_result: Optional[bool] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(TIMEOUT):
            raise RuntimeError("server thread did not start")
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            if self.listen is not None:
                socks = self.listen()
            else:
                socks = [greenlane.listen(("127.0.0.1", 0), backlog=self.backlog)]
            if self.tls is not None:
                socks = [greenlane.wrap_ssl(sock, server_side=True, **self.tls)
                         for sock in socks]
            self.ports = [sock.getsockname()[1] for sock in socks
                          if isinstance(sock.getsockname(), tuple)]
            self.port = self.ports[0] if self.ports else 0
            self.server = Server(self.app, socks, **self.options)
            self.server.start()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self.server.serve_forever()
            self.shutdown_result = self.server.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
        finally:
            self._check_hub()

    def _check_hub(self) -> None:
        hub = get_hub()
        # Let work already queued finish (green threads ending after the shutdown).
        for _ in range(20):
            if not hub._ready:
                break
            greenlane.sleep(0)
        self.leftovers = [f"listener {listener!r}" for listener in
                          hub.get_readers() + hub.get_writers()]
        self.leftovers += [f"timer {entry[2]!r}" for entry in hub.timers
                           if not entry[2].called]
        loop = hub.greenlet
        if loop and not loop.dead:
            try:
                loop.throw(GreenletExit)
            except BaseException:  # noqa: BLE001 - the hub is being thrown away
                pass
        hub.close()
        _context.current.hub = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, fn: Callable[[Server], Any]) -> None:
        """Not thread-safe in general; only for reading attributes in assertions."""
        assert self.server is not None
        fn(self.server)

    def stop(self, timeout: Optional[float] = 5.0, join: float = TIMEOUT) -> None:
        """Ask for a graceful stop and wait for the thread to end; check hub hygiene."""
        if self.server is not None and self._thread.is_alive():
            self.server.stop(timeout)
        self._thread.join(join)
        if self._thread.is_alive():
            raise AssertionError("the server thread did not stop")
        if self.error is not None:
            raise self.error
        assert not self.leftovers, f"the server left work on its hub: {self.leftovers}"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


class RecordingLog:
    """A logger-like ``log=`` object: records (level, message); sets ``errors`` on an error."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.errors = threading.Event()

    def info(self, msg: str) -> None:
        self.lines.append(("info", msg))

    def debug(self, msg: str) -> None:
        self.lines.append(("debug", msg))

    def warning(self, msg: str) -> None:
        self.lines.append(("warning", msg))

    def error(self, msg: str, exc_info: bool = False) -> None:
        if exc_info:
            msg += "\n" + traceback.format_exc()
        self.lines.append(("error", msg))
        self.errors.set()

    def text(self, level: str) -> str:
        """The messages logged at ``level``, one a line."""
        return "\n".join(m for lv, m in self.lines if lv == level)


def connect(port: int, timeout: float = TIMEOUT) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


class Response:
    """A parsed response."""

    def __init__(self, version: str, status: int, reason: str,
                 headers: list[tuple[str, str]], body: bytes, chunks: int) -> None:
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.chunks = chunks

    def header(self, name: str) -> Optional[str]:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


class Client:
    """One raw connection with a buffered reader for responses."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.sock = connect(port, timeout)
        self.rfile: io.BufferedReader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def get(self, path: str = "/", headers: str = "", version: str = "1.1") -> None:
        self.send(f"GET {path} HTTP/{version}\r\nHost: x\r\n{headers}\r\n".encode("latin-1"))

    def read_head(self) -> tuple[str, int, str, list[tuple[str, str]]]:
        line = self.rfile.readline()
        if not line:
            raise ConnectionError("connection closed before a response")
        version, status, reason = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers = []
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        return version, int(status), reason, headers

    def read_response(self, method: str = "GET") -> Response:
        version, status, reason, headers = self.read_head()
        while 100 <= status < 200 and status != 101:
            version, status, reason, headers = self.read_head()
        resp = Response(version, status, reason, headers, b"", 0)
        if method == "HEAD" or status in (204, 304):
            return resp
        length = resp.header("content-length")
        if resp.header("transfer-encoding") == "chunked":
            parts = []
            while True:
                size_line = self.rfile.readline()
                if not size_line:
                    raise ConnectionError("connection closed inside a chunked body")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                assert self.rfile.read(2) == b"\r\n"
                resp.chunks += 1
            resp.body = b"".join(parts)
        elif length is not None:
            resp.body = self.rfile.read(int(length))
            if len(resp.body) != int(length):
                raise ConnectionError("connection closed inside a body")
        else:
            resp.body = self.rfile.read()
        return resp

    def request(self, path: str = "/", method: str = "GET", headers: str = "",
                body: bytes = b"", version: str = "1.1") -> Response:
        head = f"{method} {path} HTTP/{version}\r\nHost: x\r\n{headers}"
        if body and "content-length" not in headers.lower() and "chunked" not in headers.lower():
            head += f"Content-Length: {len(body)}\r\n"
        self.send(head.encode("latin-1") + b"\r\n" + body)
        return self.read_response(method)

    def closed_by_peer(self) -> bool:
        """True if the server closed the connection (EOF), False if it is still open."""
        try:
            return self.rfile.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


def hello_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!"]


def echo_environ_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Returns repr of the str environ entries."""
    body = repr({k: v for k, v in environ.items() if isinstance(v, (str, bool, tuple))})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode("utf-8")]
