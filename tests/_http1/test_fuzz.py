"""Property tests of the request parser (hypothesis).

* Robustness: whatever bytes arrive, the parser returns events or raises RemoteProtocolError;
  no other exception, ever (anything else is a bug, per errors.py).
* Feeding: a message fed whole and fed one byte at a time gives the same events, or the same
  error status.
* Strictness: generated request-targets, field values, Content-Length values,
  Transfer-Encoding values, chunk-size lines, trailer fields and leading empty lines are
  accepted exactly when an independent oracle, written from the RFC text and greenlane's
  documented policy (not from the parser's regexes or tables), says they are valid.
"""

from __future__ import annotations

import platform
import re
from typing import List, Optional, Tuple, Union

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenlane._http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Limits,
    RemoteProtocolError,
    Request,
    ServerConnection,
    parse_content_length,
)

from ._helpers import Result, drain, feed_bytewise, feed_whole, merge_data

# PyPy runs hypothesis itself about five times slower; fewer examples keep the suite quick.
FUZZ = settings(max_examples=300 if platform.python_implementation() == "CPython" else 100,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Small limits make the limit checks reachable by generated input.
SMALL = Limits(max_request_line=64, max_header_bytes=256, max_header_count=8,
               max_chunk_ext_bytes=16, max_trailer_bytes=64)

Outcome = Union[List[Result], Tuple[str, int]]


def outcome(feeder: object, data: bytes, limits: Optional[Limits] = None,
            eof: bool = True) -> Outcome:
    """The events, or ("error", status): the only exception allowed is RemoteProtocolError."""
    try:
        return feeder(data, limits, eof=eof)  # type: ignore[operator, no-any-return]
    except RemoteProtocolError as exc:
        assert 400 <= exc.error_status_hint <= 505
        return ("error", exc.error_status_hint)


def bytewise_feed(data: bytes, limits: Optional[Limits] = None, eof: bool = True) -> List[Result]:
    """Like feed_bytewise, but bytes after the first complete request are not an error: they
    stay unfed, as they stay buffered when the data is fed whole."""
    conn = ServerConnection(limits)
    events: List[Result] = []
    for i in range(len(data)):
        conn.receive_data(data[i:i + 1])
        events += drain(conn)
        if events[-1:] == ["PAUSED"] or type(events[-1:] and events[-1]) is ConnectionClosed:
            return merge_data(events)
    if eof:
        conn.receive_data(b"")
        events += drain(conn)
    return merge_data(events)


def run_all(data: bytes, limits: Optional[Limits] = None) -> Outcome:
    """Parse ``data`` then EOF, cycling through pipelined requests; returns what happened."""
    conn = ServerConnection(limits)
    if data:
        conn.receive_data(data)
    at_eof = False
    events: List[Result] = []
    try:
        for _ in range(len(data) + 10):
            event = conn.next_event()
            if event is NEED_DATA:
                assert not at_eof, "NEED_DATA after EOF"
                conn.receive_data(b"")
                at_eof = True
                continue
            if event is PAUSED:
                if conn.our_must_close:
                    break
                conn.send_response(200, "OK", [("Content-Length", "0")])
                conn.send_eom()
                if conn.our_must_close:
                    break
                conn.start_next_cycle()
                continue
            assert type(event) in (Request, Data, EndOfMessage, ConnectionClosed)
            events.append(event)  # type: ignore[arg-type]
            if type(event) is ConnectionClosed:
                break
    except RemoteProtocolError as exc:
        return ("error", exc.error_status_hint)
    return events


# -- building blocks -----------------------------------------------------------------------------

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=8)
vchars = st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], min_size=1, max_size=12)
targets = st.text(alphabet="/abc%20?=&.-_~", min_size=1, max_size=20).map(lambda t: "/" + t)
absolute_targets = st.tuples(st.sampled_from(["http", "https", "HTTP"]),
                             st.sampled_from(["example.com", "h:8080", "[::1]", "a.b:"]),
                             st.sampled_from(["", "/", "?q", "/p?x=1"]) | targets
                             ).map(lambda t: f"{t[0]}://{t[1]}{t[2]}")


