"""python-engineio's eventlet driver on greenlane: ``engineio.Server(async_mode="eventlet")``.

The server (``apps/engineio_app.py``) is ``engineio.WSGIApp`` under ``eventlet.wsgi.server``,
with ``eventlet`` aliased to greenlane; the client is python-engineio's own (threads), over
websocket and long-polling: echoes of text and binary messages up to 512 KiB, messages pushed
by a server background task (``eio.sleep`` between them), and the server's connect and
disconnect handlers.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ecosystem._procs import Proc, need, start_server


@pytest.fixture
def server() -> Iterator[tuple[Proc, str]]:
    need("engineio", "websocket", "requests")
    proc, port = start_server("engineio_app.py")
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def _stats(url: str) -> Any:
    with urllib.request.urlopen(url + "/stats", timeout=10) as response:
        return json.loads(response.read())


class Inbox:
    """What an engineio client received, with a wait for the n-th message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.changed = threading.Condition()

    def add(self, data: Any) -> None:
        with self.changed:
            self.messages.append(data)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[Any]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_echo_push_and_lifecycle(server: tuple[Proc, str], transport: str) -> None:
    import engineio

    _, url = server
    assert _stats(url) == {"events": {"connect": 0, "disconnect": 0},
                           "async_mode": "eventlet", "eventlet": "greenlane"}
    inbox = Inbox()
    client = engineio.Client()
    client.on("message", inbox.add)
    client.connect(url, transports=[transport])
    try:
        assert client.transport() == transport
        payloads: list[Any] = ["hello", "é" * 1000, b"\x00\x01\xfe\xff" * 256,
                               bytes(range(256)) * 2048]  # 512 KiB
        for payload in payloads:
            client.send(payload)
        # python-engineio's client hands each received message to a thread of its own, so
        # the inbox may list them in any order (seen on PyPy): compare as collections.
        assert sorted(map(repr, inbox.wait_for(len(payloads), 20))) == \
            sorted(map(repr, payloads))
        start = time.monotonic()
        client.send("ticks 5")
        got = inbox.wait_for(len(payloads) + 5, 10)[len(payloads):]
        assert sorted(got) == [f"tick {i}" for i in range(5)]
        assert time.monotonic() - start >= 0.09  # five eio.sleep(0.02) really slept
    finally:
        client.disconnect()
    deadline = time.monotonic() + 10
    while _stats(url)["events"]["disconnect"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the disconnect asynchronously
    assert _stats(url)["events"] == {"connect": 1, "disconnect": 1}
