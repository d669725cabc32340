"""Request parsing: every accept and reject rule, fed whole, byte by byte and pipelined."""

from __future__ import annotations

import pytest

from greenlane._http1 import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    Limits,
    RemoteProtocolError,
    Request,
    ServerConnection,
    parse_content_length,
)

from ._helpers import drain, feed_whole, tr, tr_error

EOM = EndOfMessage()


def req(
    method: str = "GET",
    target: str = "/",
    headers: list[tuple[str, str]] | None = None,
    version: str = "1.1",
    **kw: object,
) -> Request:
    if headers is None:
        headers = [("host", "example.com")]
    host = kw.pop("host", None)
    if host is None:
        host = next((v for n, v in headers if n == "host"), None)
    keep_alive = kw.pop("keep_alive", version == "1.1")
    return Request(
        method=method,
        target=target,
        headers=headers,
        http_version=version,
        host=host,  # type: ignore[arg-type]
        keep_alive=keep_alive,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


# -- request line -------------------------------------------------------------------------------


def test_simple_get() -> None:
    tr(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", [req(), EOM, "PAUSED"])


@pytest.mark.parametrize(
    "method", ["GET", "POST", "OPTIONS", "M-SEARCH", "PROPFIND", "get", "X!#$%&'*+.^_`|~9"]
)
def test_method_is_any_token(method: str) -> None:
    data = f"{method} / HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    tr(data, [req(method, headers=[("host", "a")]), EOM, "PAUSED"])


@pytest.mark.parametrize(
    "target",
    ["/", "*", "/a/b?c=d&e=%20#frag", "/caf%C3%A9", "/|{}^`[]\\?q=|{}", "//double", "/?"],
)
def test_origin_and_asterisk_forms_with_options(target: str) -> None:
    data = f"OPTIONS {target} HTTP/1.1\r\nHost: a\r\n\r\n".encode("latin-1")
    tr(data, [req("OPTIONS", target, [("host", "a")]), EOM, "PAUSED"])


@pytest.mark.parametrize(
    "method, target, host",
    [
        ("GET", "http://example.com/path?q", "example.com"),
        ("GET", "http://example.com:8080", "example.com:8080"),
        ("GET", "HTTPS://Example.COM?q", "Example.COM"),
        ("POST", "https://[::1]:443/x", "[::1]:443"),
        ("OPTIONS", "http://example.com", "example.com"),
        ("GET", "http://a%20b:/x", "a%20b:"),
        ("GET", "http://xn--bcher-kva.example/a://b", "xn--bcher-kva.example"),
    ],
)
def test_absolute_form_authority_overrides_host(method: str, target: str, host: str) -> None:
    # RFC 9112 3.2.2: the server MUST ignore the Host field and use the target's authority.
    data = f"{method} {target} HTTP/1.1\r\nHost: other.example\r\n\r\n".encode()
    expected = req(method, target, [("host", "other.example")], host=host)
    tr(data, [expected, EOM, "PAUSED"])
    assert feed_whole(data)[0].host == host  # type: ignore[union-attr]


def test_absolute_form_in_http_10_without_host_field() -> None:
    data = b"GET http://example.com/p HTTP/1.0\r\n\r\n"
    expected = req("GET", "http://example.com/p", [], version="1.0", host="example.com")
    tr(data, [expected, EOM, "PAUSED"])


def test_absolute_form_still_needs_a_valid_host_field_in_http_11() -> None:
    # RFC 9112 3.2: a 1.1 request without Host, or with a bad one, is 400 whatever its target.
    tr_error(b"GET http://example.com/ HTTP/1.1\r\n\r\n", 400, match="without Host")
    tr_error(b"GET http://example.com/ HTTP/1.1\r\nHost: a b\r\n\r\n", 400,
             match="malformed Host")


@pytest.mark.parametrize(
    "line, match",
    [
        (b"GET foo/bar HTTP/1.1", "must start with '/'"),
        (b"GET foo HTTP/1.1", "must start with '/'"),
        (b"GET ?q HTTP/1.1", "must start with '/'"),
        (b"GET * HTTP/1.1", "only allowed with OPTIONS"),
        (b"POST * HTTP/1.1", "only allowed with OPTIONS"),
        (b"options * HTTP/1.1", "only allowed with OPTIONS"),  # methods are case-sensitive
        (b"OPTIONS ** HTTP/1.1", "must start with '/'"),
        (b"GET example.com:443 HTTP/1.1", "only allowed with CONNECT"),
        (b"OPTIONS [::1]:443 HTTP/1.1", "only allowed with CONNECT"),
        (b"GET ftp://example.com/ HTTP/1.1", "malformed absolute-form"),
        (b"GET http:///path HTTP/1.1", "malformed absolute-form"),  # empty host
        (b"GET http://:80/ HTTP/1.1", "malformed absolute-form"),  # empty host
        (b"GET http://user@example.com/ HTTP/1.1", "malformed absolute-form"),  # userinfo
        (b"GET http://exa#mple.com/ HTTP/1.1", "malformed absolute-form"),
        (b"GET http://example.com:8o/ HTTP/1.1", "malformed absolute-form"),
        (b"GET http:/example.com/ HTTP/1.1", "must start with '/'"),
        (b"GET /api/\xe9x HTTP/1.1", "visible ASCII"),  # raw non-ASCII byte
        (b"GET /caf\xc3\xa9 HTTP/1.1", "visible ASCII"),  # raw UTF-8
        (b"GET http://example.com/\xe9 HTTP/1.1", "visible ASCII"),
        (b"GET /\tx HTTP/1.1", "invalid request-target|malformed request line"),  # raw HTAB
        (b"GET /\x7f HTTP/1.1", "visible ASCII"),  # DEL
        (b"GET /\x00 HTTP/1.1", "visible ASCII"),  # NUL
        (b"GET /\x1b HTTP/1.1", "visible ASCII"),
        (b"CONNECT / HTTP/1.1", "CONNECT needs an authority-form"),
        (b"CONNECT * HTTP/1.1", "CONNECT needs an authority-form"),
        (b"CONNECT http://example.com:443/ HTTP/1.1", "CONNECT needs an authority-form"),
        (b"CONNECT example.com HTTP/1.1", "CONNECT needs an authority-form"),  # no port
        (b"CONNECT example.com: HTTP/1.1", "CONNECT needs an authority-form"),
        (b"CONNECT :443 HTTP/1.1", "CONNECT needs an authority-form"),
        (b"CONNECT user@example.com:443 HTTP/1.1", "CONNECT needs an authority-form"),
    ],
)
def test_bad_request_target(line: bytes, match: str) -> None:
    tr_error(line + b"\r\nHost: a\r\n\r\n", 400, match=match)


@pytest.mark.parametrize("target", [b"example.com:443", b"[::1]:8443", b"10.0.0.1:80"])
def test_connect_is_not_implemented(target: bytes) -> None:
    # Not a proxy: a tunnel cannot be framed by this layer, so a well-formed CONNECT is 501.
    tr_error(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n", 501,
             match="not a proxy")


@pytest.mark.parametrize(
    "line",
    [b"GET foo/bar HTTP/1.1", b"GET * HTTP/1.1", b"GET /api/\xe9x HTTP/1.1",
     b"CONNECT example.com:443 HTTP/1.1"],
)
def test_bad_target_is_rejected_before_the_head_ends(line: bytes) -> None:
    # The request line alone proves it; the header section may never come.
    conn = ServerConnection()
    conn.receive_data(line + b"\r\nHost: a\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_bad_target_is_reported_before_a_bad_field() -> None:
    # Byte order decides which error is reported, whole or byte by byte.
    tr_error(b"GET foo HTTP/1.1\r\nBad Field: x\r\n\r\n", 400, match="must start with")
    tr_error(b"GET * HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200))
             + b"\r\n", 400, match="OPTIONS")


def test_http_11_without_host_when_not_required() -> None:
    conn = ServerConnection(Limits(require_host=False))
    conn.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    event = conn.next_event()
    assert isinstance(event, Request) and event.host is None and event.http_version == "1.1"
    bad = ServerConnection(Limits(require_host=False))
    bad.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="more than one Host"):
        bad.next_event()
    with pytest.raises(TypeError, match="require_host must be a bool"):
        Limits(require_host=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("data, asked", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Upgrade\r\n\r\n", True),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False),
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n", False),
])
def test_keep_alive_requested(data: bytes, asked: bool) -> None:
    conn = ServerConnection()
    conn.receive_data(data)
    event = conn.next_event()
    assert isinstance(event, Request) and event.keep_alive_requested is asked


def test_http_10_without_host() -> None:
    tr(b"GET / HTTP/1.0\r\n\r\n", [req(headers=[], version="1.0", keep_alive=False), EOM, "PAUSED"])


@pytest.mark.parametrize("minor", ["2", "9"])
def test_higher_minor_version_is_treated_as_11(minor: str) -> None:
    tr(f"GET / HTTP/1.{minor}\r\nHost: example.com\r\n\r\n".encode(), [req(), EOM, "PAUSED"])


def test_one_leading_empty_line_is_ignored() -> None:
    # RFC 9112 2.2: a server SHOULD ignore at least one empty line before a request line.
    tr(b"\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n", [req(), EOM, "PAUSED"])


@pytest.mark.parametrize("count", [2, 3, 10])
def test_more_than_one_leading_empty_line_is_rejected(count: int) -> None:
    tr_error(b"\r\n" * count + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
             match="too many empty lines")


def test_one_empty_line_is_allowed_before_each_pipelined_request() -> None:
    # The extra CRLF some old clients send after a POST body, before the next request.
    post = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\n"
    conn = ServerConnection()
    conn.receive_data(post + post + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    for _ in range(2):
        assert type(conn.next_event()) is Request
        assert conn.read_body() == b"hi"
        conn.send_response(200, "OK", [("Content-Length", "0")])
        conn.send_eom()
        conn.start_next_cycle()
    assert type(conn.next_event()) is Request
    conn = ServerConnection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n")
    assert type(conn.next_event()) is Request
    conn.next_event()
    conn.send_response(200, "OK", [("Content-Length", "0")])
    conn.send_eom()
    conn.start_next_cycle()
    with pytest.raises(RemoteProtocolError, match="too many empty lines"):
        conn.next_event()


@pytest.mark.parametrize(
    "data, status",
    [
        (b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # bare LF empty line
        (b"\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # bare CR
        (b" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # leading space
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # two spaces
        (b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),  # trailing space
        (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # non-token method
        (b"GET HTTP/1.1\r\nHost: a\r\n\r\n", 400),  # no target
        (b"GET /\r\nHost: a\r\n\r\n", 400),  # HTTP/0.9
        (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),  # case-sensitive HTTP-name
        (b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),  # bare LF after request line
        (b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400),  # bare CR after request line
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        (b"GET / HTTP/3.1\r\nHost: a\r\n\r\n", 505),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),  # the HTTP/2 connection preface
    ],
)
def test_bad_request_line(data: bytes, status: int) -> None:
    tr_error(data, status)


def test_bad_request_line_is_rejected_before_the_head_ends() -> None:
    conn = ServerConnection()
    conn.receive_data(b"GET / HTTP/2.0\r\nHost: a\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.error_status_hint == 505


@pytest.mark.parametrize(
    "first", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"\x00", b"\xff", b"{", b"\t"]
)
def test_garbage_is_rejected_on_the_first_byte(first: bytes) -> None:
    # A TLS ClientHello (0x16 0x03 ...) never contains a newline early; don't wait for one.
    conn = ServerConnection()
    conn.receive_data(first[:1])
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.error_status_hint == 400


def test_request_line_limit() -> None:
    limits = Limits(max_request_line=30)
    ok = b"GET /" + b"a" * 16 + b" HTTP/1.1\r\nHost: a\r\n\r\n"  # exactly 30
    tr(ok, [req(target="/" + "a" * 16, headers=[("host", "a")]), EOM, "PAUSED"], limits)
    too_long = b"GET /" + b"a" * 17 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    tr_error(too_long, 414, limits)


def test_request_line_limit_without_newline() -> None:
    # 414 as soon as more bytes than the limit arrive, without waiting for the end of line.
    conn = ServerConnection(Limits(max_request_line=100))
    conn.receive_data(b"GET /" + b"a" * 95)
    assert drain(conn) == []
    conn.receive_data(b"a")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.error_status_hint == 414


def test_default_request_line_limit_is_8k() -> None:
    assert Limits().max_request_line == 8192
    target = "/" + "a" * (8192 - len("GET  HTTP/1.1") - 1)
    data = f"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    assert feed_whole(data)[0] == req(target=target, headers=[("host", "a")])
    tr_error(f"GET {target}a HTTP/1.1\r\nHost: a\r\n\r\n".encode(), 414)


# -- header fields ------------------------------------------------------------------------------


def test_header_names_lowercased_values_stripped_order_kept() -> None:
    data = (
        b"GET / HTTP/1.1\r\n"
        b"Host: example.com\r\n"
        b"X-Thing:value\r\n"
        b"X-Spaces: \t a  b \t \r\n"
        b"x-thing: second\r\n"
        b"Empty:\r\n"
        b"Empty-Ws:   \r\n"
        b"Obs-Text: caf\xe9\x80\xff\r\n"
        b"Tab:\tin\tside\r\n"
        b"\r\n"
    )
    headers = [
        ("host", "example.com"),
        ("x-thing", "value"),
        ("x-spaces", "a  b"),
        ("x-thing", "second"),
        ("empty", ""),
        ("empty-ws", ""),
        ("obs-text", "caf\xe9\x80\xff"),
        ("tab", "in\tside"),
    ]
    tr(data, [req(headers=headers), EOM, "PAUSED"])


@pytest.mark.parametrize(
    "line, match",
    [
        (b"Host : a", "whitespace between field name and colon"),
        (b"Host\t: a", "whitespace between field name and colon"),
        (b"X-A: b\r\n c", "obsolete line folding"),
        (b"X-A: b\r\n\tc", "obsolete line folding"),
        (b" X-A: b", "obsolete line folding"),
        (b"X-A b", "without a colon"),
        (b": b", "invalid field name"),
        (b"X(A): b", "invalid field name"),
        (b"X\xe9: b", "invalid field name"),
        (b"X-A: b\x00c", "invalid character"),
        (b"X-A: b\x7fc", "invalid character"),
        (b"X-A: b\x01c", "invalid character"),
        (b"X-A: b\x1bc", "invalid character"),
        (b"X-A: b\x0bc", "invalid character"),
        (b"X-A: b\rc", "bare CR"),
        (b"X-A: b\r\rc", "bare CR"),
    ],
)
def test_bad_field_line(line: bytes, match: str) -> None:
    tr_error(b"GET / HTTP/1.1\r\nHost: a\r\n" + line + b"\r\n\r\n", 400, match=match)


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: b\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\n\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
    ],
)
def test_bare_lf_line_endings_are_rejected(data: bytes) -> None:
    tr_error(data, 400)


def test_bare_lf_head_is_rejected_without_waiting() -> None:
    conn = ServerConnection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\nX")
    with pytest.raises(RemoteProtocolError, match="bare LF"):
        conn.next_event()


def test_header_count_limit() -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(99))
    ok = b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n"  # 100 fields
    events = feed_whole(ok)
    assert len(events[0].headers) == 100  # type: ignore[union-attr]
    tr(ok, events)
    tr_error(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n" + fields + b"\r\n", 431)


def test_header_bytes_limit() -> None:
    limits = Limits(max_header_bytes=40)
    # header section = "Host: a\r\n" (9) + "X: " + value + "\r\n" + "\r\n"
    ok = b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 24 + b"\r\n\r\n"
    assert len(ok) - len(b"GET / HTTP/1.1\r\n") == 40
    tr(ok, [req(headers=[("host", "a"), ("x", "v" * 24)]), EOM, "PAUSED"], limits)
    tr_error(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 25 + b"\r\n\r\n", 431, limits)


def test_header_bytes_limit_without_end_of_head() -> None:
    conn = ServerConnection(Limits(max_header_bytes=100))
    conn.receive_data(b"GET / HTTP/1.1\r\nX: " + b"v" * 97)
    assert drain(conn) == []
    conn.receive_data(b"v")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.error_status_hint == 431


# -- Host ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["example.com", "example.com:8080", "127.0.0.1:80", "[::1]", "[::1]:443", "[v1.x:y]",
     "a%20b", "", "x:", "xn--bcher-kva.example"],
)
def test_valid_hosts(host: str) -> None:
    data = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    tr(data, [req(headers=[("host", host)]), EOM, "PAUSED"])


@pytest.mark.parametrize(
    "data, match",
    [
        (b"GET / HTTP/1.1\r\n\r\n", "without Host"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "more than one Host"),
        (b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host"),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "malformed Host"),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "malformed Host"),
        (b"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", "malformed Host"),
        (b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", "malformed Host"),
        (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", "malformed Host"),
        (b"GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", "malformed Host"),
        (b"GET / HTTP/1.1\r\nHost: caf\xe9\r\n\r\n", "malformed Host"),
    ],
)
def test_bad_host(data: bytes, match: str) -> None:
    tr_error(data, 400, match=match)


# -- bodies: Content-Length ---------------------------------------------------------------------


def test_content_length_body() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    expected = req(
        "POST", headers=[("host", "a"), ("content-length", "5")], content_length=5
    )
    tr(data, [expected, Data(b"hello"), EOM, "PAUSED"])


def test_content_length_zero() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
    expected = req("POST", headers=[("host", "a"), ("content-length", "0")], content_length=0)
    tr(data, [expected, EOM, "PAUSED"])


@pytest.mark.parametrize(
    "field", [b"Content-Length: 5", b"Content-Length: 005", b"content-length:5 ",
              b"Content-Length:\t5\t"],
)
def test_acceptable_content_length_forms(field: bytes) -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\n" + field + b"\r\n"
    events = feed_whole(data + b"\r\nhello")
    assert events[0].content_length == 5  # type: ignore[union-attr]
    assert events[1:] == [Data(b"hello"), EOM, "PAUSED"]
    tr(data + b"\r\nhello", events)


@pytest.mark.parametrize(
    "value",
    [b"-5", b"+5", b"0x5", b"5.0", b"5 5", b"", b"five", b"1_0", b"\xd9\xa5", b"\xb2",
     b"1" * 20, b"5, 6", b"5,", b",5", b"5, , 5"],
)
def test_bad_content_length(value: bytes) -> None:
    tr_error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + b"\r\n\r\nhello", 400)


@pytest.mark.parametrize("value", [b"5, 5", b"5,5", b"5,5 ,  5", b"0, 0"])
def test_content_length_list_is_rejected(value: bytes) -> None:
    # RFC 9110 8.6 allows collapsing identical values; rejecting is the smuggling-safe choice
    # (headers.py, rule 4), and spares the application a CONTENT_LENGTH of "5, 5".
    tr_error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + b"\r\n\r\nhello",
             400, match="not a list")


@pytest.mark.parametrize("second", [b"5", b"6", b"05"])
def test_repeated_content_length_fields_are_rejected(second: bytes) -> None:
    # Identical or not: two Content-Length fields are 400 (headers.py, rule 4).
    tr_error(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: " + second
        + b"\r\n\r\nhello",
        400,
        match="more than one Content-Length",
    )


@pytest.mark.parametrize(
    "value, expected",
    [("0", 0), ("5", 5), ("005", 5), (" 5\t", 5), (b"42", 42), (bytearray(b"7"), 7),
     ("9" * 19, 10**19 - 1)],
)
def test_parse_content_length_accepts(value: str | bytes, expected: int) -> None:
    assert parse_content_length(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", " ", "5, 5", "5,5", "+5", "-5", "0x5", "5.0", "5 5", "1_0", "\u00b2", "\u0665",
     "\uff15", "9" * 20, "5\r", "\n5", b"\xb2", b"5, 5", b""],
)
def test_parse_content_length_refuses(value: str | bytes) -> None:
    with pytest.raises(ValueError, match="1 to 19 ASCII digits"):
        parse_content_length(value)


def test_parse_content_length_type_error() -> None:
    with pytest.raises(TypeError, match="str or bytes, not int"):
        parse_content_length(5)  # type: ignore[arg-type]


def test_huge_content_length_is_accepted_and_streamed() -> None:
    conn = ServerConnection()
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\nx")
    request = conn.next_event()
    assert request.content_length == 9999999999999999999  # type: ignore[union-attr]
    assert conn.next_event() == Data(b"x")


def test_eof_in_content_length_body() -> None:
    tr_error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", 400, at_eof=True)


# -- bodies: chunked ----------------------------------------------------------------------------

CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_REQ = req("POST", headers=[("host", "a"), ("transfer-encoding", "chunked")], chunked=True)


@pytest.mark.parametrize(
    "body, data",
    [
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (b"0\r\n\r\n", b""),
        (b"000\r\n\r\n", b""),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"000000000000000a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),  # 16 digits
        (b"5;name\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;name=value\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b'5 ; a = "q\\"uoted\t" ;b\r\nhello\r\n0\r\n\r\n', b"hello"),
        (b"5\r\nhello\r\n0\r\nX-Trailer: x\r\nOther:y \r\n\r\n", b"hello"),
        (b"3\r\n\r\n\r\r\n0\r\n\r\n", b"\r\n\r"),  # chunk data may hold anything
    ],
)
def test_chunked_bodies(body: bytes, data: bytes) -> None:
    expected: list[object] = [CHUNKED_REQ]
    if data:
        expected.append(Data(data))
    tr(CHUNKED_HEAD + body, [*expected, EOM, "PAUSED"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "te",
    [b"Transfer-Encoding: Chunked", b"Transfer-Encoding: CHUNKED", b"transfer-encoding:chunked"],
)
def test_chunked_is_case_insensitive(te: bytes) -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\n" + te + b"\r\n\r\n0\r\n\r\n"
    events = feed_whole(data)
    assert events[0].chunked  # type: ignore[union-attr]
    tr(data, events)


@pytest.mark.parametrize(
    "body, match",
    [
        (b"-5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        (b"+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        (b"0x5\r\nhello\r\n0\r\n\r\n", "malformed chunk-size"),
        (b" 5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        (b"5 \r\nhello\r\n0\r\n\r\n", "malformed chunk-size"),
        (b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n", "malformed chunk-size"),
        (b"\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        (b"g\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        (b"0000000000000000a\r\n0123456789\r\n0\r\n\r\n", "malformed chunk-size"),  # 17 digits
        (b"5\nhello\r\n0\r\n\r\n", "malformed chunk-size"),  # bare LF
        (b"5\rhello\r\n0\r\n\r\n", "malformed chunk-size"),  # bare CR
        (b"5\r\nhelloXX0\r\n\r\n", "not followed by CRLF"),
        (b"5\r\nhello\n0\r\n\r\n", "not followed by CRLF"),
        (b"5\r\nhello\r0\r\n\r\n", "not followed by CRLF"),
        (b"5\r\nhello\r\n0\r\n\n", "malformed trailer"),
        (b"5\r\nhello\r\n0\r\nX: y\n\n", "bare LF"),
        (b"5\r\nhello\r\n0\r\n\r\r", "malformed trailer"),
        (b"5;\r\nhello\r\n0\r\n\r\n", "malformed chunk-size"),
        (b"5;a=\r\nhello\r\n0\r\n\r\n", "malformed chunk-size"),
        (b'5;a="unterminated\r\nhello\r\n0\r\n\r\n', "malformed chunk-size"),
        (b"5;a b\r\nhello\r\n0\r\n\r\n", "malformed chunk-size"),
        (b"5;\x00\r\nhello\r\n0\r\n\r\n", "malformed chunk-size"),
        (b"5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n", "field"),
        (b"5\r\nhello\r\n0\r\nX: a\x00b\r\n\r\n", "invalid character"),
        (b"5\r\nhello\r\n0\r\n folded: x\r\n\r\n", "malformed trailer"),
    ],
)
def test_bad_chunked_bodies(body: bytes, match: str) -> None:
    tr_error(CHUNKED_HEAD + body, 400, match=match)


FORBIDDEN_TRAILER_NAMES = [
    "Content-Length", "transfer-encoding", "HOST", "Connection", "Keep-Alive", "Upgrade", "TE",
    "Max-Forwards", "Expect", "Range", "Cache-Control", "Pragma", "If-Match", "If-None-Match",
    "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Authorization",
    "Proxy-Authorization", "Cookie", "Content-Type", "Content-Encoding", "Content-Range",
    "Trailer",
]


@pytest.mark.parametrize("name", FORBIDDEN_TRAILER_NAMES)
def test_forbidden_trailer_fields(name: str) -> None:
    # RFC 9110 6.5.1: framing, routing, request modifiers, authentication and content format
    # cannot be trailers.
    body = b"5\r\nhello\r\n0\r\nX-Ok: 1\r\n" + name.encode() + b": 1\r\n\r\n"
    tr_error(CHUNKED_HEAD + body, 400, match="is not allowed in a trailer section")


def test_forbidden_trailer_error_names_the_field_canonically() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        feed_whole(CHUNKED_HEAD + b"0\r\ncOnTeNt-LeNgTh: 5\r\n\r\n")
    assert str(info.value) == "Content-Length is not allowed in a trailer section"


@pytest.mark.parametrize(
    "name", ["X-Checksum", "Server-Timing", "Digest", "ETag", "Content-MD5", "Host-X", "Xhost"]
)
def test_ordinary_trailer_fields_are_accepted(name: str) -> None:
    body = b"5\r\nhello\r\n0\r\n" + name.encode() + b": v\r\n\r\n"
    tr(CHUNKED_HEAD + body, [CHUNKED_REQ, Data(b"hello"), EOM, "PAUSED"])


def test_chunk_extension_limit() -> None:
    limits = Limits(max_chunk_ext_bytes=10)
    ok = CHUNKED_HEAD + b"5;abcdefghi\r\nhello\r\n0\r\n\r\n"  # ";abcdefghi" is 10 bytes
    tr(ok, [CHUNKED_REQ, Data(b"hello"), EOM, "PAUSED"], limits)
    tr_error(CHUNKED_HEAD + b"5;abcdefghij\r\nhello\r\n0\r\n\r\n", 400, limits, "too long")


def test_chunk_line_limit_without_newline() -> None:
    conn = ServerConnection(Limits(max_chunk_ext_bytes=10))
    conn.receive_data(CHUNKED_HEAD + b"5;" + b"a" * 30)
    with pytest.raises(RemoteProtocolError, match="too long"):
        drain(conn)


def test_trailer_limit() -> None:
    limits = Limits(max_trailer_bytes=20)
    ok = CHUNKED_HEAD + b"0\r\nX: 0123456789abc\r\n\r\n"  # 16 + 2 + 2 = 20
    tr(ok, [CHUNKED_REQ, EOM, "PAUSED"], limits)
    tr_error(CHUNKED_HEAD + b"0\r\nX: 0123456789abcd\r\n\r\n", 431, limits)
    conn = ServerConnection(limits)
    conn.receive_data(CHUNKED_HEAD + b"0\r\nX: " + b"v" * 30)
    with pytest.raises(RemoteProtocolError) as info:
        drain(conn)
    assert info.value.error_status_hint == 431


def test_eof_in_chunked_body() -> None:
    for cut in (b"5\r\nhel", b"5\r\nhello", b"5\r\nhello\r\n", b"5", b"0\r\n", b"0\r\nX: y\r\n"):
        tr_error(CHUNKED_HEAD + cut, 400, at_eof=True)


# -- Transfer-Encoding policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, status",
    [
        ([b"Transfer-Encoding: gzip"], 501),
        ([b"Transfer-Encoding: gzip, chunked"], 501),
        ([b"Transfer-Encoding: identity"], 501),
        ([b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"], 501),
        ([b"Transfer-Encoding: chunked, gzip"], 400),
        ([b"Transfer-Encoding: chunked, chunked"], 400),
        ([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], 400),
        ([b"Transfer-Encoding: chunked,"], 400),
        ([b"Transfer-Encoding: "], 400),
        ([b"Transfer-Encoding: xchunked"], 501),
        ([b"Transfer-Encoding: chunked", b"Content-Length: 5"], 400),
        ([b"Content-Length: 5", b"Transfer-Encoding: chunked"], 400),
    ],
)
def test_transfer_encoding_policy(fields: list[bytes], status: int) -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\n" + b"".join(f + b"\r\n" for f in fields)
    tr_error(data + b"\r\n0\r\n\r\n", status)


def test_unsupported_coding_is_not_echoed() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        feed_whole(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: <script>\r\n\r\n")
    assert "script" not in str(info.value)


def test_transfer_encoding_in_http_10_is_rejected() -> None:
    tr_error(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, match="1.0")


# -- Connection and Expect ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, connection, keep_alive",
    [
        ("1.1", None, True),
        ("1.1", "close", False),
        ("1.1", "Close", False),
        ("1.1", "keep-alive", True),
        ("1.1", "upgrade, close", False),
        ("1.1", "x, ,y", True),
        ("1.0", None, False),
        ("1.0", "keep-alive", True),
        ("1.0", "Keep-Alive", True),
        ("1.0", "te, keep-alive", True),
        ("1.0", "keep-alive, close", False),
    ],
)
def test_keep_alive(version: str, connection: str | None, keep_alive: bool) -> None:
    head = f"GET / HTTP/{version}\r\nHost: a\r\n"
    if connection is not None:
        head += f"Connection: {connection}\r\n"
    events = feed_whole((head + "\r\n").encode())
    assert events[0].keep_alive is keep_alive  # type: ignore[union-attr]


def test_repeated_connection_fields_combine() -> None:
    data = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
    assert feed_whole(data)[0].keep_alive is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "version, expect, expected",
    [
        ("1.1", "100-continue", True),
        ("1.1", "100-Continue", True),
        ("1.0", "100-continue", False),
        ("1.1", "something-else", False),
    ],
)
def test_expect_continue(version: str, expect: str, expected: bool) -> None:
    data = f"POST / HTTP/{version}\r\nHost: a\r\nExpect: {expect}\r\n\r\n".encode()
    assert feed_whole(data)[0].expect_continue is expected  # type: ignore[union-attr]


# -- end of input -------------------------------------------------------------------------------


def test_clean_close_between_requests() -> None:
    conn = ServerConnection()
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.next_event() == ConnectionClosed()


def test_close_after_empty_lines_is_clean() -> None:
    conn = ServerConnection()
    conn.receive_data(b"\r\n")
    conn.receive_data(b"")
    assert drain(conn) == [ConnectionClosed()]


@pytest.mark.parametrize(
    "partial", [b"G", b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n", b"\r"])
def test_eof_in_head(partial: bytes) -> None:
    tr_error(partial, 400, at_eof=True, match="mid-request")


def test_errors_are_sticky() -> None:
    conn = ServerConnection()
    conn.receive_data(b"GET / HTTP/2.0\r\n\r\n")
    for _ in range(2):
        with pytest.raises(RemoteProtocolError) as info:
            conn.next_event()
        assert info.value.error_status_hint == 505
    assert conn.our_must_close