@st.composite
def valid_requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "X-CUSTOM"]))
    version = draw(st.sampled_from(["1.0", "1.1"]))
    forms = [targets, absolute_targets] + ([st.just("*")] if method == "OPTIONS" else [])
    target = draw(st.one_of(forms))
    lines = [f"{method} {target} HTTP/{version}"]
    if version == "1.1" or draw(st.booleans()):
        lines.append("Host: " + draw(st.sampled_from(["x", "example.com:80", "[::1]"])))
    for _ in range(draw(st.integers(0, 4))):
        name = draw(tokens)
        if name.lower() in ("host", "content-length", "transfer-encoding"):
            continue
        value = draw(st.text(alphabet=" \tabcXYZ0-9;=,\"", max_size=10))
        lines.append(f"{name}:{draw(st.sampled_from(['', ' ', '  ', chr(9)]))}{value}")
    body = draw(st.binary(max_size=40))
    framing = draw(st.sampled_from(["none", "length", "chunked"] if version == "1.1"
                                   else ["none", "length"]))
    payload = b""
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        cut = draw(st.lists(st.integers(1, 40), max_size=3))
        pos = 0
        for size in cut:
            piece = body[pos:pos + size]
            if not piece:
                break
            ext = draw(st.sampled_from(["", ";a", ";a=b", ';a="q q"']))
            payload += b"%x%s\r\n%s\r\n" % (len(piece), ext.encode(), piece)
            pos += len(piece)
        payload += b"0\r\n"
        if draw(st.booleans()):
            payload += b"X-Trailer: t\r\n"
        payload += b"\r\n"
    head = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
    # RFC 9112 2.2: one empty line before the request line is ignored.
    return draw(st.sampled_from([b"", b"\r\n"])) + head + payload


def mutate(data: bytes, edits: List[Tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for op, pos, value in edits:
        if not out:
            out += value
            continue
        pos %= len(out)
        if op == 0:
            out[pos:pos + 1] = value  # replace
        elif op == 1:
            out[pos:pos] = value  # insert
        else:
            del out[pos:pos + len(value) + 1]  # delete
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10_000),
                           st.binary(min_size=1, max_size=3)), max_size=4)
interesting_bytes = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"GET / HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n", b"\n", b"\r", b" ",
                     b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n", b"0\r\n",
                     b"5\r\nhello\r\n", b"abc", b"\x00", b":", b"\t", b"HTTP/1.0"]),
    max_size=20).map(b"".join)


# -- robustness and feeding equivalence ----------------------------------------------------------

@FUZZ
@given(interesting_bytes)
def test_garbage_only_raises_remote_protocol_error(data: bytes) -> None:
    run_all(data)
    run_all(data, SMALL)


@FUZZ
@given(valid_requests(), edits)
def test_mutated_requests_only_raise_remote_protocol_error(data: bytes,
                                                           changes: list) -> None:  # type: ignore[type-arg]
    run_all(mutate(data, changes))
    run_all(mutate(data, changes), SMALL)


@FUZZ
@given(valid_requests())
def test_valid_requests_are_accepted_whole_and_byte_by_byte(data: bytes) -> None:
    whole = outcome(feed_whole, data, eof=False)
    assert isinstance(whole, list) and whole[-1] == "PAUSED", whole
    assert type(whole[0]) is Request
    assert outcome(feed_bytewise, data, eof=False) == whole
    # Two of them pipelined parse as two requests.
    events = run_all(data + data)
    assert isinstance(events, list)
    assert sum(type(e) is Request for e in events) == (
        2 if whole[0].keep_alive else 1)  # type: ignore[union-attr]


@FUZZ
@given(valid_requests(), edits)
def test_feeding_whole_or_byte_by_byte_agrees(data: bytes, changes: list) -> None:  # type: ignore[type-arg]
    data = mutate(data, changes)
    for limits in (None, SMALL):
        whole = outcome(feed_whole, data, limits)
        bytewise = outcome(bytewise_feed, data, limits)
        assert whole == bytewise, (data, whole, bytewise)


# -- strictness against oracles ------------------------------------------------------------------

def parse_one(head: bytes, body: bytes = b"") -> Outcome:
    return outcome(feed_whole, head + body, eof=True)


CTL = [c for c in range(0x20) if c != 0x09] + [0x7F]


