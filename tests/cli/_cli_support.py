"""Run ``python -m greenlane serve ...`` as a real process, as a user would.

``Serving`` starts it, collects stderr in a reader thread, and waits for the startup line;
``run_cli`` runs a command that is expected to end (``--version``, bad input). Test
applications live in ``APPS`` (written to a temporary directory and passed as ``--app-dir``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Optional

TIMEOUT = 30.0

APPS = {
    "cliapp.py": '''
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from cliapp"]


def create_app(greeting="hi", times=1):
    def inner(environ, start_response):
        start_response("200 OK", [])
        return [(greeting * times).encode()]
    return inner


def make():
    return app


def failing_factory():
    raise ValueError("database is not configured\\nsecond line")


not_callable = 42


class Holder:
    app = staticmethod(app)


holder = Holder()


def env(environ, start_response):
    start_response("200 OK", [])
    keys = ("REMOTE_ADDR", "wsgi.url_scheme", "SERVER_PORT", "HTTP_HOST")
    return [" ".join(f"{k}={environ.get(k)}" for k in keys).encode()]


def whoami(environ, start_response):
    try:
        os.setuid(0)
        regained = "regained-root"
    except OSError:
        regained = "cannot-regain-root"
    start_response("200 OK", [])
    return [f"{os.geteuid()} {os.getegid()} {regained}".encode()]


def patched(environ, start_response):
    from greenlane import patcher
    start_response("200 OK", [])
    return [str(patcher.is_monkey_patched("socket")).encode()]


def slow(environ, start_response):
    import greenlane
    start_response("200 OK", [])
    yield b"start "
    greenlane.sleep(float(environ.get("QUERY_STRING") or "0.5"))
    yield b"end"
''',
    "broken_mod.py": "import missing_dependency_xyz\napp = None\n",
    "syntax_mod.py": "def app(environ, start_response)\n    return []\n",
}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "greenlane", *args]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLANE_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(*args: str, env: Optional[dict[str, str]] = None,
            cwd: Optional[str] = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), env=env or clean_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def http_get(port: int, path: str = "/", headers: str = "", host: str = "127.0.0.1",
             timeout: float = TIMEOUT) -> bytes:
    """One request with ``Connection: close``; the raw response."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
                  .encode("latin-1"))
        return read_all(s)


def read_all(s: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def body(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


class Serving:
    """``python -m greenlane serve ARGS`` running; stderr lines collected."""

    def __init__(self, *args: str, env: Optional[dict[str, str]] = None,
                 cwd: Optional[str] = None, ready: str = "wsgi starting up on",
                 stdout: int = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(command("serve", *args), env=env or clean_env(),
                                     cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self.wait_for_line(ready, TIMEOUT):
            self.kill()
            raise AssertionError(f"no {ready!r} line; stderr: {self.lines}")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<EOF>")
            self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = TIMEOUT, count: int = 1) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if sum(text in line for line in self.lines) >= count:
                    return True
                if self.lines[-1:] == ["<EOF>"]:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "\n".join(line for line in self.lines if line != "<EOF>")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        """SIGTERM, then the exit status (killing it if it does not end)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(TIMEOUT)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(TIMEOUT)
