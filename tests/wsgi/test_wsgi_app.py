"""What the server demands of, and promises to, the application (PEP 3333)."""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Iterator

import pytest

import greenlane

from ._wsgi_support import TIMEOUT, Client, RecordingLog, hello_app

StartResponse = Callable[..., Any]


def failing_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    raise RuntimeError("secret detail")


def test_app_exception_before_headers_gives_generic_500(serve: Any) -> None:
    log = RecordingLog()
    srv = serve(failing_app, log=log)
    c = Client(srv.port)
    r = c.request("/")
    assert r.status == 500
    assert r.header("Connection") == "close"
    assert b"secret" not in r.body and b"Traceback" not in r.body
    assert c.closed_by_peer()
    assert log.errors.wait(5)
    assert "RuntimeError: secret detail" in log.text("error")
    assert "Traceback" in log.text("error")


def test_debug_puts_the_traceback_in_the_500(serve: Any) -> None:
    srv = serve(failing_app, debug=True, log=RecordingLog())
    r = Client(srv.port).request("/")
    assert r.status == 500
    assert b"RuntimeError: secret detail" in r.body


def test_app_exception_after_headers_aborts_the_connection(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        raise RuntimeError("boom")

    srv = serve(app, log=RecordingLog())
    c = Client(srv.port)
    c.get("/")
    version, status, reason, headers = c.read_head()
    assert status == 200 and dict(headers)["Transfer-Encoding"] == "chunked"
    assert c.rfile.read(len(b"7\r\npartial\r\n")) == b"7\r\npartial\r\n"
    # No terminating chunk: the client can tell the body is incomplete.
    assert c.rfile.read() == b""


def test_one_failing_request_does_not_affect_another_connection(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/fail":
            raise ValueError("x")
        start_response("200 OK", [])
        return [b"fine"]

    srv = serve(app, log=RecordingLog())
    good = Client(srv.port)
    assert good.request("/").body == b"fine"
    bad = Client(srv.port)
    assert bad.request("/fail").status == 500
    assert good.request("/").body == b"fine"
    good.close()


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        ("200 OK", [("Content-Type", b"text/plain")]),  # bytes value
        ("200 OK", [(b"Content-Type", "text/plain")]),  # bytes name
        ("200 OK", [("Bad Name", "x")]),
        ("200 OK", [("X-Split", "a\r\nInjected: 1")]),  # response splitting
        ("200 OK", [("X-Uni", "caf\u00e9 \u263a")]),  # not latin-1
        ("200 OK", [("Keep-Alive", "timeout=5")]),  # hop-by-hop
        ("200 OK", [("Upgrade", "websocket")]),
        ("200 OK", [("Transfer-Encoding", "gzip")]),
        ("200 OK", ("Content-Type", "text/plain")),  # not a list of tuples
        (b"200 OK", []),
        ("20 OK", []),
        ("OK", []),
        ("100 Continue", []),
    ],
)
def test_start_response_rules_are_enforced(serve: Any, status: Any, headers: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response(status, headers)
        return [b"body"]

    log = RecordingLog()
    srv = serve(app, log=log)
    r = Client(srv.port).request("/")
    assert r.status == 500
    assert b"Injected" not in b"".join(f"{k}: {v}".encode("latin-1", "replace")
                                       for k, v in r.headers)
    assert log.errors.wait(5)


def test_application_transfer_encoding_chunked_is_dropped(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Transfer-Encoding", "chunked")])
        yield b"abc"

    srv = serve(app)
    r = Client(srv.port).request("/")
    assert r.status == 200 and r.body == b"abc"
    assert [n for n in r.header_names() if n.lower() == "transfer-encoding"] == [
        "Transfer-Encoding"]


def test_header_names_are_capitalized_by_default(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain"), ("x-custom-thing", "1")])
        return [b""]

    srv = serve(app)
    r = Client(srv.port).request("/")
    assert "Content-Type" in r.header_names() and "X-Custom-Thing" in r.header_names()
    srv2 = serve(app, capitalize_response_headers=False)
    r = Client(srv2.port).request("/")
    assert "content-type" in r.header_names() and "x-custom-thing" in r.header_names()


def test_second_start_response_needs_exc_info(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        start_response("404 Not Found", [])
        return [b""]

    srv = serve(app, log=RecordingLog())
    assert Client(srv.port).request("/").status == 500


def test_exc_info_before_headers_replaces_the_response(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("X-First", "1")])
        try:
            raise KeyError("k")
        except KeyError:
            start_response("503 Service Unavailable", [("X-Second", "1")], sys.exc_info())
        return [b"sorry"]

    srv = serve(app)
    r = Client(srv.port).request("/")
    assert r.status == 503 and r.body == b"sorry"
    assert r.header("X-Second") == "1" and r.header("X-First") is None


def test_exc_info_after_headers_reraises(serve: Any) -> None:
    seen: list[BaseException] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        write = start_response("200 OK", [])
        write(b"started")
        try:
            raise KeyError("k")
        except KeyError:
            try:
                start_response("500 Oops", [], sys.exc_info())
            except KeyError as exc:
                seen.append(exc)
                raise
        yield b""

    srv = serve(app, log=RecordingLog())
    c = Client(srv.port)
    c.get("/")
    assert c.read_head()[1] == 200
    assert c.rfile.read() .endswith(b"started\r\n")  # aborted: no last chunk
    assert len(seen) == 1


def test_close_is_always_called(serve: Any) -> None:
    closed: list[str] = []
    done = threading.Event()

    class Body:
        def __init__(self, name: str, fail: bool) -> None:
            self.name = name
            self.fail = fail

        def __iter__(self) -> Iterator[bytes]:
            yield b"x"
            if self.fail:
                raise RuntimeError("fail while iterating")
            yield b"y"

        def close(self) -> None:
            closed.append(self.name)
            if len(closed) == 3:
                done.set()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Body:
        start_response("200 OK", [])
        return Body(environ["PATH_INFO"], environ["PATH_INFO"] == "/fail")

    srv = serve(app, log=RecordingLog())
    c = Client(srv.port)
    assert c.request("/ok").body == b"xy"
    c2 = Client(srv.port)
    c2.get("/fail")
    c2.read_head()
    c2.rfile.read()
    # A client that disconnects before reading the response.
    c3 = Client(srv.port)
    c3.get("/gone")
    c3.close()
    assert done.wait(5)
    assert sorted(closed) == ["/fail", "/gone", "/ok"]
    c.close()


def test_write_callable(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [("Content-Length", "11")])
        write(b"hello ")
        write(b"")
        write(b"world")
        return []

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/")
    assert r.body == b"hello world" and r.header("Content-Length") == "11"
    assert c.request("/").body == b"hello world"
    c.close()


def test_body_must_be_bytes(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[Any]:
        start_response("200 OK", [])
        return [42]

    srv = serve(app, log=RecordingLog())
    assert Client(srv.port).request("/").status == 500


@pytest.mark.parametrize("as_list", [True, False])
def test_latin1_str_body_pieces_are_accepted_as_in_eventlet(serve: Any, as_list: bool) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain; charset=latin-1")])
        pieces = [b"bytes, ", "caf\xe9"]
        return pieces if as_list else iter(pieces)

    srv = serve(app)
    assert Client(srv.port).request("/").body == b"bytes, caf\xe9"


def test_str_body_piece_beyond_latin1_is_a_clear_500(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[Any]:
        start_response("200 OK", [])
        return ["snowman \u2603"]

    log = RecordingLog()
    srv = serve(app, log=log)
    assert Client(srv.port).request("/").status == 500
    srv.stop()
    errors = "\n".join(m for lv, m in log.lines if lv == "error")
    assert "latin-1" in errors and "encode it" in errors, log.lines


def test_content_length_mismatch_closes_the_connection(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "10")])
        yield b"short"

    log = RecordingLog()
    srv = serve(app, log=log)
    c = Client(srv.port)
    c.get("/")
    assert c.read_head()[1] == 200
    assert c.rfile.read() == b"short"
    assert log.errors.wait(5)


def test_input_api(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        inp = environ["wsgi.input"]
        first = inp.readline()
        limited = inp.readline(3)
        rest_lines = inp.readlines()
        start_response("200 OK", [])
        return [repr((first, limited, rest_lines, inp.read(), inp.read(5))).encode()]

    srv = serve(app)
    c = Client(srv.port)
    r = c.request("/", method="POST", body=b"line one\nabcdef\nx\ny")
    assert r.body == repr((b"line one\n", b"abc", [b"def\n", b"x\n", b"y"], b"", b"")).encode()
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4\r\na\nbc\r\n3\r\nd\ne\r\n0\r\n\r\n")
    assert c.read_response().body == repr((b"a\n", b"bcd", [b"\n", b"e"], b"", b"")).encode()
    c.close()


def test_read_with_size_blocks_until_size(serve: Any) -> None:
    reading = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        reading.set()
        data = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [])
        return [data]

    srv = serve(app)
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    # The rest is sent only once the app is reading: read(10) must wait for it.
    assert reading.wait(TIMEOUT)
    c.send(b"56789")
    assert c.read_response().body == b"0123456789"
    c.close()


def test_malformed_chunked_body_read_by_app_gives_400(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        data = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [data]

    srv = serve(app, log=RecordingLog())
    c = Client(srv.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"zz\r\nabc\r\n0\r\n\r\n")
    r = c.read_response()
    assert r.status == 400
    assert c.closed_by_peer()


def test_hundred_continue_with_extra_headers(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        inp = environ["wsgi.input"]
        inp.set_hundred_continue_response_headers([("x-phase", "one")])
        data = inp.read()
        start_response("200 OK", [])
        return [data]

    srv = serve(app)
    c = Client(srv.port)
    c.send(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
    version, status, reason, headers = c.read_head()
    assert status == 100 and ("X-Phase", "one") in headers
    c.send(b"ok")
    assert c.read_response().body == b"ok"
    c.close()


def test_hijacked_socket_is_left_to_the_application(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        sock = environ["eventlet.input"].get_socket()
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n\r\n")
        while True:
            data = sock.recv(100)
            if not data or data == b"quit":
                break
            sock.sendall(data.upper())
        return []

    srv = serve(app)
    c = Client(srv.port)
    c.get("/", headers="Upgrade: echo\r\nConnection: upgrade\r\n")
    assert c.read_head()[1] == 101
    c.send(b"hello")
    assert c.rfile.read(5) == b"HELLO"
    c.send(b"quit")
    assert c.closed_by_peer()  # nothing more written, connection not reused


def test_greenlane_timeout_in_app_gives_500(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with greenlane.Timeout(0.01):
            greenlane.sleep(1)
        return []

    srv = serve(app, log=RecordingLog())
    assert Client(srv.port).request("/").status == 500


def test_app_returning_without_start_response(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        return [b"x"]

    srv = serve(app, log=RecordingLog())
    assert Client(srv.port).request("/").status == 500


def test_hello_still_fine_after_all_that(serve: Any) -> None:
    srv = serve(hello_app)
    assert Client(srv.port).request("/").body == b"Hello, World!"