@FUZZ
@given(st.text(alphabet="abc \t", max_size=5), st.sampled_from(CTL),
       st.text(alphabet="xyz \t", max_size=5))
def test_field_values_with_control_bytes_are_rejected(before: str, ctl: int,
                                                      after: str) -> None:
    value = before.encode() + bytes([ctl]) + after.encode()
    for name in (b"X-A", b"Host", b"Content-Length", b"Transfer-Encoding", b"Expect"):
        head = b"GET / HTTP/1.1\r\n" + (b"" if name == b"Host" else b"Host: x\r\n")
        head += name + b": " + value + b"\r\n\r\n"
        result = parse_one(head)
        assert result == ("error", 400), (head, result)


@FUZZ
@given(st.text(alphabet="abc\t \x80\xff!~", max_size=12))
def test_field_values_without_control_bytes_are_accepted(value: str) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + value.encode("latin-1") + b"\r\n\r\n"
    result = parse_one(head)
    assert isinstance(result, list), result
    request = result[0]
    assert type(request) is Request
    assert ("x-a", value.strip(" \t")) in request.headers


@FUZZ
@given(st.text(alphabet=" \t", max_size=2), tokens, st.text(alphabet=" \t", min_size=1,
                                                             max_size=2))
def test_whitespace_before_colon_or_obs_fold_is_rejected(lead: str, name: str,
                                                         ws: str) -> None:
    base = b"GET / HTTP/1.1\r\nHost: x\r\n"
    assert parse_one(base + f"{name}{ws}: v\r\n\r\n".encode()) == ("error", 400)
    assert parse_one(base + f"{name}: v\r\n{ws}folded\r\n\r\n".encode()) == ("error", 400)


def content_length_oracle(values: List[str]) -> Optional[int]:
    """RFC 9110 8.6: Content-Length = 1*DIGIT (greenlane caps it at 19 digits); greenlane's
    policy (headers.py rule 4): exactly one field, so no list and no repeated field, even with
    identical values."""
    if len(values) != 1:
        return None
    value = values[0]
    if not 1 <= len(value) <= 19 or any(c not in "0123456789" for c in value):
        return None
    return int(value)


@FUZZ
@given(st.lists(st.text(alphabet="0123456789+-xXaf ,\t.", min_size=0, max_size=6),
                min_size=1, max_size=3))
def test_content_length_variants(values: List[str]) -> None:
    fields = b"".join(b"Content-Length: " + v.encode() + b"\r\n" for v in values)
    head = b"POST / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n"
    # The field parser strips OWS around each value before the rule applies.
    expected = content_length_oracle([v.strip(" \t") for v in values])
    result = outcome(feed_whole, head + b"z", eof=False)
    if expected is None:
        assert result == ("error", 400), (values, result)
    else:
        assert isinstance(result, list), (values, result)
        assert type(result[0]) is Request and result[0].content_length == expected
    # The public rule agrees with the parser for a single value.
    if len(values) == 1:
        try:
            assert parse_content_length(values[0]) == expected, values
        except ValueError:
            assert expected is None, values


CODINGS = ["chunked", "Chunked", "CHUNKED", "gzip", "identity", "deflate", "compress", "x",
           "chunked;q=1", "", "chunked "]


@FUZZ
@given(st.lists(st.lists(st.sampled_from(CODINGS), min_size=1, max_size=3), min_size=1,
                max_size=2),
       st.sampled_from(["1.0", "1.1"]), st.booleans())
def test_transfer_encoding_variants(fields: List[List[str]], version: str,
                                    with_length: bool) -> None:
    values = [", ".join(codings) for codings in fields]
    head = f"POST / HTTP/{version}\r\nHost: x\r\n".encode()
    head += b"".join(b"Transfer-Encoding: " + v.encode() + b"\r\n" for v in values)
    if with_length:
        head += b"Content-Length: 5\r\n"
    head += b"\r\n"
    result = parse_one(head, b"5\r\nhello\r\n0\r\n\r\n")
    # Only a lone "chunked" (any case, OWS around it) on HTTP/1.1 without Content-Length.
    ok = (version == "1.1" and not with_length and len(values) == 1
          and values[0].strip(" \t").lower() == "chunked")
    if ok:
        assert isinstance(result, list), (values, result)
        assert result[1] == Data(b"hello")
    else:
        assert isinstance(result, tuple) and result[0] == "error", (values, result)
        assert result[1] in (400, 501)
        if version == "1.0" or with_length:
            assert result[1] == 400  # smuggling-shaped: always 400


