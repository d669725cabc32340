"""Fixtures for the WebSocket server tests: greenlane.wsgi.Server in a thread (see
tests/wsgi/_wsgi_support.py), talked to by the ``websockets`` library and by raw sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest

from tests.wsgi._wsgi_support import ServerThread


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerThread]]:
    """``serve(app, **Server options)`` starts a server thread; it is stopped after the test
    and must leave no listener or timer on its hub."""
    servers: list[ServerThread] = []

    def start(app: Callable[..., Any], **options: Any) -> ServerThread:
        server = ServerThread(app, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
