"""The environ the server builds (PEP 3333), checked against the stdlib and Werkzeug validators."""

from __future__ import annotations

import ast
import os
import tempfile
import threading
import warnings
from typing import Any, Callable, Iterator
from wsgiref.validate import validator

import pytest

from greenlane.wsgi._environ import EnvironBuilder, split_target
from tests._support import unavailable

from ._wsgi_support import Client, RecordingLog, echo_environ_app

StartResponse = Callable[..., Any]


def environ_of(serve: Any, request: bytes, **options: Any) -> dict[str, Any]:
    srv = serve(echo_environ_app, **options)
    c = Client(srv.port)
    c.send(request)
    r = c.read_response()
    assert r.status == 200, r
    c.close()
    env: dict[str, Any] = ast.literal_eval(r.body.decode("utf-8"))
    return env


def test_basic_environ(serve: Any) -> None:
    env = environ_of(serve, b"GET /a%20b/%E9?x=1&y=%20 HTTP/1.1\r\nHost: example.com:81\r\n"
                            b"User-Agent: t\r\n\r\n")
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/a b/\xe9"  # percent-decoded, as latin-1
    assert env["RAW_PATH_INFO"] == "/a%20b/%E9"
    assert env["QUERY_STRING"] == "x=1&y=%20"
    assert env["REQUEST_URI"] == env["RAW_URI"] == "/a%20b/%E9?x=1&y=%20"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"].isdigit()
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"].isdigit()
    assert env["HTTP_HOST"] == "example.com:81"
    assert env["HTTP_USER_AGENT"] == "t"
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.input_terminated"] is True
    assert env["wsgi.multithread"] is True
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    assert "CONTENT_TYPE" not in env
    assert "CONTENT_LENGTH" not in env
    assert "HTTPS" not in env


def test_query_string_always_present_and_protocol_is_the_requests(serve: Any) -> None:
    env = environ_of(serve, b"GET /p HTTP/1.0\r\n\r\n")
    assert env["QUERY_STRING"] == ""
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_content_headers_only_when_sent(serve: Any) -> None:
    env = environ_of(serve, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                            b"Content-Length: 3\r\n\r\nabc")
    assert env["CONTENT_TYPE"] == "text/csv"
    assert env["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_repeated_and_underscored_headers(serve: Any) -> None:
    env = environ_of(serve, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\n"
                            b"Cookie: a=1\r\nCookie: b=2\r\nX_Forwarded_For: evil\r\n"
                            b"X-Forwarded-For: good\r\n\r\n")
    assert env["HTTP_X_A"] == "1,2"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_X_FORWARDED_FOR"] == "good"
    assert "headers_raw" not in env  # not a str: wsgiref.validate forbids it


def test_extra_environ_is_merged(serve: Any) -> None:
    env = environ_of(serve, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", environ={"custom.key": "v"})
    assert env["custom.key"] == "v"


def test_eventlet_compatibility_entries(serve: Any) -> None:
    seen: dict[str, Any] = {}
    hook_ran = threading.Event()

    def hook(env: dict[str, Any], a: int, b: int = 0) -> None:
        seen["hook"] = (a, b, env["PATH_INFO"])
        hook_ran.set()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        seen["same"] = environ["eventlet.input"] is environ["wsgi.input"]
        seen["hooks"] = environ["eventlet.posthooks"]
        seen["set_idle"] = callable(environ["eventlet.set_idle"])
        seen["file_wrapper"] = callable(environ["wsgi.file_wrapper"])
        environ["eventlet.posthooks"].append((hook, (1,), {"b": 2}))
        start_response("200 OK", [])
        return [b""]

    srv = serve(app)
    Client(srv.port).request("/")
    assert seen["same"] and seen["set_idle"] and seen["file_wrapper"]
    assert hook_ran.wait(5)
    assert seen["hook"] == (1, 2, "/")


def test_wsgiref_validator_accepts_the_server(serve: Any) -> None:
    def inner(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        body = b""
        while True:  # the validator insists on read(size)
            chunk = environ["wsgi.input"].read(2)
            if not chunk:
                break
            body += chunk
        line = environ["wsgi.input"].readline()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"got:", body, line])

    log = RecordingLog()
    srv = serve(validator(inner), log=log)
    c = Client(srv.port)
    assert c.request("/v?x=1").body == b"got:"
    assert c.request("/v", method="POST", body=b"abc").body == b"got:abc"
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"2\r\nhi\r\n0\r\n\r\n")
    assert c.read_response().body == b"got:hi"
    assert c.request("/", method="HEAD").status == 200
    c.close()
    assert log.text("error") == ""


