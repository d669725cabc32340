"""Each request-parsing rule of the server, accept and reject, over raw sockets (RFC 9112).

Every reject case checks the status, ``Connection: close`` and that the server really closes;
every accept case checks that the application saw the request and the connection stays usable
(a second request is answered on it).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from ._wsgi_support import Client

StartResponse = Callable[..., Any]


def body_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """Answers ``<method> <PATH_INFO> <body>`` plus selected environ keys as headers."""
    body = environ["wsgi.input"].read()
    extra = [("X-Seen-" + k.replace("_", "-"), str(environ[k]))
             for k in ("CONTENT_LENGTH", "HTTP_X_TRAILER", "HTTP_X_A", "QUERY_STRING",
                       "HTTP_HOST")
             if k in environ]
    start_response("200 OK", [("Content-Type", "text/plain"), *extra])
    return [f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} ".encode("latin-1") + body]


def rejected(port: int, raw: bytes, status: int) -> None:
    c = Client(port)
    try:
        c.send(raw)
        r = c.read_response()
        assert r.status == status, r
        assert r.header("Connection") == "close"
        assert r.body.startswith(str(status).encode())
        assert c.closed_by_peer()
    finally:
        c.close()


def accepted(port: int, raw: bytes, body: bytes = b"") -> Client:
    c = Client(port)
    c.send(raw)
    r = c.read_response()
    assert r.status == 200, r
    assert r.body.endswith(b" " + body) if body else r.body.endswith(b" ")
    # The connection is still usable.
    again = c.request("/again")
    assert again.status == 200 and again.body == b"GET /again "
    c.close()
    return c


H = b"GET / HTTP/1.1\r\nHost: x\r\n"


# -- Host ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost:\r\n\r\n",  # empty Host is valid (RFC 9110 7.2)
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",  # HTTP/1.0 needs no Host
])
def test_host_accepted(serve: Any, raw: bytes) -> None:
    accepted(serve(body_app).port, raw)


@pytest.mark.parametrize("raw", [
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",
])
def test_host_rejected(serve: Any, raw: bytes) -> None:
    rejected(serve(body_app).port, raw, 400)


def test_require_host_false_serves_http11_without_host(serve: Any) -> None:
    # The eventlet alias's eventlet defaults: served (as eventlet did), while a duplicate or
    # malformed Host is still refused.
    port = serve(body_app, require_host=False).port
    accepted(port, b"GET / HTTP/1.1\r\n\r\n")
    rejected(port, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)
    rejected(port, b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400)


def test_require_host_default_is_the_class_setting(serve: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from greenlane.wsgi import Server
    monkeypatch.setattr(Server, "require_host_default", False)
    accepted(serve(body_app).port, b"GET / HTTP/1.1\r\n\r\n")
    # An explicit argument wins over the setting.
    rejected(serve(body_app, require_host=True).port, b"GET / HTTP/1.1\r\n\r\n", 400)


# -- field syntax --------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    b"X-A: b",
    b"X-A:b",
    b"X-A:   b   ",  # OWS around the value
    b"X-A: b\tc",  # HTAB inside a value
    b"X-A: \xe9t\xe9",  # obs-text
    b"X-A:",  # empty value
])
def test_field_lines_accepted(serve: Any, line: bytes) -> None:
    accepted(serve(body_app).port, H + line + b"\r\n\r\n")


@pytest.mark.parametrize("line", [
    b"X-A : b",  # whitespace before the colon
    b"X-A\t: b",
    b"X-A: b\rc",  # bare CR
    b"X-A: b\nc",  # bare LF
    b"X-A: b\x00c",  # NUL
    b"X-A: b\x01c",
    b"X-A: b\x1bc",
    b"X-A: b\x7fc",
    b"X A: b",  # not a token
    b"X-A",  # no colon
    b": b",  # empty name
    b"X-A: b\r\n c",  # obs-fold
    b"X-A: b\r\n\tc",  # obs-fold with HTAB
])
def test_field_lines_rejected(serve: Any, line: bytes) -> None:
    rejected(serve(body_app).port, H + line + b"\r\n\r\n", 400)


def test_bare_lf_line_ending_rejected(serve: Any) -> None:
    rejected(serve(body_app).port, b"GET / HTTP/1.1\nHost: x\n\n", 400)


@pytest.mark.parametrize("raw", [
    b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",  # space in the target
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",  # two spaces
    b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
    b"GET / http/1.1\r\nHost: x\r\n\r\n",
    b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_request_line_rejected(serve: Any, raw: bytes) -> None:
    rejected(serve(body_app).port, raw, 400)


# -- request-target (RFC 9112 3.2) ---------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"GET foo/bar HTTP/1.1\r\nHost: x\r\n\r\n",  # origin-form must start with "/"
    b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",  # asterisk-form is for OPTIONS only
    b"POST * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",  # authority-form is for CONNECT only
    b"GET /api/\xe9x HTTP/1.1\r\nHost: x\r\n\r\n",  # raw non-ASCII byte
    b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",  # raw UTF-8
    b"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",  # raw HTAB
    b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",  # DEL
    b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",  # not http(s)
    b"GET http://user@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",  # userinfo
    b"GET http:///p HTTP/1.1\r\nHost: x\r\n\r\n",  # empty host
    b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n",  # CONNECT needs host:port
])
def test_request_target_rejected(serve: Any, raw: bytes) -> None:
    rejected(serve(body_app).port, raw, 400)


def test_connect_is_not_implemented(serve: Any) -> None:
    # Not a proxy: a well-formed CONNECT is 501 (RFC 9110 9.1), and never reaches the app.
    called: list[str] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        called.append(environ["REQUEST_METHOD"])
        return body_app(environ, start_response)

    port = serve(app).port
    rejected(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501)
    assert called == []


@pytest.mark.parametrize(("target", "path", "query"), [
    (b"/p?q", "/p", "q"),
    (b"/%7Cx|{}^?a=[1]|", "/|x|{}^", "a=[1]|"),  # what browsers leave unescaped
])
def test_origin_form_accepted(serve: Any, target: bytes, path: str, query: str) -> None:
    c = Client(serve(body_app).port)
    c.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.body == f"GET {path} ".encode()
    assert r.header("X-Seen-QUERY-STRING") == query
    c.close()


def test_options_asterisk_accepted(serve: Any) -> None:
    accepted(serve(body_app).port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")


@pytest.mark.parametrize(("raw", "host"), [
    (b"GET http://example.com/path?q HTTP/1.1\r\nHost: other.example\r\n\r\n",
     "example.com"),
    (b"GET HTTPS://example.com:8443/path?q HTTP/1.1\r\nHost: x\r\n\r\n", "example.com:8443"),
    (b"GET http://[::1]:8080/path?q HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     "[::1]:8080"),
])
def test_absolute_form_host_and_path_are_split(serve: Any, raw: bytes, host: str) -> None:
    # RFC 9112 3.2.2: the server MUST ignore the Host field and use the target's authority.
    c = Client(serve(body_app).port)
    c.send(raw)
    r = c.read_response()
    assert r.status == 200 and r.body == b"GET /path "
    assert r.header("X-Seen-QUERY-STRING") == "q"
    assert r.header("X-Seen-HTTP-HOST") == host
    assert c.request("/again").body == b"GET /again "
    c.close()


# -- empty lines before the request line (RFC 9112 2.2) ------------------------------------------

def test_one_leading_empty_line_accepted(serve: Any) -> None:
    accepted(serve(body_app).port, b"\r\n" + H + b"\r\n")


@pytest.mark.parametrize("count", [2, 5])
def test_more_leading_empty_lines_rejected(serve: Any, count: int) -> None:
    rejected(serve(body_app).port, b"\r\n" * count + H + b"\r\n", 400)


def test_extra_crlf_after_a_body_then_a_pipelined_request(serve: Any) -> None:
    # The old-client habit RFC 9112 2.2 is for: one CRLF after a POST body is ignored.
    c = Client(serve(body_app).port)
    c.send(b"POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n"
           b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.read_response().body == b"POST /one hi"
    assert c.read_response().body == b"GET /two "
    c.close()


# -- Content-Length ------------------------------------------------------------------------------

@pytest.mark.parametrize("fields", [
    b"Content-Length: 5\r\n",
    b"Content-Length: 005\r\n",
])
def test_content_length_accepted(serve: Any, fields: bytes) -> None:
    port = serve(body_app).port
    accepted(port, b"POST / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\nhello", b"hello")


@pytest.mark.parametrize("fields", [
    b"Content-Length: 5\r\nContent-Length: 5\r\n",  # identical duplicates
    b"Content-Length: 5, 5\r\n",  # the app would see CONTENT_LENGTH "5, 5" (issue 9)
    b"Content-Length: 5,5\r\n",
])
def test_content_length_list_forms_rejected(serve: Any, fields: bytes) -> None:
    rejected(serve(body_app).port, b"POST / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\nhello",
             400)


@pytest.mark.parametrize("value", [
    b"+5", b"-5", b"0x5", b"5.0", b"", b" ", b"5 5", b"5,6", b"1e1", b"\xd9\xa5",
    b"99999999999999999999",  # 20 digits
])
def test_content_length_rejected(serve: Any, value: bytes) -> None:
    rejected(serve(body_app).port,
             b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + value + b"\r\n\r\nhello", 400)


def test_conflicting_content_lengths_rejected(serve: Any) -> None:
    rejected(serve(body_app).port,
             b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
             b"hello!", 400)


# -- Transfer-Encoding ---------------------------------------------------------------------------

@pytest.mark.parametrize("te", [b"chunked", b"Chunked", b"CHUNKED"])
def test_chunked_accepted(serve: Any, te: bytes) -> None:
    accepted(serve(body_app).port,
             b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + b"\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n", b"hello")


@pytest.mark.parametrize(("te", "status"), [
    (b"gzip", 501),
    (b"identity", 501),
    (b"gzip, chunked", 501),  # chunked last, but gzip is not supported
    (b"chunked, gzip", 400),  # final coding is not chunked
    (b"chunked, chunked", 400),
    (b"chunked\r\nTransfer-Encoding: chunked", 400),
    (b"chunked\r\nTransfer-Encoding: gzip", 400),
    (b"chunked;q=1", 400),
    (b"", 400),
])
def test_transfer_encoding_rejected(serve: Any, te: bytes, status: int) -> None:
    rejected(serve(body_app).port,
             b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + b"\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n", status)


@pytest.mark.parametrize("order", [
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: 0\r\nTransfer-Encoding: gzip\r\n",
])
def test_transfer_encoding_with_content_length_rejected(serve: Any, order: bytes) -> None:
    # Documented choice (_http1/headers.py, rule 2): reject with 400 and close.
    rejected(serve(body_app).port,
             b"POST / HTTP/1.1\r\nHost: x\r\n" + order + b"\r\n5\r\nhello\r\n0\r\n\r\n", 400)


def test_transfer_encoding_in_http10_rejected(serve: Any) -> None:
    rejected(serve(body_app).port,
             b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n", 400)


# -- chunked framing -----------------------------------------------------------------------------

CHUNKED = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("body", [
    b"5\r\nhello\r\n0\r\n\r\n",
    b"000005\r\nhello\r\n0\r\n\r\n",
    b"2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
    b"5;name=value\r\nhello\r\n0;last\r\n\r\n",
    b'5 ; name = "quoted ; value"\r\nhello\r\n0\r\n\r\n',
    b"5\r\nhello\r\n0\r\nX-Trailer: dropped\r\nX-A: also\r\n\r\n",  # trailers
    b"5;" + b"e" * 4000 + b"\r\nhello\r\n0\r\n\r\n",  # extensions within the bound
])
def test_chunked_body_accepted(serve: Any, body: bytes) -> None:
    port = serve(body_app).port
    c = Client(port)
    c.send(CHUNKED + body)
    r = c.read_response()
    assert r.status == 200 and r.body == b"POST / hello"
    # Trailers are read and dropped: the application never sees them.
    assert r.header("X-Seen-HTTP-X-TRAILER") is None and r.header("X-Seen-HTTP-X-A") is None
    assert c.request("/again").body == b"GET /again "
    c.close()


@pytest.mark.parametrize("body", [
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"+5\r\nhello\r\n0\r\n\r\n",
    b"-5\r\nhello\r\n0\r\n\r\n",
    b" 5\r\nhello\r\n0\r\n\r\n",
    b"5 \r\nhello\r\n0\r\n\r\n",
    b"g\r\nhello\r\n0\r\n\r\n",
    b"\r\nhello\r\n0\r\n\r\n",  # empty size
    b"1" * 17 + b"\r\nhello\r\n0\r\n\r\n",  # over the 16-hex-digit bound
    b"5\nhello\r\n0\r\n\r\n",  # bare LF
    b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the data
    b"5;" + b"e" * 5000 + b"\r\nhello\r\n0\r\n\r\n",  # extensions over the bound
    b"5;=x\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n",  # obs-fold in the trailers
])
def test_chunked_body_rejected(serve: Any, body: bytes) -> None:
    rejected(serve(body_app).port, CHUNKED + body, 400)


@pytest.mark.parametrize("name", [
    b"Content-Length", b"Transfer-Encoding", b"Host", b"Trailer", b"Content-Type",
    b"Content-Encoding", b"Authorization", b"Cookie", b"If-Match", b"Range", b"Connection",
    b"content-length",
])
def test_forbidden_trailer_rejected(serve: Any, name: bytes) -> None:
    # RFC 9110 6.5.1: framing, routing, request modifiers, authentication, content format.
    rejected(serve(body_app).port,
             CHUNKED + b"5\r\nhello\r\n0\r\n" + name + b": 5\r\n\r\n", 400)


def test_oversized_trailers_rejected(serve: Any) -> None:
    body = b"5\r\nhello\r\n0\r\n" + b"X-T: " + b"v" * 70000 + b"\r\n\r\n"
    rejected(serve(body_app).port, CHUNKED + body, 431)


# -- limits --------------------------------------------------------------------------------------

def test_request_line_limit_is_8k(serve: Any) -> None:
    port = serve(body_app).port
    fixed = len(b"GET  HTTP/1.1")
    path = b"/" + b"a" * (8192 - fixed - 1)
    accepted(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    rejected(port, b"GET " + path + b"a HTTP/1.1\r\nHost: x\r\n\r\n", 414)


def test_header_count_limit_is_100(serve: Any) -> None:
    port = serve(body_app).port
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(99))  # + Host = 100
    accepted(port, H + fields + b"\r\n")
    rejected(port, H + fields + b"X-last: v\r\n\r\n", 431)


def test_header_section_limit_is_64k(serve: Any) -> None:
    port = serve(body_app).port
    # The section counts field lines and the final CRLF; Host: x\r\n is 9 bytes.
    room = 65536 - 9 - 2
    value = b"v" * (room - len(b"X-Big: \r\n"))
    accepted(port, H + b"X-Big: " + value + b"\r\n\r\n")
    rejected(port, H + b"X-Big: " + value + b"v\r\n\r\n", 431)


def test_limits_are_configurable(serve: Any) -> None:
    port = serve(body_app, max_request_line=64, max_header_count=2,
                 max_header_bytes=100).port
    accepted(port, b"GET /" + b"a" * 40 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    rejected(port, b"GET /" + b"a" * 60 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)
    accepted(port, H + b"X-A: 1\r\n\r\n")
    rejected(port, H + b"X-A: 1\r\nX-B: 2\r\n\r\n", 431)
    rejected(port, H + b"X-A: " + b"v" * 100 + b"\r\n\r\n", 431)


def test_http_version_rules(serve: Any) -> None:
    port = serve(body_app).port
    rejected(port, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)
    rejected(port, b"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505)
    rejected(port, b"GET / HTTP/1\r\nHost: x\r\n\r\n", 400)
    # HTTP/1.2 is answered as 1.1 (RFC 9110 2.5).
    c = Client(port)
    c.send(b"GET /v HTTP/1.2\r\nHost: x\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.version == "HTTP/1.1"
    c.close()


def test_error_on_a_pipelined_request_keeps_earlier_responses(serve: Any) -> None:
    port = serve(body_app).port
    c = Client(port)
    c.send(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost : x\r\n\r\n")
    assert c.read_response().body == b"GET /one "
    r = c.read_response()
    assert r.status == 400 and r.header("Connection") == "close"
    assert c.closed_by_peer()
    c.close()
