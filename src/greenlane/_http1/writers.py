"""Writers: the bytes of response heads and bodies.

This module and the server's error renderer are the only places response bytes are built.
Framing of a response body is chosen once, when its head is encoded (RFC 9112 §6.3 read from
the sender's side):

1. a HEAD request: no body is sent, whatever the application writes; headers kept as given;
2. status 204 or 304: no body (writing one is a LocalProtocolError). A Content-Length from the
   application is dropped on 204 (RFC 9110 §8.6: a server MUST NOT send it) and kept on 304
   (it describes the selected representation). 1xx heads are encoded separately, as given;
4. a Content-Length from the application (``parse_content_length``: 1 to 19 ASCII digits;
   repeats must declare the same number): exactly that many bytes must follow;
5. an HTTP/1.1 client: ``Transfer-Encoding: chunked`` is added;
6. an HTTP/1.0 client: the body is delimited by closing the connection.

Header names and values must be ``str`` holding only latin-1 characters (PEP 3333). Names must
be tokens; values must not contain control characters other than HTAB (so no CR, LF or NUL:
response splitting). Names are emitted as given: capitalisation is the caller's choice.
``Transfer-Encoding`` and ``Connection`` are hop-by-hop and owned by this layer: an application's
``Transfer-Encoding: chunked`` is dropped (the body is framed here, PEP 3333 forbids applications
from encoding it themselves; any other coding is a LocalProtocolError) and its ``Connection``
value is folded into the keep-alive decision. A persistent connection is announced with
``Connection: keep-alive`` to an HTTP/1.0 client, and to any client that asked with that option;
the announcement carries ``Keep-Alive: timeout=N`` when the server has an idle timeout (a hint
that lets clients stop reusing a connection before the server closes it, instead of racing it).
"""

from __future__ import annotations

import functools
import re
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .abnf import CONTENT_LENGTH_MAX_DIGITS, CTL_AND_CR, TOKEN
from .errors import LocalProtocolError
from .events import Request
from .headers import parse_content_length, split_list

__all__ = [
    "FRAMING_CHUNKED",
    "FRAMING_CLOSE",
    "FRAMING_HEAD",
    "FRAMING_LENGTH",
    "FRAMING_NONE",
    "build_simple_response",
    "date_field",
    "encode_chunk",
    "encode_informational_head",
    "encode_response_head",
    "format_date_time",
    "status_line",
]

FRAMING_NONE = 0
"""No body may follow (1xx, 204, 304); writing non-empty data is a LocalProtocolError."""
FRAMING_HEAD = 1
"""Response to HEAD: body bytes the application writes are silently discarded."""
FRAMING_LENGTH = 2
"""Content-Length framing: exactly the declared number of bytes must be written."""
FRAMING_CHUNKED = 3
"""Chunked transfer coding."""
FRAMING_CLOSE = 4
"""Close-delimited (HTTP/1.0 client, length unknown)."""

_time = time.time
_TOKEN_MATCH = TOKEN.fullmatch
# RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), empty allowed in practice
_REASON_MATCH = re.compile(r"[\t \x21-\x7e\x80-\xff]*").fullmatch

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date_time(timestamp: float) -> str:
    """Format a POSIX timestamp as an IMF-fixdate (RFC 9110 §5.6.7), always in GMT.

    Same output as ``email.utils.formatdate(timestamp, usegmt=True)``, without importing the
    email package: ``format_date_time(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"``.
    """
    t = time.gmtime(timestamp)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


@functools.lru_cache(maxsize=2)
def _date_field_at(second: int) -> str:
    return f"Date: {format_date_time(second)}\r\n"


def date_field() -> str:
    """The ``Date`` field line for the current second, CRLF included (memoised per second)."""
    return _date_field_at(int(_time()))


@functools.lru_cache(maxsize=256, typed=True)
def status_line(status: int, reason: str) -> str:
    """Return ``"HTTP/1.1 <status> <reason>\\r\\n"`` after checking both parts (memoised).

    Raises:
        LocalProtocolError: status is not an int in 100..999, or reason is not a str of
            reason-phrase characters.
    """
    if type(status) is not int or not 100 <= status <= 999:
        raise LocalProtocolError(f"invalid status code {status!r}")
    if type(reason) is not str or _REASON_MATCH(reason) is None:
        raise LocalProtocolError(f"invalid reason phrase {reason!r}")
    return f"HTTP/1.1 {status} {reason}\r\n"


# What encode_response_head does with a field, by name (see _field_kind).
_PLAIN = 0
_CONTENT_LENGTH = 1
_TRANSFER_ENCODING = 2
_CONNECTION = 3
_DATE = 4
_KIND_BY_LOWER_NAME = {"content-length": _CONTENT_LENGTH,
                       "transfer-encoding": _TRANSFER_ENCODING,
                       "connection": _CONNECTION, "date": _DATE}