def test_werkzeug_lint_accepts_the_server(serve: Any) -> None:
    try:
        from werkzeug.middleware import lint
    except ImportError:
        unavailable("needs werkzeug")

    def inner(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = b""
        while True:  # the linter warns about read() without a size
            chunk = environ["wsgi.input"].read(3)
            if not chunk:
                break
            body += chunk
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body) + 3))])
        return [b"ok:" + body]

    with warnings.catch_warnings():
        warnings.simplefilter("error", lint.WSGIWarning)
        srv = serve(lint.LintMiddleware(inner))
        c = Client(srv.port)
        assert c.request("/").body == b"ok:"
        assert c.request("/", method="POST", body=b"data").body == b"ok:data"
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\nabc\r\n0\r\n\r\n")
        assert c.read_response().body == b"ok:abc"
        c.close()


def test_file_wrapper_uses_sendfile(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = os.urandom(300_000)
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(payload)
    calls: list[int] = []
    real = os.sendfile

    def counting(out: int, fd: int, offset: int, count: int) -> int:
        calls.append(count)
        return real(out, fd, offset, count)

    monkeypatch.setattr(os, "sendfile", counting)
    handles: list[Any] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        fh = open(f.name, "rb")
        handles.append(fh)
        fh.seek(1000)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](fh, 4096)

    try:
        srv = serve(app)
        c = Client(srv.port)
        r = c.request("/")
        assert r.header("Content-Length") == str(len(payload) - 1000)
        assert r.body == payload[1000:]
        assert calls, "os.sendfile was not used"
        r = c.request("/", method="HEAD")
        assert r.header("Content-Length") == str(len(payload) - 1000)
        assert c.request("/").body == payload[1000:]
        # Requests on one connection are sequential: once the 4th is answered, the 3rd's
        # iterable has been closed.
        assert c.request("/", method="HEAD").status == 200
        c.close()
        assert len(handles) == 4 and all(fh.closed for fh in handles[:3])
    finally:
        os.unlink(f.name)


def test_file_wrapper_over_non_file_iterates(serve: Any) -> None:
    import io

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"x" * 10000), 1000)

    srv = serve(app)
    assert Client(srv.port).request("/").body == b"x" * 10000


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/p", ("/p", "")),
        ("/p?", ("/p", "")),
        ("/p?a=1?b", ("/p", "a=1?b")),
        ("http://h/x/y?z", ("/x/y", "z")),
        ("http://h", ("/", "")),
        ("http://h?q=1", ("/", "q=1")),
        ("*", ("*", "")),
    ],
)
def test_split_target(target: str, expected: tuple[str, str]) -> None:
    assert split_target(target) == expected


def test_builder_caps_its_name_cache() -> None:
    from greenlane._http1 import Request

    builder = EnvironBuilder(("127.0.0.1", 80), "http", None, None)
    for i in range(2000):
        req = Request(method="GET", target="/", headers=[(f"x-h{i}", "v"), ("host", "h")],
                      host="h")
        env = builder.build(builder.base, req, "1.2.3.4", "5")
        assert env[f"HTTP_X_H{i}"] == "v"
    assert len(builder._keys) <= 512


def test_file_wrapper_with_a_non_ascii_digit_content_length(serve: Any) -> None:
    # "²".isdigit() is True: the sendfile path must apply the parser's rule (ASCII digits),
    # so the bad header is reported as such, not as a crash inside the server.
    log = RecordingLog()
    with tempfile.NamedTemporaryFile() as f:
        f.write(b"x" * 100)
        f.flush()

        def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
            start_response("200 OK", [("Content-Length", "\u00b2")])
            return environ["wsgi.file_wrapper"](open(f.name, "rb"))

        srv = serve(app, log=log)
        assert Client(srv.port).request("/").status == 500
        assert log.errors.wait(5)
    errors = log.text("error")
    assert "Content-Length" in errors
    assert "ValueError" not in errors


def test_request_uri_keeps_an_empty_query(serve: Any) -> None:
    # Only the raw target tells "/p?" from "/p": QUERY_STRING is "" for both.
    env = environ_of(serve, b"GET /p? HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["QUERY_STRING"] == ""
    assert env["REQUEST_URI"] == env["RAW_URI"] == "/p?"
    env = environ_of(serve, b"GET http://h/p HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["RAW_URI"] == "http://h/p"
    assert env["PATH_INFO"] == "/p"