@FUZZ
@given(st.text(alphabet="0123456789abcdefABCDEFgx+- \t;=\"", min_size=0, max_size=20))
def test_chunk_size_line_variants(size_line: str) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = size_line.encode() + b"\r\n"
    result = parse_one(head, body + b"\r\n")
    token = "[-!#$%&'*+.^_`|~0-9A-Za-z]+"
    ext = rf'(?:[ \t]*;[ \t]*{token}(?:[ \t]*=[ \t]*(?:{token}|"[^"\\]*"))?)*'
    m = re.fullmatch(rf"([0-9A-Fa-f]{{1,16}}){ext}", size_line)
    if m is None:
        assert result == ("error", 400), (size_line, result)
    elif int(m.group(1), 16) == 0:
        assert isinstance(result, list) and result[-1] == "PAUSED", (size_line, result)
    else:
        # A valid non-zero size: the body is cut short by EOF.
        assert result == ("error", 400), (size_line, result)
        conn = ServerConnection()
        conn.receive_data(head + body)
        assert type(conn.next_event()) is Request
        assert conn.next_event() is NEED_DATA


# -- request-target forms (RFC 9112 3.2) ---------------------------------------------------------

_UNRESERVED_SUBDELIMS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "-._~!$&'()*+,;=")
_HEX = set("0123456789abcdefABCDEF")


def host_oracle(host: str) -> bool:
    """RFC 3986 3.2.2, non-empty (RFC 9110 4.2.1): an IP-literal in brackets (an IPv6 address
    checked for its alphabet only, or IPvFuture = "v" 1*HEXDIG "." 1*( unreserved /
    sub-delims / ":" )), or a reg-name of unreserved / sub-delims / %HH."""
    if host.startswith("["):
        if len(host) < 3 or not host.endswith("]"):
            return False
        inner = host[1:-1]
        if inner[0] in "vV":
            version, dot, rest = inner[1:].partition(".")
            return (bool(version) and set(version) <= _HEX and bool(dot) and bool(rest)
                    and set(rest) <= _UNRESERVED_SUBDELIMS | {":"})
        return set(inner) <= _HEX | set(":.")
    if not host:
        return False
    i = 0
    while i < len(host):
        if host[i] == "%":
            if not (len(host[i + 1:i + 3]) == 2 and set(host[i + 1:i + 3]) <= _HEX):
                return False
            i += 3
        elif host[i] in _UNRESERVED_SUBDELIMS:
            i += 1
        else:
            return False
    return True


def authority_oracle(authority: str, port_required: bool) -> bool:
    """host [":" port]: port = *DIGIT, or 1*DIGIT when required (CONNECT)."""
    if authority.startswith("["):
        end = authority.find("]") + 1
        host, rest = authority[:end], authority[end:]
        if end == 0:
            return False
    else:
        host, sep, port = authority.partition(":")
        rest = sep + port
    if rest:
        port = rest[1:]
        if rest[0] != ":" or any(c not in "0123456789" for c in port):
            return False
        if port_required and not port:
            return False
    elif port_required:
        return False
    return host_oracle(host)


def target_oracle(method: str, target: str) -> Tuple[str, Union[int, Optional[str]]]:
    """("ok", authority of an absolute-form target or None) or ("error", status), from RFC
    9112 3.2 and the policy in headers.py (http/https only, no userinfo, CONNECT -> 501)."""
    if any(not 0x21 <= ord(c) <= 0x7E for c in target):
        return ("error", 400)
    if method == "CONNECT":
        return ("error", 501 if authority_oracle(target, True) else 400)
    if target.startswith("/"):
        return ("ok", None)
    if target == "*":
        return ("ok", None) if method == "OPTIONS" else ("error", 400)
    scheme, sep, rest = target.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        ends = [i for i in (rest.find("/"), rest.find("?")) if i >= 0]
        authority = rest[:min(ends)] if ends else rest
        if authority_oracle(authority, False):
            return ("ok", authority)
    return ("error", 400)


