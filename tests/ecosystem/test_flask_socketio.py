"""Flask-SocketIO in eventlet mode on greenlane: ``socketio.run()``, python-socketio's client.

The app (``apps/socketio_app.py``) is written as Flask-SocketIO's users write it, with
``async_mode="eventlet"``; its first line installs the eventlet alias. It runs unpatched (the
usual deployment) and, for the smaller scenarios, also after ``eventlet.monkey_patch()`` (what
Flask-SocketIO's documentation asks for when a message queue is used). python-engineio then
runs on its eventlet driver: ``eventlet.green.threading.Event``, ``eventlet.queue``,
``eventlet.spawn``/``sleep``, ``eventlet.websocket.WebSocketWSGI`` and
``eventlet.input.get_socket()``; ``socketio.run()`` serves it with ``eventlet.listen`` and
``eventlet.wsgi.server``. The clients are python-socketio's (threads; websocket-client for the
websocket transport, requests for long-polling).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.ecosystem._procs import APPS, Proc, need, run_json, start_server

TRANSPORTS = ["websocket", "polling"]


def _serve(*args: str) -> Iterator[tuple[Proc, str]]:
    need("flask_socketio", "socketio", "websocket", "requests")
    proc, port = start_server("socketio_app.py", *args)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture(params=["unpatched", "patched"])
def app(request: pytest.FixtureRequest) -> Iterator[tuple[Proc, str]]:
    """The app, unpatched and after ``eventlet.monkey_patch()``."""
    yield from _serve(*(["patched"] if request.param == "patched" else []))


@pytest.fixture
def unpatched_app() -> Iterator[tuple[Proc, str]]:
    """The app as most deployments run it: nothing monkey patched."""
    yield from _serve()


def _client(url: str, transport: str) -> Any:
    import socketio

    client = socketio.Client(reconnection=False)
    client.connect(url, transports=[transport], wait_timeout=10)
    return client


def test_runs_on_greenlane_in_eventlet_mode(app: tuple[Proc, str],
                                            request: pytest.FixtureRequest) -> None:
    _, url = app
    with urllib.request.urlopen(url + "/info", timeout=10) as response:
        info = json.loads(response.read())
    patched = "[patched]" in request.node.name
    assert info == {"async_mode": "eventlet", "eventlet": "greenlane", "socket_patched": patched}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_echo(app: tuple[Proc, str], transport: str) -> None:
    _, url = app
    client = _client(url, transport)
    try:
        assert client.transport() == transport
        got: list[Any] = []
        arrived = threading.Event()

        def on_echo(data: Any) -> None:
            got.append(data)
            if len(got) == 3:
                arrived.set()

        client.on("echo", on_echo)
        # No bytes payload here: Socket.IO sends one as two messages (a placeholder packet and
        # the attachment), and python-engineio's client handles each message in a new thread,
        # so the client itself may take the attachment first and fail to decode it (seen on
        # PyPy). Binary messages are covered at the Engine.IO level (test_engineio.py).
        payloads = ["text é", {"nested": [1, 2.5, None, True]}, "long " * 20_000]
        for payload in payloads:
            client.emit("echo", payload)
        assert arrived.wait(10), got
        # Each event's handler runs in a green thread of its own (Flask-SocketIO's
        # async_handlers), so the echoes may come back in any order.
        assert sorted(map(repr, got)) == sorted(map(repr, payloads))
    finally:
        client.disconnect()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_handlers_run_concurrently(app: tuple[Proc, str], transport: str) -> None:
    _, url = app
    client = _client(url, transport)
    try:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as executor:
            naps = list(executor.map(lambda _: client.call("nap", 0.5, timeout=10), range(6)))
        elapsed = time.monotonic() - start
    finally:
        client.disconnect()
    assert naps == [0.5] * 6
    assert elapsed < 1.8, f"six 0.5 s handlers took {elapsed:.2f} s: they ran one at a time"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_200_clients_receive_every_broadcast(unpatched_app: tuple[Proc, str]) -> None:
    _, url = unpatched_app
    websocket_clients, polling_clients = 120, 80
    facts = run_json([sys.executable, str(APPS / "socketio_clients.py"), url,
                      str(websocket_clients), str(polling_clients), "8", "150"], timeout=220)
    total = websocket_clients + polling_clients
    assert facts["transports"] == {"polling": polling_clients, "websocket": websocket_clients}
    assert facts["sent"] == total
    assert facts["missing"] == {} and facts["complete"] == total, facts
    assert facts["duplicates"] == 0


def test_stop_ends_the_server(app: tuple[Proc, str]) -> None:
    proc, url = app
    client = _client(url, "websocket")
    try:
        client.emit("stop")
        status = proc.wait(15)
    finally:
        client.disconnect()
    assert status == 0, proc.output()
    assert "stopped" in proc.output()
