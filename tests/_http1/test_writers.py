"""Response serialisation: heads, framing choice, field validation, canned responses."""

from __future__ import annotations

import email.utils

import pytest

from greenlane._http1 import LocalProtocolError, ProtocolError, Request, format_date_time
from greenlane._http1.writers import (
    FRAMING_CHUNKED,
    FRAMING_CLOSE,
    FRAMING_HEAD,
    FRAMING_LENGTH,
    FRAMING_NONE,
    build_simple_response,
    encode_chunk,
    encode_informational_head,
    encode_response_head,
    status_line,
)


def request(method: str = "GET", version: str = "1.1") -> Request:
    return Request(method=method, target="/", headers=[("host", "x")], http_version=version,
                   host="x", keep_alive=version == "1.1")


def fields(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")
    assert lines[-2:] == ["", ""]
    return dict(line.split(": ", 1) for line in lines[1:-2])


@pytest.mark.parametrize("ts", [0, 784111777, 951782400, 1700000000.7, 4102444800])
def test_format_date_time_matches_the_email_package(ts: float) -> None:
    assert format_date_time(ts) == email.utils.formatdate(ts, usegmt=True)
    assert format_date_time(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


@pytest.mark.parametrize(
    ("method", "version", "status", "headers", "framing", "added"),
    [
        ("GET", "1.1", 200, [("Content-Length", "5")], FRAMING_LENGTH, {}),
        ("GET", "1.1", 200, [], FRAMING_CHUNKED, {"Transfer-Encoding": "chunked"}),
        ("GET", "1.0", 200, [], FRAMING_CLOSE, {"Connection": "close"}),
        ("HEAD", "1.1", 200, [], FRAMING_HEAD, {}),
        ("HEAD", "1.1", 200, [("Content-Length", "99")], FRAMING_HEAD,
         {"Content-Length": "99"}),
        ("GET", "1.1", 204, [], FRAMING_NONE, {}),
        ("GET", "1.1", 304, [("Content-Length", "7")], FRAMING_NONE, {"Content-Length": "7"}),
    ],
)
def test_framing_choice(method: str, version: str, status: int,
                        headers: list[tuple[str, str]], framing: int,
                        added: dict[str, str]) -> None:
    head, got, length, close = encode_response_head(status, "X", headers, request(method,
                                                                                  version),
                                                    False)
    assert got == framing
    assert length == (int(headers[0][1]) if framing == FRAMING_LENGTH else 0)
    f = fields(head)
    for name, value in added.items():
        assert f[name] == value
    assert "Date" in f
    if framing != FRAMING_CHUNKED:
        assert "Transfer-Encoding" not in f
    assert close == (framing == FRAMING_CLOSE)


def test_204_drops_content_length() -> None:
    head, *_ = encode_response_head(204, "No Content", [("Content-Length", "0")], request(),
                                    False)
    assert "Content-Length" not in fields(head)


def test_connection_field_decisions() -> None:
    head, _, _, close = encode_response_head(200, "OK", [("Content-Length", "0")],
                                             request(version="1.0"), False)
    assert fields(head)["Connection"] == "keep-alive" and not close
    head, _, _, close = encode_response_head(200, "OK", [("Connection", "close"),
                                                         ("Content-Length", "0")],
                                             request(), False)
    assert fields(head)["Connection"] == "close" and close
    head, _, _, close = encode_response_head(200, "OK", [("Content-Length", "0")], request(),
                                             True)
    assert fields(head)["Connection"] == "close" and close
    head, _, _, close = encode_response_head(200, "OK", [("Content-Length", "0")], request(),
                                             False)
    assert "Connection" not in fields(head) and not close


def test_keep_alive_is_announced_to_clients_that_ask() -> None:
    asked = Request(method="GET", target="/", headers=[("host", "x")], host="x",
                    keep_alive_requested=True)
    hint = "Keep-Alive: timeout=75\r\n"
    head, _, _, close = encode_response_head(200, "OK", [("Content-Length", "0")], asked,
                                             False, hint)
    assert fields(head)["Connection"] == "keep-alive" and not close
    assert fields(head)["Keep-Alive"] == "timeout=75"
    head, _, _, _ = encode_response_head(200, "OK", [("Content-Length", "0")], asked, False)
    assert fields(head)["Connection"] == "keep-alive" and "Keep-Alive" not in fields(head)
    # A client that did not ask gets neither (persistence is HTTP/1.1's default) ...
    head, _, _, _ = encode_response_head(200, "OK", [("Content-Length", "0")], request(),
                                         False, hint)
    assert "Connection" not in fields(head) and "Keep-Alive" not in fields(head)
    # ... and a closing response never carries the hint.
    head, _, _, close = encode_response_head(200, "OK", [("Content-Length", "0")], asked,
                                             True, hint)
    assert fields(head)["Connection"] == "close" and "Keep-Alive" not in fields(head) and close
    head, _, _, _ = encode_response_head(200, "OK", [("Content-Length", "0")],
                                         request(version="1.0"), False, hint)
    assert fields(head)["Keep-Alive"] == "timeout=75"


def test_given_date_is_kept_and_order_preserved() -> None:
    head, *_ = encode_response_head(200, "OK", [("X-B", "1"), ("Date", "yesterday"),
                                                ("X-A", "2"), ("Content-Length", "0")],
                                    request(), False)
    text = head.decode()
    assert text.count("Date:") == 1 and "Date: yesterday" in text
    assert text.index("X-B") < text.index("X-A")


def test_application_chunked_is_dropped_and_duplicate_lengths_merged() -> None:
    head, framing, length, _ = encode_response_head(
        200, "OK", [("Transfer-Encoding", "chunked"), ("Content-Length", "3"),
                    ("content-length", "3")], request(), False)
    assert framing == FRAMING_LENGTH and length == 3
    assert head.count(b"ength: 3") == 1 and b"Transfer-Encoding" not in head


@pytest.mark.parametrize("headers", [
    [("X-A", "a\r\nSet-Cookie: evil")],
    [("X-A", "a\nb")],
    [("X-A", "a\rb")],
    [("X-A", "a\x00b")],
    [("X-A", "a\x7fb")],
    [("X-A", "caf\u00e9 \u20ac")],  # not latin-1
    [("X A", "v")],
    [("X-A:", "v")],
    [("", "v")],
    [("X-A", 5)],
    [("Content-Length", "5"), ("Content-Length", "6")],
    [("Content-Length", "+5")],
    [("Content-Length", "0x5")],
    [("Content-Length", "\u00b2")],
    [("Content-Length", "")],
    [("Content-Length", "1" * 20)],  # parse_content_length's digit cap applies here too
    [("Content-Length", "5, 5")],
    [("Transfer-Encoding", "gzip")],
])
def test_invalid_heads_are_local_protocol_errors(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(LocalProtocolError):
        encode_response_head(200, "OK", headers, request(), False)


def test_htab_and_obs_text_values_are_allowed() -> None:
    head, *_ = encode_response_head(200, "OK", [("X-A", "a\tb \u00e9"), ("Content-Length", "0")],
                                    request(), False)
    assert "X-A: a\tb \u00e9\r\n".encode("latin-1") in head
    # Not str.isprintable() (the fast check), but valid obs-text: the exact check accepts them.
    for value in ("\u00a0", "\u0085", "\u00ad", "x\u00a0y"):
        head, *_ = encode_response_head(200, "OK", [("X-B", value)], request(), False)
        assert f"X-B: {value}\r\n".encode("latin-1") in head


class _LyingStr(str):
    def isprintable(self) -> bool:
        return True

    def isdigit(self) -> bool:
        return True


@pytest.mark.parametrize("name", ["X-A", "Content-Length", "Connection"])
def test_a_str_subclass_cannot_skip_the_value_checks(name: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_response_head(200, "OK", [(name, _LyingStr("1\r\nSet-Cookie: evil"))],
                             request(), False)
    head, *_ = encode_response_head(200, "OK", [("X-A", _LyingStr("fine"))], request(), False)
    assert b"X-A: fine\r\n" in head


def test_a_name_is_checked_whatever_came_before() -> None:
    # The name memo only ever holds names proved to be tokens.
    for _ in range(2):
        with pytest.raises(LocalProtocolError):
            encode_response_head(200, "OK", [("X A", "v")], request(), False)
        with pytest.raises(LocalProtocolError):
            encode_response_head(200, "OK", [(["X-A"], "v")], request(), False)  # type: ignore[list-item]
        head, *_ = encode_response_head(200, "OK", [("X-A", "v")], request(), False)
        assert b"X-A: v\r\n" in head


@pytest.mark.parametrize(("status", "reason"), [(99, "x"), (1000, "x"), ("200", "OK"),
                                                (200, "O\r\nK"), (200, b"OK")])
def test_invalid_status_lines(status: object, reason: object) -> None:
    with pytest.raises(LocalProtocolError):
        status_line(status, reason)  # type: ignore[arg-type]


def test_informational_heads() -> None:
    assert encode_informational_head(100, "Continue", []) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert encode_informational_head(103, "Early Hints", [("Link", "</a>")]) == (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
    with pytest.raises(LocalProtocolError):
        encode_informational_head(200, "OK", [])
    with pytest.raises(LocalProtocolError):
        encode_informational_head(100, "Continue", [("X", "a\r\nb")])


def test_encode_chunk() -> None:
    assert encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert encode_chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"


def test_build_simple_response() -> None:
    raw = build_simple_response(503, "Service Unavailable", b"busy\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    f = fields(head + b"\r\n\r\n")
    assert f["Content-Length"] == "5" and f["Connection"] == "close"
    assert f["Content-Type"] == "text/plain; charset=utf-8" and "Date" in f
    assert body == b"busy\n"
    raw = build_simple_response(400, "Bad", b"", close=False,
                                extra_headers=[("Content-Type", "text/html")])
    f = fields(raw)
    assert "Connection" not in f and f["Content-Type"] == "text/html"
    for status in (100, 204, 304):
        with pytest.raises(LocalProtocolError):
            build_simple_response(status, "X", b"")


def test_protocol_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        ProtocolError("x")
    err = LocalProtocolError("msg", 431)
    assert str(err) == "msg" and err.error_status_hint == 431


def test_response_content_length_follows_the_request_rule() -> None:
    # The same parse_content_length as requests: 19 digits, OWS stripped, leading zeros kept.
    head, framing, length, _ = encode_response_head(
        200, "OK", [("Content-Length", " 0007\t"), ("Content-Length", "7")], request(), False)
    assert (framing, length) == (FRAMING_LENGTH, 7)
    assert head.count(b"Content-Length") == 1 and b"Content-Length: 0007\r\n" in head
    _, _, length, _ = encode_response_head(200, "OK", [("Content-Length", "9" * 19)],
                                           request(), False)
    assert length == 10**19 - 1