target_pieces = st.lists(st.sampled_from(
    ["/", "*", "http://", "HTTPS://", "ftp://", "http:", "//", "a", "b.c", ":", ":80", "[::1]",
     "[", "]", "@", "?", "q=1", "%20", "%zz", "#", "|", "\xe9", "\t", "\x7f", "\x00", "\\"]),
    min_size=1, max_size=6).map("".join) | st.tuples(
    # scheme, host, port, path: reaches absolute-form and well-formed CONNECT often
    st.sampled_from(["http://", "HTTPS://", "ftp://", "http:", "//", "", "/"]),
    st.sampled_from(["a", "b.c", "[::1]", "[v1.x]", "%20", "%zz", "", "a@b", "a#b", "\xe9",
                     "[::1", "*"]),
    st.sampled_from(["", ":", ":80", ":8o"]),
    st.sampled_from(["", "/", "/p", "?q=1", "/p?x", "/\xe9", "#f", "/|", "/\x7f"]),
).map("".join) | st.tuples(
    # authority alone, as CONNECT wants it
    st.sampled_from(["a", "b.c", "[::1]", "%20", "", "a@b", "\xe9", "[::1"]),
    st.sampled_from(["", ":", ":443", ":4x"]),
).map("".join)


@FUZZ
@given(st.sampled_from(["GET", "OPTIONS", "CONNECT", "POST", "connect", "options"]),
       target_pieces)
def test_request_target_forms(method: str, target: str) -> None:
    data = f"{method} {target} HTTP/1.1\r\nHost: h\r\n\r\n".encode("latin-1")
    verdict, detail = target_oracle(method, target)
    if "\t" in target:
        # A raw HTAB splits the request line differently, but it is refused all the same.
        verdict, detail = "error", 400
    for feeder in (feed_whole, feed_bytewise):
        result = outcome(feeder, data, eof=False)
        if verdict == "error":
            assert result == ("error", detail), (method, target, result)
        else:
            assert isinstance(result, list), (method, target, result)
            request = result[0]
            assert type(request) is Request and request.target == target
            assert request.host == (detail if detail is not None else "h")


# -- trailers (RFC 9110 6.5.1) -------------------------------------------------------------------

# Written out from RFC 9110 6.5.1's classes (framing, routing, request modifiers, authentication,
# content format) and RFC 7230 4.1.2's examples, independently of headers.FORBIDDEN_TRAILERS.
NOT_TRAILERS = {
    "content-length", "transfer-encoding", "host", "connection", "keep-alive", "upgrade", "te",
    "max-forwards", "expect", "range", "cache-control", "pragma", "if-match", "if-none-match",
    "if-modified-since", "if-unmodified-since", "if-range", "authorization",
    "proxy-authorization", "cookie", "content-type", "content-encoding", "content-range",
    "trailer",
}


@FUZZ
@given(st.lists(st.sampled_from(sorted(NOT_TRAILERS) + ["x-sum", "server-timing", "etag",
                                                        "digest", "hosts", "x-host"]),
                max_size=3),
       st.lists(st.booleans(), min_size=3, max_size=3))
def test_trailer_fields(names: List[str], upper: List[bool]) -> None:
    spelled = [n.upper() if u else n for n, u in zip(names, upper)]
    trailers = b"".join(n.encode() + b": v\r\n" for n in spelled)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    result = outcome(feed_whole, head + b"1\r\nz\r\n0\r\n" + trailers + b"\r\n", eof=False)
    if any(n in NOT_TRAILERS for n in names):
        assert result == ("error", 400), (names, result)
    else:
        assert isinstance(result, list) and result[-1] == "PAUSED", (names, result)


# -- empty lines before the request line (RFC 9112 2.2) ------------------------------------------

@FUZZ
@given(st.integers(0, 4), st.integers(0, 3))
def test_leading_empty_lines(before_first: int, before_second: int) -> None:
    """At most one CRLF is ignored before each request line; more is 400."""
    get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    data = b"\r\n" * before_first + get + b"\r\n" * before_second + get
    result = run_all(data)
    if before_first > 1 or before_second > 1:
        assert result == ("error", 400), (before_first, before_second, result)
    else:
        assert isinstance(result, list)
        assert sum(type(e) is Request for e in result) == 2
