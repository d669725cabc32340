"""Connection management over raw sockets: keep-alive, pipelining, framing of responses,
bodiless responses, unread bodies, and the three timeouts (header, idle, body)."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator

import pytest

import greenlane

from ._wsgi_support import Client, connect

StartResponse = Callable[..., Any]


def gen_app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    """A body of unknown length; ``/status/<code>`` picks the status."""
    path = environ["PATH_INFO"]
    status = "200 OK"
    if path.startswith("/status/"):
        status = path[len("/status/"):] + " Whatever"
    start_response(status, [("Content-Type", "text/plain")])
    if status[:3] not in ("204", "304"):
        yield b"gen:"
        yield path.encode("latin-1")


def test_pipelined_responses_stay_in_order_when_the_first_is_slow(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            greenlane.sleep(0.1)
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    srv = serve(app)
    c = Client(srv.port)
    c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
           b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
           b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert [c.read_response().body for _ in range(4)] == [b"/slow", b"/fast", b"/post", b"/last"]
    assert c.closed_by_peer()
    c.close()


def test_content_length_from_the_application_is_used_for_an_iterable(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "6")])
        yield b"abc"
        yield b"def"

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/")
    assert r.body == b"abcdef" and r.header("Content-Length") == "6"
    assert r.header("Transfer-Encoding") is None
    assert c.request("/").body == b"abcdef"
    c.close()


def test_head_of_a_streamed_response_has_no_body_and_keeps_the_connection(serve: Any) -> None:
    srv = serve(gen_app)
    c = Client(srv.port)
    c.send(b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n")
    r = c.read_response("HEAD")
    assert r.status == 200
    assert r.header("Transfer-Encoding") is None
    # Nothing of the HEAD body leaked in front of the next response.
    r = c.read_response()
    assert r.body == b"gen:/g"
    c.close()


def test_head_of_a_list_response_reports_the_get_length(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [b"twelve bytes"]

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/", method="HEAD")
    assert r.header("Content-Length") == "12"
    # The next response must start right away: no body bytes were sent for HEAD.
    assert c.request("/").body == b"twelve bytes"
    c.close()


@pytest.mark.parametrize("code", ["204", "304"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_bodyless_status_of_a_streamed_response(serve: Any, code: str, method: str) -> None:
    srv = serve(gen_app)
    c = Client(srv.port)
    c.send(f"{method} /status/{code} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
           + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    r = c.read_response(method)
    assert r.status == int(code)
    assert r.header("Transfer-Encoding") is None
    assert r.header("Content-Length") is None
    assert c.read_response().body == b"gen:/next"
    c.close()


def test_both_directions_of_connection_close(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        headers = [("Connection", "close")] if environ["PATH_INFO"] == "/bye" else []
        start_response("200 OK", headers)
        yield b"streamed"

    srv = serve(app)
    # Client says close: chunked response still well-formed, then EOF.
    c = Client(srv.port)
    r = c.request("/", headers="Connection: close\r\n")
    assert r.body == b"streamed" and r.header("Connection") == "close"
    assert c.closed_by_peer()
    # Application says close.
    c = Client(srv.port)
    r = c.request("/bye")
    assert r.body == b"streamed" and r.header("Connection") == "close"
    assert c.closed_by_peer()
    # HTTP/1.0 without keep-alive: close-delimited body.
    c = Client(srv.port)
    r = c.request("/", version="1.0")
    assert r.body == b"streamed" and r.header("Transfer-Encoding") is None


def test_http10_keep_alive_with_known_length(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["SERVER_PROTOCOL"].encode()]

    srv = serve(app)
    c = Client(srv.port)
    for _ in range(3):
        r = c.request("/", version="1.0", headers="Connection: keep-alive\r\n")
        assert r.body == b"HTTP/1.0" and r.header("Connection") == "keep-alive"
        assert r.version == "HTTP/1.1"
    c.close()


def test_keep_alive_announces_the_idle_timeout_to_clients_that_ask(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [b"x"]

    srv = serve(app, idle_timeout=2.5)
    c = Client(srv.port)
    r = c.request("/", headers="Connection: keep-alive\r\n")
    # Rounded down: the hint must not promise longer than the server waits.
    assert r.header("Connection") == "keep-alive" and r.header("Keep-Alive") == "timeout=2"
    r = c.request("/")  # persistence is HTTP/1.1's default: nothing to announce
    assert r.header("Connection") is None and r.header("Keep-Alive") is None
    r = c.request("/", version="1.0", headers="Connection: keep-alive\r\n")
    assert r.header("Connection") == "keep-alive" and r.header("Keep-Alive") == "timeout=2"
    c.close()
    plain = serve(app, idle_timeout=None)
    c = Client(plain.port)
    r = c.request("/", headers="Connection: keep-alive\r\n")
    assert r.header("Connection") == "keep-alive" and r.header("Keep-Alive") is None
    c.close()


def test_unread_chunked_body_is_drained(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ignored the body"]

    srv = serve(app)
    c = Client(srv.port)
    chunk = b"x" * 1000
    body = b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for _ in range(50)) + b"0\r\n\r\n"
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert c.read_response().body == b"ignored the body"
    assert c.request("/").body == b"ignored the body"
    c.close()


def test_expect_continue_unread_body_closes_the_connection(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("403 Forbidden", [])
        return [b"no"]

    srv = serve(app)
    c = Client(srv.port)
    c.send(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    version, status, reason, headers = c.read_head()
    assert status == 403  # no 100 Continue went out first
    assert dict(headers).get("Connection") == "close"
    c.close()


# -- timeouts ------------------------------------------------------------------------------------

def wait_closed(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes ``sock`` (EOF or reset), failing after ``limit``."""
    sock.settimeout(limit)
    start = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError(
            f"the server did not close the connection within {limit} s") from None
    return time.monotonic() - start


