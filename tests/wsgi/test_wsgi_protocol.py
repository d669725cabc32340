"""HTTP/1.0 and 1.1 behaviour of the WSGI server, over raw sockets (RFC 9112)."""

from __future__ import annotations

import select
import socket
import threading
from typing import Any, Callable, Iterator

import pytest

from greenlane.wsgi import Server

from ._wsgi_support import TIMEOUT, Client, connect, hello_app

StartResponse = Callable[..., Any]


def path_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = (environ["PATH_INFO"] + "?" + environ["QUERY_STRING"]).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def generator_app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one,"
    yield b""
    yield b"two"


def test_simple_get_has_date_and_length(serve: Any) -> None:
    srv = serve(hello_app)
    c = Client(srv.port)
    r = c.request("/")
    assert (r.version, r.status, r.reason) == ("HTTP/1.1", 200, "OK")
    assert r.body == b"Hello, World!"
    assert r.header("Content-Length") == "13"
    assert r.header("Date", ).endswith(" GMT")
    assert r.header("Connection") is None
    c.close()


def test_keep_alive_serves_many_requests_on_one_connection(serve: Any) -> None:
    srv = serve(path_app)
    c = Client(srv.port)
    for i in range(5):
        assert c.request(f"/n{i}").body == f"/n{i}?".encode()
    c.close()


def test_pipelined_requests_are_answered_in_order(serve: Any) -> None:
    srv = serve(path_app)
    c = Client(srv.port)
    c.send(b"".join(f"GET /p{i}?q={i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(10)))
    bodies = [c.read_response().body for _ in range(10)]
    assert bodies == [f"/p{i}?q={i}".encode() for i in range(10)]
    c.close()


def test_pipelined_requests_with_bodies(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["wsgi.input"].read()]

    srv = serve(app)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
           b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
           b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert [c.read_response().body for _ in range(3)] == [b"abc", b"de", b""]
    c.close()


def test_client_connection_close_is_honoured(serve: Any) -> None:
    srv = serve(hello_app)
    c = Client(srv.port)
    r = c.request("/", headers="Connection: close\r\n")
    assert r.header("Connection") == "close"
    assert c.closed_by_peer()


def test_application_connection_close_is_honoured(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Connection", "close")])
        return [b"bye"]

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/")
    assert r.header("Connection") == "close"
    assert r.body == b"bye"
    assert c.closed_by_peer()


def test_http10_closes_unless_keep_alive(serve: Any) -> None:
    srv = serve(hello_app)
    c = Client(srv.port)
    r = c.request("/", version="1.0")
    assert r.header("Connection") == "close"
    assert c.closed_by_peer()
    c = Client(srv.port)
    r = c.request("/", version="1.0", headers="Connection: keep-alive\r\n")
    assert r.header("Connection") == "keep-alive"
    assert c.request("/", version="1.0", headers="Connection: keep-alive\r\n").status == 200
    c.close()


def test_unknown_length_is_chunked_for_http11(serve: Any) -> None:
    srv = serve(generator_app)
    c = Client(srv.port)
    r = c.request("/")
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.header("Content-Length") is None
    assert r.body == b"one,two"
    assert r.chunks == 2  # the empty piece made no chunk (it would end the body)
    assert c.request("/").body == b"one,two"  # and the connection is reusable
    c.close()


def test_unknown_length_is_close_delimited_for_http10(serve: Any) -> None:
    srv = serve(generator_app)
    c = Client(srv.port)
    r = c.request("/", version="1.0", headers="Connection: keep-alive\r\n")
    assert r.header("Transfer-Encoding") is None
    assert r.header("Connection") == "close"
    assert r.body == b"one,two"


@pytest.mark.parametrize("make_body, length, body", [
    (lambda: [b"a", b"bc", b"", b"def"], "6", b"abcdef"),
    (lambda: iter([]), "0", b""),  # an empty iterator ends at once: its length is known
], ids=["list", "empty-iterator"])
def test_known_length_body_gets_content_length(serve: Any, make_body: Callable[[], Any],
                                               length: str, body: bytes) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [])
        return make_body()

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/")
    assert r.header("Content-Length") == length
    assert r.body == body
    c.close()


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodyless_statuses(serve: Any, status: str) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response(status, [])
        return []

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/")
    assert r.status == int(status[:3])
    assert r.header("Content-Length") is None
    assert r.header("Transfer-Encoding") is None
    assert c.request("/").status == int(status[:3])
    c.close()


def test_head_and_body_go_out_in_one_write(serve: Any) -> None:
    writes: list[bytes] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        sock = environ["eventlet.input"]._conn._sock
        real = sock.sendall

        class Counting:
            def __getattr__(self, name: str) -> Any:
                return getattr(sock, name)

            def sendall(self, data: bytes) -> None:
                writes.append(bytes(data))
                real(data)

        conn = environ["eventlet.input"]._conn
        conn._sock = Counting()
        raw = conn._raw
        if raw is not None:
            # The fast path writes to the plain socket under the GreenSocket: count there too.
            class CountingRaw:
                def __getattr__(self, name: str) -> Any:
                    return getattr(raw, name)

                def send(self, data: bytes) -> int:
                    writes.append(bytes(data))
                    return int(raw.send(data))

            conn._raw = CountingRaw()
        start_response("200 OK", [])
        return [b"x" * 100]

    srv = serve(app)
    c = Client(srv.port)
    assert c.request("/").body == b"x" * 100
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"x" * 100)
    c.close()


def test_tcp_nodelay_is_set_on_accepted_sockets(serve: Any) -> None:
    seen: list[int] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        sock = environ["eventlet.input"]._conn._sock
        seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        start_response("200 OK", [])
        return [b""]

    srv = serve(app)
    Client(srv.port).request("/")
    assert seen and seen[0] != 0


def test_expect_100_continue_sent_only_when_body_is_read(serve: Any) -> None:
    def reader(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        data = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [data]

    srv = serve(reader)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    version, status, reason, _ = c.read_head()
    assert status == 100
    c.send(b"hello")
    r = c.read_response()
    assert r.body == b"hello"
    assert c.request("/", method="POST", body=b"again").body == b"again"
    c.close()


def test_expect_100_continue_not_sent_when_body_is_not_read(serve: Any) -> None:
    srv = serve(hello_app)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    version, status, reason, headers = c.read_head()
    assert status == 200  # no interim 100 first
    assert dict(headers)["Connection"] == "close"
    assert c.rfile.read(13) == b"Hello, World!"
    assert c.closed_by_peer()


def test_unread_body_is_drained_and_connection_reused(serve: Any) -> None:
    srv = serve(path_app)
    c = Client(srv.port)
    r = c.request("/first", method="POST", body=b"x" * 50_000)
    assert r.body == b"/first?" and r.header("Connection") is None
    assert c.request("/second").body == b"/second?"
    # chunked as well
    c.send(b"POST /third HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\n\r\n")
    assert c.read_response().body == b"/third?"
    assert c.request("/fourth").body == b"/fourth?"
    c.close()


def test_unread_body_over_the_drain_limit_closes(serve: Any) -> None:
    srv = serve(path_app, max_drain_bytes=1000)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000)
    r = c.read_response()
    assert r.status == 200
    assert c.closed_by_peer()


def test_chunked_request_body_is_decoded(serve: Any) -> None:
    reading = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        assert "CONTENT_LENGTH" not in environ
        assert environ["wsgi.input_terminated"] is True
        start_response("200 OK", [])
        reading.set()
        return [environ["wsgi.input"].read()]

    srv = serve(app)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;ext=1\r\nabc\r\n")
    # The second chunk is sent only once the app is reading: it arrives separately.
    assert reading.wait(TIMEOUT)
    c.send(b"A\r\n0123456789\r\n0\r\nX-Checksum: x\r\n\r\n")
    assert c.read_response().body == b"abc0123456789"
    c.close()


def test_streamed_response_is_not_held_back(serve: Any) -> None:
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        yield b"data: first\n\n"
        # Wait (cooperatively) until the client has seen the first event.
        import greenlane

        while not release.is_set():
            greenlane.sleep(0.005)
        yield b"data: second\n\n"

    srv = serve(app)
    c = Client(srv.port)
    c.get("/")
    c.read_head()
    assert c.rfile.readline() == b"d\r\n"
    assert c.rfile.readline() == b"data: first\n"
    release.set()
    c.close()


def test_malformed_request_gets_400_and_close(serve: Any) -> None:
    srv = serve(hello_app)
    c = Client(srv.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    r = c.read_response()
    assert r.status == 400
    assert r.header("Connection") == "close"
    assert b"Traceback" not in r.body
    assert c.closed_by_peer()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 70000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n", 400),  # smuggling attempt
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),  # a TLS hello
    ],
)
def test_limits_and_protocol_errors(serve: Any, request_bytes: bytes, status: int) -> None:
    srv = serve(hello_app)
    c = Client(srv.port)
    c.send(request_bytes)
    r = c.read_response()
    assert r.status == status
    assert r.header("Connection") == "close"
    assert c.closed_by_peer()
    # The server still serves other connections.
    assert Client(srv.port).request("/").status == 200


