"""Processes for the end-to-end tests: start, wait until they listen, stop, show their output."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import pytest

from tests._services import free_port
from tests._support import unavailable

APPS = Path(__file__).resolve().parent / "apps"

# What to pip install for each module the scenarios import (for the skip/fail message).
_DISTRIBUTIONS = {"flask_socketio": "flask-socketio", "socketio": "python-socketio",
                  "engineio": "python-engineio", "celery": "celery[redis]",
                  "websocket": "websocket-client", "requests": "requests", "redis": "redis"}


def need(*modules: str) -> list[ModuleType]:
    """Import ``modules`` for a test, or skip it (fail it when CI=true) naming what to install."""
    found = []
    for name in modules:
        try:
            found.append(importlib.import_module(name))
        except ImportError as exc:
            unavailable(f"{name} is not installed (pip install "
                        f"{_DISTRIBUTIONS.get(name, name)}): {exc}")
    return found


def environment(**extra: str) -> dict[str, str]:
    """This process's environment for a child, without a stray alias switch, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "GREENLANE_EVENTLET_ALIAS"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Proc:
    """A child process whose output goes to a file (so a chatty child never blocks on a pipe)."""

    def __init__(self, argv: list[str], env: Optional[dict[str, str]] = None,
                 cwd: Optional[Path] = None) -> None:
        self.argv = argv
        self.log = tempfile.NamedTemporaryFile(prefix="greenlane-e2e-", suffix=".log",
                                               delete=False)
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT,
                                        env=env if env is not None else environment(),
                                        cwd=str(cwd) if cwd else None,
                                        start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """Everything the process printed so far."""
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_output(self, text: str, timeout: float) -> None:
        """Wait until ``text`` appears in the output; fail (with the output) otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if not self.alive():
                break
            time.sleep(0.05)  # polling a child's log file: there is no event to wait on
        pytest.fail(f"{text!r} did not appear within {timeout} s "
                    f"(exit status {self.process.poll()}):\n{self.output()[-6000:]}")

    def wait_for_port(self, port: int, timeout: float) -> None:
        """Wait until something accepts connections on 127.0.0.1:``port``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)  # polling a child's listening socket: no event to wait on
        pytest.fail(f"{' '.join(self.argv)} did not listen on port {port} within {timeout} s "
                    f"(exit status {self.process.poll()}):\n{self.output()[-6000:]}")

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; fail (with its output) if it does not in time."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(self.argv)} did not exit within {timeout} s:\n"
                        f"{self.output()[-6000:]}")

    def stop(self) -> None:
        """End the process (and any children it started) and remove its log."""
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self.log.close()
        try:
            os.unlink(self.log.name)
        except FileNotFoundError:
            pass


def start_server(script: str, *args: str, timeout: float = 30.0,
                 env: Optional[dict[str, str]] = None) -> tuple[Proc, int]:
    """Run ``apps/<script> PORT *args`` on a free port until it listens; returns it and the port.

    A port taken between choosing it and binding it (another process could) is retried.
    """
    for _ in range(3):
        port = free_port()
        proc = Proc([sys.executable, str(APPS / script), str(port), *args], env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.alive():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                time.sleep(0.05)  # polling a child's listening socket: no event to wait on
        if "Address already in use" not in proc.output():
            output = proc.output()
            proc.stop()
            pytest.fail(f"{script} did not listen on port {port} within {timeout} s:\n"
                        f"{output[-6000:]}")
        proc.stop()
    pytest.fail(f"{script}: no free port after 3 tries")


def run_json(argv: list[str], timeout: float, env: Optional[dict[str, str]] = None,
             cwd: Optional[Path] = None) -> Any:
    """Run a client script to completion; returns the JSON on its last output line."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else environment(),
                          cwd=str(cwd) if cwd else None, stdin=subprocess.DEVNULL)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n"
                    f"{done.stderr[-6000:]}")
    return json.loads(lines[-1])
