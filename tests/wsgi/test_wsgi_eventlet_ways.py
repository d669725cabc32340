"""eventlet habits the server honours: killing ``server()``'s green thread, a listener closed
under it, ``str`` body pieces, ``keepalive=0``, ``100 Continue`` on the first read and again
on request, replaced posthooks, the X-Forwarded-For log format; and ``add_listener`` checks."""

from __future__ import annotations

import io
import socket
from typing import Any, Callable

import pytest

import greenlane
from greenlane import wsgi
from greenlane.greenio import GreenSocket
from greenlane.hubs import get_hub
from greenlane.testing import settle
from greenlane.timeout import Timeout
from greenlane.wsgi import Server

from ._wsgi_support import Client, hello_app

StartResponse = Callable[..., Any]
TIMEOUT = 10.0


def green_request(port: int, raw: bytes) -> tuple[GreenSocket, bytes]:
    """Send ``raw``; return the socket and everything up to the end of the first head."""
    sock = greenlane.connect(("127.0.0.1", port))
    sock.settimeout(TIMEOUT)
    sock.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return sock, data


def test_killing_the_server_green_thread_closes_listener_and_connections() -> None:
    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    gt = greenlane.spawn(wsgi.server, listener, hello_app, log_output=False,
                         warn_if_root=False)
    idle, head = green_request(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    settle()  # the connection is idle, parked reading
    assert get_hub().get_readers()
    gt.kill()
    greenlane.sleep(0)
    # Nothing of the server waits on a descriptor any more (eventlet's tearDown checks this).
    assert [r for r in get_hub().get_readers() if r.fileno != idle.fileno()] == []
    # The idle connection was closed: EOF after whatever of the response was not read yet.
    while idle.recv(65536):
        pass
    with pytest.raises(OSError):
        greenlane.connect(("127.0.0.1", port))
    idle.close()
    settle()


def test_a_server_whose_only_listener_fails_stops_gracefully() -> None:
    listener = greenlane.listen(("127.0.0.1", 0))
    srv = Server(hello_app, [listener], log_output=False, warn_if_root=False)
    srv.start()
    settle()
    listener.fd.shutdown(socket.SHUT_RDWR)  # accept() now fails with EINVAL
    with Timeout(TIMEOUT):
        assert srv.wait() is True


def test_keepalive_zero_answers_one_request_per_connection() -> None:
    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    gt = greenlane.spawn(wsgi.server, listener, hello_app, log_output=False, keepalive=0,
                         warn_if_root=False)
    sock, head = green_request(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"Connection: close" in head
    sock.close()
    gt.kill()
    settle()


def test_x_forwarded_for_is_logged_without_spaces(serve: Any) -> None:
    log = io.StringIO()
    srv = serve(hello_app, log=log, log_output=True)
    Client(srv.port).request("/", headers="X-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n")
    srv.stop()
    assert "1.2.3.4,5.6.7.8,127.0.0.1 - - [" in log.getvalue()


def test_replaced_posthooks_run(serve: Any) -> None:
    ran: list[str] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        environ["eventlet.posthooks"] = [(lambda env, tag: ran.append(tag), ("new",), {})]
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    srv = serve(app)
    assert Client(srv.port).request("/").status == 200
    srv.stop()
    assert ran == ["new"]


def continue_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = environ["wsgi.input"]
    body.set_hundred_continue_response_headers([("x-first", "1")])
    text = body.read(3)
    body.set_hundred_continue_response_headers([("x-again", "2")])
    body.send_hundred_continue_response()
    text += body.read()
    start_response("200 OK", [("Content-Length", str(len(text)))])
    return [text]


def test_100_continue_on_first_read_even_with_the_body_there_and_again_on_request(
        serve: Any) -> None:
    srv = serve(continue_app)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    # The client sends its body without waiting for 100 Continue.
    sock.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
                 b"Expect: 100-continue\r\n\r\nabcdef")
    reader = sock.makefile("rb")
    heads = []
    for _ in range(3):
        lines = []
        while True:
            line = reader.readline()
            if line == b"\r\n":
                break
            lines.append(line.strip())
        heads.append(lines)
    assert heads[0][0] == b"HTTP/1.1 100 Continue" and b"X-First: 1" in heads[0]
    assert heads[1][0] == b"HTTP/1.1 100 Continue" and b"X-Again: 2" in heads[1]
    assert heads[2][0] == b"HTTP/1.1 200 OK"
    assert reader.read(6) == b"abcdef"
    sock.close()


def test_add_listener_refuses_what_is_not_a_listening_socket() -> None:
    srv = Server(hello_app, warn_if_root=False)
    with pytest.raises(TypeError, match="listening socket.*int"):
        srv.add_listener(8000)
    unbound = GreenSocket()
    try:
        with pytest.raises(ValueError, match="not listening.*Invalid argument"):
            srv.add_listener(unbound)
    finally:
        unbound.close()
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen()
    srv.add_listener(plain)  # a stdlib socket is wrapped
    assert isinstance(srv.listeners[0], GreenSocket)
    srv.close()