def test_idle_keep_alive_timeout(serve: Any) -> None:
    srv = serve(gen_app, idle_timeout=0.3)
    c = Client(srv.port)
    assert c.request("/").status == 200
    elapsed = wait_closed(c.sock, 5)
    assert 0.2 < elapsed < 3


def test_idle_timeout_counts_from_the_end_of_the_response(serve: Any) -> None:
    # The app leaves a green thread that blocks the server's hub for 0.8 s right after the
    # response went out, before the connection parks for its next request. A client that
    # starts its clock on the response (eventlet's tests do) must see the idle timeout kept
    # from there: closed after about 0.8 s, not 1.6 s.
    def block_the_hub() -> None:
        # One yield first: the server yields once before writing the response and once after
        # (module docstring of greenlane.wsgi._conn, "Batching"), so this runs after the write.
        greenlane.sleep(0)
        time.sleep(0.8)  # the real sleep: it blocks the hub

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        greenlane.spawn(block_the_hub)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    srv = serve(app, idle_timeout=0.8)
    c = Client(srv.port)
    assert c.request("/").status == 200
    elapsed = wait_closed(c.sock, 5)
    assert 0.6 < elapsed < 1.3, elapsed


def test_header_timeout_stops_a_slow_loris(serve: Any) -> None:
    srv = serve(gen_app, read_header_timeout=0.5, idle_timeout=10)
    sock = connect(srv.port)
    sock.sendall(b"GET / HTTP/1.1\r\n")
    start = time.monotonic()
    # Keep trickling header bytes: progress must not extend the deadline.
    sock.settimeout(0.1)
    closed = False
    while time.monotonic() - start < 5:
        try:
            sock.sendall(b"X")
            if sock.recv(4096) == b"":
                closed = True
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    elapsed = time.monotonic() - start
    assert closed, "slow-loris connection still open"
    assert elapsed < 3
    sock.close()


def test_header_timeout_on_a_silent_new_connection(serve: Any) -> None:
    srv = serve(gen_app, read_header_timeout=0.3, idle_timeout=10)
    sock = connect(srv.port)
    assert wait_closed(sock, 5) < 3
    sock.close()


def test_header_timeout_on_a_later_request_counts_from_its_first_byte(serve: Any) -> None:
    srv = serve(gen_app, read_header_timeout=0.3, idle_timeout=10)
    c = Client(srv.port)
    assert c.request("/").status == 200
    c.send(b"GET / HTTP/1.1\r\n")  # half a head, then silence
    assert wait_closed(c.sock, 5) < 3
    c.close()


def test_body_timeout_gives_408(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        data = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [data]

    srv = serve(app, body_timeout=0.3)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    start = time.monotonic()
    r = c.read_response()
    assert r.status == 408 and r.header("Connection") == "close"
    assert time.monotonic() - start < 3
    assert c.closed_by_peer()


def test_body_timeout_is_a_socket_timeout_the_app_can_handle(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            environ["wsgi.input"].read()
        except socket.timeout:
            start_response("400 Bad Request", [])
            return [b"too slow"]
        start_response("200 OK", [])
        return [b"??"]

    srv = serve(app, body_timeout=0.3)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    r = c.read_response()
    assert r.status == 400 and r.body == b"too slow"
    c.close()


def test_head_and_first_streamed_chunk_go_out_in_one_write(serve: Any) -> None:
    writes: list[bytes] = []

    def counting(target: Any) -> Any:
        class Counting:
            def __getattr__(self, name: str) -> Any:
                return getattr(target, name)

            def sendall(self, data: bytes) -> None:
                writes.append(bytes(data))
                target.sendall(data)

            def send(self, data: bytes) -> int:
                writes.append(bytes(data))
                return int(target.send(data))

        return Counting()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        conn = environ["eventlet.input"]._conn
        conn._sock = counting(conn._sock)
        if conn._raw is not None:
            conn._raw = counting(conn._raw)  # the plain socket under the GreenSocket
        start_response("200 OK", [])
        yield b"first"
        yield b"second"

    srv = serve(app)
    c = Client(srv.port)
    assert c.request("/").body == b"firstsecond"
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\n5\r\nfirst\r\n")
    c.close()


def test_graceful_stop_does_not_wait_for_a_lingering_connection(serve: Any) -> None:
    srv = serve(gen_app)
    c = Client(srv.port)
    c.send(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
    assert c.read_response().status == 400
    assert c.closed_by_peer()  # the server's half-close: it is lingering now
    # The client keeps its side open: the server lingers, reading what it might still send.
    start = time.monotonic()
    srv.stop(timeout=10)
    assert time.monotonic() - start < 1.5  # not LINGER_SECONDS (2 s), let alone 10
    assert srv.shutdown_result is True
    c.close()