def test_configured_limits(serve: Any) -> None:
    srv = serve(hello_app, max_request_line=100, max_header_count=3, max_header_bytes=200)
    c = Client(srv.port)
    assert c.request("/" + "a" * 120).status == 414
    c = Client(srv.port)
    assert c.request("/", headers="A: 1\r\nB: 2\r\nC: 3\r\n").status == 431
    c = Client(srv.port)
    assert c.request("/", headers=f"A: {'x' * 300}\r\n").status == 431
    assert Client(srv.port).request("/").status == 200


def test_error_response_survives_unread_client_data(serve: Any) -> None:
    # Lingering close: the client is still sending when the server answers 400 and closes;
    # without it the kernel would reset the connection and the client would never see the 400.
    srv = serve(hello_app)
    c = connect(srv.port)
    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    # Keep sending once the 400 has arrived, while the server is closing.
    assert select.select([c], [], [], TIMEOUT)[0]
    # Lingering, the server discards these bytes: no reset, for this send or the reads below.
    c.sendall(b"x" * 100_000)
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # Half-closed and still reading after the end of the response: more bytes, still no reset.
    c.sendall(b"x" * 1000)
    assert select.select([c], [], [], TIMEOUT)[0]
    assert c.recv(1) == b""
    c.close()


def test_requests_with_absolute_and_asterisk_targets(serve: Any) -> None:
    srv = serve(path_app)
    c = Client(srv.port)
    assert c.request("http://example.com/abs/p?x=1").body == b"/abs/p?x=1"
    assert c.request("http://example.com").body == b"/?"
    assert c.request("*", method="OPTIONS").body == b"*?"
    c.close()


@pytest.mark.parametrize("size, status", [(30, 200), (31, 431)])
def test_max_header_field_size_bounds_each_field_line(serve: Any, size: int,
                                                       status: int) -> None:
    srv = serve(hello_app, max_header_field_size=30)
    field = "X-Long: " + "v" * (size - len("X-Long: "))
    client = Client(srv.port)
    client.send(f"GET / HTTP/1.1\r\nHost: x\r\n{field}\r\n\r\n".encode())
    assert client.read_response().status == status
    client.close()


def test_max_header_field_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_header_field_size"):
        Server(hello_app, [], max_header_field_size=0)