# A memo of _field_kind: field name (as the application spells it) -> kind, for names already
# proved to be tokens. Applications send the same few names on every response, so one dict
# lookup replaces the token regex, lower() and a set lookup per field. Bounded: names past the
# limit are checked every time, so an application inventing names cannot grow it.
_FIELD_KINDS: Dict[str, int] = {}
_MAX_FIELD_KINDS = 1024

# A memo of status_line for the common case (int status, str reason): one dict lookup.
_STATUS_LINES: Dict[Tuple[int, str], str] = {}
_MAX_STATUS_LINES = 256

def _field_kind(name: str) -> int:
    # The slow path of the name check: validates, classifies and memoises.
    if type(name) is not str or _TOKEN_MATCH(name) is None:
        raise LocalProtocolError(f"invalid header name {name!r}")
    kind = _KIND_BY_LOWER_NAME.get(name.lower(), _PLAIN)
    if len(_FIELD_KINDS) < _MAX_FIELD_KINDS:
        _FIELD_KINDS[name] = kind
    return kind


def _field_name_lower(name: str) -> str:
    # Validates a field name (a token) for the heads encoded without framing decisions.
    if type(name) is not str or _TOKEN_MATCH(name) is None:
        raise LocalProtocolError(f"invalid header name {name!r}")
    return name.lower()


def _check_head(head: bytes, n_lines: int) -> None:
    # Every line of the head must end in the one CRLF this module put there: a value holding
    # CR, LF or another control character (response splitting) changes one of the two counts.
    # Two C-speed passes over the encoded head, instead of a regex per value.
    if head.count(b"\n") != n_lines or len(head) - len(head.translate(None, CTL_AND_CR)) != n_lines:
        raise LocalProtocolError("header value contains a control character (CR, LF, NUL, ...)")


def _encode(parts: List[str], n_lines: int) -> bytes:
    # join() raises TypeError for a non-str value, encode() UnicodeEncodeError for non-latin-1.
    try:
        head = "".join(parts).encode("latin-1")
    except (TypeError, UnicodeEncodeError) as exc:
        raise LocalProtocolError(f"invalid response head: {exc}") from exc
    _check_head(head, n_lines)
    return head


