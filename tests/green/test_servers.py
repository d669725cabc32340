"""greenlane.green.SocketServer, BaseHTTPServer and SimpleHTTPServer: stdlib servers, green.

Server and client run as green threads of one hub in one OS thread: if a server blocked the
thread instead of waiting on the hub, the client could never run and the test would hit its
``Timeout``. Everything is on loopback.
"""

from __future__ import annotations

import functools
import http.server
import os
import socket as stdsocket
import socketserver
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenlane.event import Event
from greenlane.green import BaseHTTPServer, SimpleHTTPServer, SocketServer
from greenlane.green import socket as green_socket
from greenlane.green.http import client as http_client
from greenlane.greenthread import GreenThread, sleep, spawn
from greenlane.timeout import Timeout

LIMIT = 10  # seconds any one test may take: far more than it needs


class Hello(BaseHTTPServer.BaseHTTPRequestHandler):
    """Answers every GET with its path; records the green threads it ran in."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _get(port: int, path: str = "/") -> tuple[int, bytes]:
    conn = http_client.HTTPConnection("127.0.0.1", port, timeout=LIMIT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def limit() -> Iterator[None]:
    with Timeout(LIMIT):
        yield


def _port(server: Any) -> int:
    return int(server.server_address[1])


def test_the_servers_are_the_stdlib_classes_subclassed() -> None:
    assert issubclass(SocketServer.TCPServer, socketserver.TCPServer)
    assert issubclass(SocketServer.UDPServer, socketserver.UDPServer)
    assert issubclass(SocketServer.ThreadingTCPServer, socketserver.ThreadingMixIn)
    assert issubclass(BaseHTTPServer.HTTPServer, http.server.HTTPServer)
    assert issubclass(BaseHTTPServer.ThreadingHTTPServer, http.server.HTTPServer)
    assert issubclass(BaseHTTPServer.HTTPServer, SocketServer.TCPServer)
    # The handlers and everything else are the stdlib's own objects.
    assert SocketServer.StreamRequestHandler is socketserver.StreamRequestHandler
    assert BaseHTTPServer.BaseHTTPRequestHandler is http.server.BaseHTTPRequestHandler
    assert BaseHTTPServer.DEFAULT_ERROR_MESSAGE is http.server.DEFAULT_ERROR_MESSAGE
    assert SimpleHTTPServer.SimpleHTTPRequestHandler is http.server.SimpleHTTPRequestHandler
    assert SimpleHTTPServer.HTTPServer is BaseHTTPServer.HTTPServer
    for module, stdlib in ((SocketServer, socketserver), (BaseHTTPServer, http.server),
                           (SimpleHTTPServer, http.server)):
        assert set(module.__all__) == set(stdlib.__all__)
        assert all(hasattr(module, name) for name in module.__all__)


def test_handle_request_waits_on_the_hub(limit: None) -> None:
    server = BaseHTTPServer.HTTPServer(("127.0.0.1", 0), Hello)
    try:
        assert isinstance(server.socket, green_socket.socket)
        serving = spawn(server.handle_request)
        assert _get(_port(server), "/one") == (200, b"hello /one")
        serving.wait()
    finally:
        server.server_close()


def test_handle_request_times_out_into_handle_timeout(limit: None) -> None:
    timeouts: list[bool] = []

    class Impatient(BaseHTTPServer.HTTPServer):
        timeout = 0.05

        def handle_timeout(self) -> None:
            timeouts.append(True)

    server = Impatient(("127.0.0.1", 0), Hello)
    try:
        other = spawn(sleep, 0.01)  # runs while the server waits
        server.handle_request()
        assert timeouts == [True]
        assert other.dead
    finally:
        server.server_close()


def test_serve_forever_until_shutdown_from_another_green_thread(limit: None) -> None:
    server = BaseHTTPServer.HTTPServer(("127.0.0.1", 0), Hello)
    try:
        serving = spawn(server.serve_forever, 0.05)
        for n in range(3):
            assert _get(_port(server), f"/{n}") == (200, f"hello /{n}".encode())
        server.shutdown()
        assert serving.dead
        serving.wait()
    finally:
        server.server_close()


def test_shutdown_while_not_serving_returns_and_stops_the_next_loop(limit: None) -> None:
    server = SocketServer.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    try:
        server.shutdown()  # the stdlib's would wait for ever here
        server.serve_forever(poll_interval=LIMIT)  # returns at once: shutdown was asked
        serving = spawn(server.serve_forever, 0.05)
        sleep(0.01)
        assert not serving.dead  # the request was used up: this loop serves
        server.shutdown()
        assert serving.dead
    finally:
        server.server_close()


def test_closing_the_server_ends_serve_forever(limit: None) -> None:
    server = BaseHTTPServer.HTTPServer(("127.0.0.1", 0), Hello)
    serving = spawn(server.serve_forever, LIMIT)
    sleep(0.01)
    server.server_close()
    serving.wait()


def test_threading_server_handles_requests_in_green_threads(limit: None) -> None:
    arrived: list[str] = []
    everyone = Event()

    class Gathering(Hello):
        def do_GET(self) -> None:
            # Each request waits until all have arrived: only concurrent handlers get there.
            arrived.append(self.path)
            if len(arrived) == 3:
                everyone.send()
            everyone.wait()
            super().do_GET()

    server = BaseHTTPServer.ThreadingHTTPServer(("127.0.0.1", 0), Gathering)
    serving = spawn(server.serve_forever, 0.05)
    try:
        clients = [spawn(_get, _port(server), f"/{n}") for n in range(3)]
        assert sorted(c.wait() for c in clients) == [(200, f"hello /{n}".encode())
                                                     for n in range(3)]
    finally:
        server.shutdown()
        server.server_close()
    serving.wait()


def test_threading_server_close_waits_for_requests_in_progress(limit: None) -> None:
    release = Event()
    started = Event()

    class Slow(Hello):
        def do_GET(self) -> None:
            started.send()
            release.wait()
            super().do_GET()

    server = SocketServer.ThreadingTCPServer(("127.0.0.1", 0), Slow)
    serving = spawn(server.serve_forever, 0.05)
    client = spawn(_get, _port(server), "/slow")
    started.wait()
    server.shutdown()
    serving.wait()
    closing: GreenThread[None] = spawn(server.server_close)
    sleep(0.01)
    assert not closing.dead  # block_on_close: waits for the request in progress
    release.send()
    closing.wait()
    assert client.wait() == (200, b"hello /slow")


def test_udp_server_echoes(limit: None) -> None:
    class Echo(socketserver.DatagramRequestHandler):
        def handle(self) -> None:
            self.wfile.write(self.rfile.read().upper())

    server = SocketServer.UDPServer(("127.0.0.1", 0), Echo)
    serving = spawn(server.serve_forever, 0.05)
    client = green_socket.socket(stdsocket.AF_INET, stdsocket.SOCK_DGRAM)
    try:
        client.settimeout(LIMIT)
        client.sendto(b"ping", server.server_address)
        assert client.recvfrom(100)[0] == b"PING"
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    serving.wait()


@pytest.mark.skipif(not hasattr(stdsocket, "AF_UNIX"), reason="needs AF_UNIX")
def test_threading_unix_stream_server(limit: None, tmp_path: Path) -> None:
    class Upper(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(self.rfile.readline().upper())

    path = str(tmp_path / "sock")
    server = SocketServer.ThreadingUnixStreamServer(path, Upper)
    serving = spawn(server.serve_forever, 0.05)
    client = green_socket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
    try:
        client.connect(path)
        client.sendall(b"unix\n")
        assert client.makefile("rb").readline() == b"UNIX\n"
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    serving.wait()


def test_simple_http_server_serves_files(limit: None, tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_bytes(b"from disk")
    handler = functools.partial(_QuietFiles, directory=os.fspath(tmp_path))
    server = SimpleHTTPServer.HTTPServer(("127.0.0.1", 0), handler)
    serving = spawn(server.serve_forever, 0.05)
    try:
        assert _get(_port(server), "/page.txt") == (200, b"from disk")
        assert _get(_port(server), "/missing")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
    serving.wait()


class _QuietFiles(SimpleHTTPServer.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
