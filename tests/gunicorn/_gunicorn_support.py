"""Run a real Gunicorn master with greenlane's worker, as a user would, and talk HTTP to it.

``Gunicorn`` starts ``python -m gunicorn -k greenlane.gunicorn.Worker ...`` with the test
applications of ``APPS`` (written to a temporary directory), collects the master's stderr in a
reader thread and waits for its "Listening at" line: from then on the listening socket exists,
and a request waits in the kernel's backlog until a worker accepts it, so tests need no sleeps.
Without Gunicorn the tests are skipped (``CI=true``: failed).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any, Optional

from tests._services import free_port
from tests._support import unavailable

TIMEOUT = 30.0
WORKER = "greenlane.gunicorn.Worker"

APPS = {
    "gapp.py": r'''
"""Test application for the Gunicorn worker (one module, many paths)."""
import hashlib
import json
import os
import time

import greenlane
from greenlane import patcher, websocket

_state = {"in_flight": 0, "max": 0, "release": None}


def _query(environ):
    return dict(p.split("=", 1) for p in environ["QUERY_STRING"].split("&") if "=" in p)


@websocket.WebSocketWSGI
def _echo(ws):
    while True:
        message = ws.wait()
        if message is None:
            break
        ws.send(message)


def _raw_upgrade(environ, start_response):
    # An application that takes the connection over, as eventlet's websocket did.
    sock = environ["eventlet.input"].get_socket()
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                 b"Connection: Upgrade\r\n\r\n")
    while True:
        data = sock.recv(4096)
        if not data:
            break
        sock.sendall(data.upper())
    return []


def _text(start_response, text, status="200 OK", ctype="text/plain"):
    body = text.encode()
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    q = _query(environ)
    if path == "/ws":
        return _echo(environ, start_response)
    if path == "/upgrade":
        return _raw_upgrade(environ, start_response)
    if path == "/env":
        keys = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST", "SERVER_PORT",
                "HTTP_X_FORWARDED_FOR", "wsgi.multiprocess", "SERVER_SOFTWARE")
        info = {k: environ.get(k) for k in keys}
        info["pid"] = os.getpid()
        info["patched"] = patcher.is_monkey_patched("socket")
        info["patched_time"] = patcher.is_monkey_patched("time")
        return _text(start_response, json.dumps(info), ctype="application/json")
    if path == "/slow":
        time.sleep(float(q.get("s", "0.5")))
        return _text(start_response, f"slept pid={os.getpid()}")
    if path == "/conc":
        _state["in_flight"] += 1
        _state["max"] = max(_state["max"], _state["in_flight"])
        try:
            time.sleep(float(q.get("s", "0.3")))
        finally:
            _state["in_flight"] -= 1
        return _text(start_response, "ok")
    if path == "/boom":
        raise ValueError("kaboom from the application")
    if path == "/max":
        return _text(start_response, str(_state["max"]))
    if path == "/hog":
        end = time.monotonic() + float(q.get("s", "10"))
        while time.monotonic() < end:
            pass
        return _text(start_response, "hogged")
    if path == "/upload":
        digest = hashlib.sha256()
        size = 0
        stream = environ["wsgi.input"]
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            size += len(chunk)
            digest.update(chunk)
        info = {"size": size, "sha256": digest.hexdigest(),
                "content_length": environ.get("CONTENT_LENGTH"),
                "chunked": environ.get("HTTP_TRANSFER_ENCODING")}
        return _text(start_response, json.dumps(info), ctype="application/json")
    if path in ("/stream", "/events"):
        release = _state["release"] = greenlane.Event()
        start_response("200 OK", [("Content-Type", "text/event-stream"),
                                  ("Cache-Control", "no-cache")])

        def events():
            yield b"data: first\n\n"
            release.wait(20)
            yield b"data: second\n\n"

        return events()
    if path == "/release":
        release = _state["release"]
        if release is not None and not release.ready():
            release.send(None)
        return _text(start_response, "released")
    return _text(start_response, f"pid={os.getpid()}")
''',
    "hooks.py": r'''
"""A Gunicorn configuration file whose hooks write one line each to $HOOK_LOG."""
import os

_LOG = os.environ["HOOK_LOG"]


def _write(line):
    with open(_LOG, "a") as f:
        f.write(line + "\n")


def post_worker_init(worker):
    _write(f"post_worker_init {worker.pid}")


def pre_request(worker, req):
    req.tag = "tag" + req.path
    headers = dict(req.headers)
    _write(f"pre_request {req.method} {req.path} {req.query} {req.uri} {req.version} "
           f"{headers.get('X-TEST')}")


def post_request(worker, req, environ, resp):
    _write(f"post_request {req.tag} {resp.status_code} [{resp.status}] {resp.sent} "
           f"{environ['PATH_INFO']} {dict(resp.headers).get('Content-Type')}")


def worker_int(worker):
    _write(f"worker_int {worker.pid}")


def worker_abort(worker):
    _write(f"worker_abort {worker.pid}")


def worker_exit(server, worker):
    _write(f"worker_exit {worker.pid}")
''',
}


def gunicorn_version() -> tuple[int, ...]:
    """The installed Gunicorn's version; skips the test (fails it in CI) without Gunicorn."""
    try:
        import gunicorn
    except ImportError:
        unavailable("gunicorn is not installed (pip install gunicorn)")
    return tuple(int(p) for p in gunicorn.__version__.split(".")[:3] if p.isdigit())


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid`` (zombies excluded), from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(name))
    return sorted(found)


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Gunicorn:
    """``python -m gunicorn -k greenlane.gunicorn.Worker ARGS APP``, stderr collected."""

    def __init__(self, app_dir: str, *args: str, app: str = "gapp:app",
                 env: Optional[dict[str, str]] = None, port: Optional[int] = None,
                 worker: str = WORKER, python: str = sys.executable,
                 ready: str = "Listening at") -> None:
        version = gunicorn_version()
        self.port = port or free_port()
        self.bind = f"127.0.0.1:{self.port}"
        command = [python, "-m", "gunicorn", "--chdir", app_dir, "-k", worker,
                   "-b", self.bind, "--graceful-timeout", "10"]
        if version >= (25,):
            command.append("--no-control-socket")  # several masters may run at once
        command += [*args, app]
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GREENLANE_", "GUNICORN_"))}
        environ["PYTHONUNBUFFERED"] = "1"
        environ.update(env or {})
        self.proc = subprocess.Popen(command, env=environ, cwd=app_dir,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.out: list[str] = []
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stderr, self.lines),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stdout, self.out),
                                          daemon=True)]
        for reader in self._readers:
            reader.start()
        if ready and not self.wait_for_line(ready):
            self.kill()
            raise AssertionError(f"gunicorn did not start; stderr:\n{self.stderr}")

    def _read(self, stream: Any, lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            lines.append("<EOF>")
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_line(self, text: str, timeout: float = TIMEOUT, count: int = 1,
                      stdout: bool = False) -> bool:
        """Wait until ``count`` lines contain ``text`` (False after ``timeout`` or at EOF)."""
        lines = self.out if stdout else self.lines
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if sum(text in line for line in lines) >= count:
                    return True
                if lines[-1:] == ["<EOF>"]:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)

    def count(self, text: str) -> int:
        with self._changed:
            return sum(text in line for line in self.lines)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "\n".join(line for line in self.lines if line != "<EOF>")

    @property
    def stdout(self) -> str:
        with self._changed:
            return "\n".join(line for line in self.out if line != "<EOF>")

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def workers(self) -> list[int]:
        return child_pids(self.proc.pid)

    def wait_for_workers(self, n: int, timeout: float = TIMEOUT,
                         exclude: Optional[set[int]] = None) -> list[int]:
        """Wait until the master has exactly ``n`` workers (none of them in ``exclude``)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.workers()
            if len(pids) == n and not (exclude and exclude & set(pids)):
                return pids
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} workers, have {pids}; stderr:\n"
                                     f"{self.stderr[-3000:]}")
            time.sleep(0.05)  # another process's children: nothing to wait on

    def stop(self, signum: int = signal.SIGTERM, timeout: float = TIMEOUT) -> int:
        """Send ``signum`` to the master, then return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        workers = self.workers() if self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for reader in self._readers:
            reader.join(TIMEOUT)


# -- HTTP --------------------------------------------------------------------------------------

def request(port: int, method: str = "GET", path: str = "/", body: Any = None,
            headers: Optional[dict[str, str]] = None, host: str = "127.0.0.1",
            timeout: float = TIMEOUT) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers with lower-case names, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes, host: str = "127.0.0.1",
                 timeout: float = TIMEOUT) -> bytes:
    """Send ``data``, read until the server closes."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


# -- a minimal WebSocket client (RFC 6455), enough to check an upgrade and an echo ------------

def ws_connect(sock: socket.socket, host: str, path: str = "/ws") -> bytes:
    """Send the opening handshake on ``sock``; return the server's response head."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError(f"closed during the handshake: {head!r}")
        head += chunk
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    assert head.startswith(b"HTTP/1.1 101 ") and accept.encode() in head, head
    return head


def ws_send_text(sock: socket.socket, text: str) -> None:
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)


def ws_recv(sock: socket.socket) -> tuple[int, bytes]:
    """One unmasked frame from the server: (opcode, payload)."""
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise AssertionError("closed mid-frame")
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exactly(8))[0]
    return first & 0x0F, exactly(length)