def encode_response_head(
    status: int,
    reason: str,
    headers: Iterable[Tuple[str, str]],
    request: Request,
    close: bool,
    keep_alive_field: str = "",
) -> Tuple[bytes, int, int, bool]:
    """Encode a final (status >= 200, not 101) response head and choose the body framing.

    Args:
        status: the status code.
        reason: the reason phrase.
        headers: ``(name, value)`` pairs from the application, emitted in order.
        request: the request being answered (method and version decide the framing).
        close: whether the connection is already known to close after this response.
        keep_alive_field: ``"Keep-Alive: timeout=N\r\n"`` (or ``""``), added after
            ``Connection: keep-alive`` when that is sent.

    Returns:
        ``(head, framing, content_length, close)``: the bytes to send, one of the
        ``FRAMING_*`` constants, the declared length (0 unless ``FRAMING_LENGTH``), and the
        final close decision (also True for close-delimited bodies or ``Connection: close``
        from the application). A ``Connection: close`` field is present exactly when it is True.

    Raises:
        LocalProtocolError: see the module docstring.
    """
    # This runs for every response: names are classified through a memo, and a value is only
    # looked at with str.isprintable(), which is False for every control character (CR, LF,
    # NUL, DEL, ... but also HTAB and a few valid obs-text characters): only a head with such
    # a value pays for the exact check of the encoded bytes (_check_head).
    line = None
    if type(status) is int and type(reason) is str:
        line = _STATUS_LINES.get((status, reason))
    if line is None:
        line = status_line(status, reason)
        if len(_STATUS_LINES) < _MAX_STATUS_LINES:
            _STATUS_LINES[status, reason] = line
    parts = [line]
    n_lines = 2  # the status line and the empty line
    content_length: Optional[int] = None
    connection: Optional[str] = None
    has_date = False
    plain = True  # every value so far is a str without control characters
    kinds = _FIELD_KINDS
    for name, value in headers:
        try:
            kind = kinds[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name
            kind = _field_kind(name)
        if type(value) is not str:
            if not isinstance(value, str):
                raise LocalProtocolError(f"header value for {name!r} must be str, not "
                                         f"{type(value).__name__}")
            value = str.__str__(value)  # an exact str: a subclass cannot override the checks
        if kind:
            if kind == _CONTENT_LENGTH:
                # The request side's rule, digit cap included (isdigit alone accepts "²");
                # plain digits, the usual value, are checked inline.
                if value.isdigit() and value.isascii() and len(value) <= CONTENT_LENGTH_MAX_DIGITS:
                    declared = int(value)
                else:
                    try:
                        declared = parse_content_length(value)
                    except ValueError as exc:
                        raise LocalProtocolError(str(exc)) from None
                    value = value.strip(" \t")
                if content_length is not None:
                    if declared != content_length:
                        raise LocalProtocolError("conflicting Content-Length values")
                    continue
                content_length = declared
                if status == 204:
                    continue
            elif kind == _TRANSFER_ENCODING:
                if value.strip(" \t").lower() != "chunked":
                    raise LocalProtocolError("applications may not set a transfer coding")
                continue
            elif kind == _CONNECTION:
                if plain and not value.isprintable():
                    plain = False
                connection = value if connection is None else f"{connection}, {value}"
                continue
            else:
                has_date = True
        if plain and not value.isprintable():
            plain = False
        parts += (name, ": ", value, "\r\n")
        n_lines += 1

    length = 0
    if request.method == "HEAD":
        framing = FRAMING_HEAD
    elif status == 204 or status == 304:
        framing = FRAMING_NONE
    elif content_length is not None:
        framing = FRAMING_LENGTH
        length = content_length
    elif request.http_version == "1.1":
        framing = FRAMING_CHUNKED
        parts.append("Transfer-Encoding: chunked\r\n")
        n_lines += 1
    else:
        framing = FRAMING_CLOSE
        close = True

    if connection is not None and not close:
        close = "close" in split_list(connection)
    if not has_date:
        parts.append(_date_field_at(int(_time())))
        n_lines += 1
    if close:
        parts.append("Connection: close\r\n\r\n")
        n_lines += 1
    elif connection is not None and request.http_version != "1.0":
        parts += ("Connection: ", connection, "\r\n\r\n")
        n_lines += 1
    elif request.keep_alive_requested or request.http_version == "1.0":
        # (An HTTP/1.0 connection is persistent only when the client asked for it.)
        if keep_alive_field:
            parts += ("Connection: keep-alive\r\n", keep_alive_field, "\r\n")
            n_lines += 2
        else:
            parts.append("Connection: keep-alive\r\n\r\n")
            n_lines += 1
    else:
        parts.append("\r\n")
    if plain:
        # Names are tokens, the status line and the fields added here are known to be clean,
        # and no value has a control character: only non-latin-1 text can still be wrong.
        try:
            head = "".join(parts).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise LocalProtocolError(f"invalid response head: {exc}") from exc
        return head, framing, length, close
    return _encode(parts, n_lines), framing, length, close


def _encode_plain_head(first_line: str, fields: Iterable[Tuple[str, str]]) -> bytes:
    parts = [first_line]
    n_lines = first_line.count("\n") + 1
    for name, value in fields:
        _field_name_lower(name)
        parts += (name, ": ", value, "\r\n")
        n_lines += 1
    parts.append("\r\n")
    return _encode(parts, n_lines)


def encode_informational_head(
    status: int, reason: str, headers: Iterable[Tuple[str, str]]
) -> bytes:
    """Encode a 1xx head (including 101) with the given fields and nothing added.

    Raises:
        LocalProtocolError: invalid status, reason, name or value; or status not 1xx.
    """
    line = status_line(status, reason)
    if status >= 200:
        raise LocalProtocolError(f"{status} is not an informational status")
    return _encode_plain_head(line, headers)


def encode_chunk(data: bytes) -> bytes:
    """Frame non-empty ``data`` as one chunk (RFC 9112 §7.1)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def build_simple_response(
    status: int,
    reason: str,
    body: bytes,
    *,
    close: bool = True,
    extra_headers: Sequence[Tuple[str, str]] = (),
) -> bytes:
    """A complete response with a fixed body, for error pages and other canned answers.

    Independent of any connection state, so it can answer a request that could not be parsed
    (400, 414, 431, 501, 505) or was never read (503). The head carries ``Date``,
    ``Content-Type: text/plain; charset=utf-8`` unless ``extra_headers`` has a Content-Type,
    ``Content-Length``, the ``extra_headers`` and, when ``close``, ``Connection: close``.

    Args:
        status: the status code (not 1xx, 204 or 304, which cannot carry a body).
        reason: the reason phrase.
        body: the body bytes, sent whole.
        close: announce that the connection closes after this response (the default; error
            responses to unparseable requests must close).
        extra_headers: more ``(name, value)`` fields, validated like any response field.

    Raises:
        LocalProtocolError: invalid status, reason or fields.
    """
    line = status_line(status, reason)
    if status < 200 or status == 204 or status == 304:
        raise LocalProtocolError(f"status {status} cannot carry a body")
    fields: List[Tuple[str, str]] = []
    if not any(
        type(name) is str and name.lower() == "content-type" for name, _ in extra_headers
    ):
        fields.append(("Content-Type", "text/plain; charset=utf-8"))
    fields.append(("Content-Length", str(len(body))))
    fields.extend(extra_headers)
    if close:
        fields.append(("Connection", "close"))
    return _encode_plain_head(line + date_field(), fields) + body
