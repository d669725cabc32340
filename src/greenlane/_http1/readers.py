"""Readers: turn bytes in the receive buffer into events, one reader per kind of input.

The reader contract: ``maybe_read(buf)`` returns an event and consumes exactly its bytes, or
returns None when the buffer does not yet hold enough (nothing is consumed that would have to be
re-read). It raises RemoteProtocolError for invalid input as early as the bytes prove it
invalid: a head is rejected on its first byte if that cannot start a method, and on its first
line if that is not a valid request line, without waiting for the whole head. End of input is
the connection's concern: a reader that returns None with ``buf.eof`` set has been cut short.

Readers that wait for a delimiter remember how far they have searched (as an offset from
``buf.start``), so input trickling in byte by byte is scanned once: O(n), not O(n²).

:class:`HeadReader` has a fast path for the common case of a whole head in the buffer: one
``find(b"\\r\\n\\r\\n")``, one latin-1 decode, one regex match for the request line and one
``findall`` for all field lines (see :func:`parse_head`). Only when that fails does it walk the
head line by line, or diagnose which rule was broken.
"""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

from .abnf import (
    CHUNK_LINE,
    CTL_AND_CR,
    FIELD_LINE,
    FIELD_LINE_STRICT,
    FIELD_VALUE,
    HTTP_VERSION,
    REQUEST_LINE,
    REQUEST_TARGET,
    TCHAR_BYTES,
    TOKEN,
)
from .buffer import ReceiveBuffer
from .errors import RemoteProtocolError
from .events import END_OF_MESSAGE, Data, EndOfMessage, Request, _new_data
from .headers import build_request, check_request_target, check_trailers
from .limits import Limits

__all__ = [
    "ChunkedReader",
    "ContentLengthReader",
    "HeadReader",
    "diagnose_field_lines",
    "diagnose_request_line",
    "parse_field_lines",
    "parse_head",
]

_REQUEST_LINE_MATCH = REQUEST_LINE.match
_FIELD_LINE_FINDALL = FIELD_LINE.findall
_CHUNK_LINE_FULLMATCH = CHUNK_LINE.fullmatch
_FIELD_LINE_STRICT_FULLMATCH = FIELD_LINE_STRICT.fullmatch

_CR = 0x0D
_LF = 0x0A

# RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore
# at least one empty line (CRLF) received prior to the request-line". Exactly one is ignored:
# that covers the old clients that send an extra CRLF after a POST body (the reason for the
# rule), and a second one is not something a client sends by mistake. Each request may be
# preceded by one, including a pipelined one.
MAX_LEADING_EMPTY_LINES = 1

_HEXDIG_BYTES = frozenset(b"0123456789abcdefABCDEF")


def diagnose_request_line(line: str, limits: Limits) -> RemoteProtocolError:
    """Explain why ``line`` (CRLF removed) is not an acceptable request line."""
    if len(line) > limits.max_request_line:
        return RemoteProtocolError("request line too long", 414)
    if "\r" in line or "\n" in line:
        return RemoteProtocolError("bare CR or LF in request line")
    parts = line.split(" ")
    if len(parts) != 3:
        return RemoteProtocolError("malformed request line")
    method, target, version = parts
    if TOKEN.fullmatch(method) is None:
        return RemoteProtocolError("invalid method")
    if REQUEST_TARGET.fullmatch(target) is None:
        return RemoteProtocolError(
            "invalid request-target: only visible ASCII is allowed (percent-encode the rest)"
        )
    match = HTTP_VERSION.fullmatch(version)
    if match is None:
        return RemoteProtocolError("malformed HTTP version")
    if match.group(1) != "1":
        return RemoteProtocolError("unsupported HTTP version", 505)
    return RemoteProtocolError("malformed request line")  # pragma: no cover - regex accepts it


def diagnose_field_lines(block: str) -> RemoteProtocolError:
    """Explain why ``block`` (field lines, each meant to end in CRLF) is invalid."""
    for line in block.split("\r\n")[:-1]:
        if "\n" in line:
            return RemoteProtocolError("bare LF in header section")
        if "\r" in line:
            return RemoteProtocolError("bare CR in header section")
        if line[:1] in (" ", "\t"):
            return RemoteProtocolError("obsolete line folding is not accepted")
        name, colon, value = line.partition(":")
        if not colon:
            return RemoteProtocolError("field line without a colon")
        if name[-1:] in (" ", "\t"):
            return RemoteProtocolError("whitespace between field name and colon")
        if TOKEN.fullmatch(name) is None:
            return RemoteProtocolError("invalid field name")
        if FIELD_VALUE.fullmatch(value.strip(" \t")) is None:
            return RemoteProtocolError("invalid character in field value")
    if not block.endswith("\r\n"):
        return RemoteProtocolError("bare CR or LF in header section")
    return RemoteProtocolError("malformed header section")  # pragma: no cover


def parse_field_lines(block: str) -> List[Tuple[str, str]]:
    """Parse field lines one by one with the strict grammar (the slow, general path).

    Args:
        block: the field lines, each ending in CRLF (empty for no fields).

    Returns:
        ``(name, value)`` pairs, name case preserved, value without surrounding OWS.

    Raises:
        RemoteProtocolError: a line breaks the grammar (400).
    """
    fields = []
    lines = block.split("\r\n")
    if lines.pop() != "":
        raise diagnose_field_lines(block)
    for line in lines:
        match = _FIELD_LINE_STRICT_FULLMATCH(line)
        if match is None:
            raise diagnose_field_lines(block)
        fields.append((match.group(1), match.group(2)))
    return fields


def parse_head(
    data: Union[bytes, bytearray], start: int, end: int, limits: Limits
) -> Request:
    """Parse the complete head ``data[start:end]`` (request line up to the empty line's CRLF).

    Fast path: one decode, one match for the request line, one findall for all field lines
    (see FIELD_LINE in abnf.py for why "matches == lines" proves every line matched) and one
    ``bytes.translate`` counting control characters and CRs. If any check fails, the field
    lines are parsed again one by one, which either accepts them (trailing OWS) or diagnoses
    the error.

    Raises:
        RemoteProtocolError: 414, 431, 400 or 505 as the head requires.
    """
    line_end = data.find(b"\r\n", start, end)
    if line_end - start > limits.max_request_line:
        raise RemoteProtocolError("request line too long", 414)
    if end - line_end - 2 > limits.max_header_bytes:
        raise RemoteProtocolError("header section too large", 431)
    raw = data[start : end - 2]
    head = raw.decode("latin-1")
    match = _REQUEST_LINE_MATCH(head)
    if match is None:
        raise diagnose_request_line(head[: line_end - start], limits)
    fields_start = match.end()
    n_lines = head.count("\n", fields_start)
    if n_lines > limits.max_header_count:
        raise RemoteProtocolError("too many header fields", 431)
    fields = _FIELD_LINE_FINDALL(head, fields_start - 1)
    if len(fields) != n_lines or len(raw) - len(raw.translate(None, CTL_AND_CR)) != n_lines + 1:
        fields = parse_field_lines(head[fields_start:])
    method, target, minor = match.groups()
    return build_request(method, target, minor, fields, limits.require_host)


class HeadReader:
    """Reads one request head (request line and header section) at a time.

    Call :meth:`reset` between requests.
    """

    __slots__ = ("_empty_lines", "_fields", "_fields_start", "_limits", "_line_start", "_searched")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self.reset()

    def reset(self) -> None:
        """Forget the progress made on the previous head."""
        self._empty_lines = 0
        self._searched = 0  # bytes after buf.start already searched for LF
        self._line_start = 0  # offset of the first line not yet seen complete
        self._fields_start = 0  # offset of the header section; 0 until the request line is in
        self._fields = 0  # complete field lines seen so far

    def maybe_read(self, buf: ReceiveBuffer) -> Optional[Request]:
        """Return the next Request, or None if its head is not complete yet."""
        data = buf.data
        start = buf.start
        size = len(data)
        if size == start:
            return None
        first = data[start]
        if first not in TCHAR_BYTES:
            if first != _CR:
                # Also rejects a TLS ClientHello (0x16) or HTTP/2 frames without waiting.
                raise RemoteProtocolError("request does not start with a method")
            return self._skip_empty_lines(buf)
        if self._searched == 0:
            end = data.find(b"\r\n\r\n", start)
            if end >= 0:
                try:
                    request = parse_head(data, start, end + 4, self._limits)
                except RemoteProtocolError:
                    # parse_head checks limits before syntax; report instead the error that
                    # comes first in byte order, as when the head arrives byte by byte.
                    self._walk(buf)
                    raise
                buf.skip(end + 4 - start)
                return request
        return self._walk(buf)

    def _skip_empty_lines(self, buf: ReceiveBuffer) -> Optional[Request]:
        while len(buf) and buf.data[buf.start] == _CR:
            if len(buf) < 2:
                return None
            if buf.data[buf.start + 1] != _LF:
                raise RemoteProtocolError("bare CR before request line")
            self._empty_lines += 1
            if self._empty_lines > MAX_LEADING_EMPTY_LINES:
                raise RemoteProtocolError("too many empty lines before request line")
            buf.skip(2)
        return self.maybe_read(buf)

    def _walk(self, buf: ReceiveBuffer) -> Optional[Request]:
        # Slow path: the head is incomplete (or was when first seen). Go through the complete
        # lines that arrived since last time, checking limits and line endings as they come.
        data = buf.data
        start = buf.start
        size = len(data)
        limits = self._limits
        pos = start + self._line_start
        search = start + self._searched
        while True:
            lf = data.find(b"\n", search)
            if lf < 0:
                break
            # Limits first: had the line arrived byte by byte, its bytes before this LF would
            # have crossed them before the LF was seen.
            if pos == start:
                if lf - start - (data[lf - 1] == _CR) > limits.max_request_line:
                    raise RemoteProtocolError("request line too long", 414)
            elif lf - (start + self._fields_start) > limits.max_header_bytes:
                raise RemoteProtocolError("header section too large", 431)
            if data[lf - 1] != _CR:
                raise RemoteProtocolError("bare LF line ending in request head")
            if pos == start:
                line = data[start : lf - 1].decode("latin-1")
                match = _REQUEST_LINE_MATCH(line + "\r\n")
                if match is None:
                    raise diagnose_request_line(line, limits)
                # Refuse a bad target now, not after the rest of the head.
                check_request_target(match.group(1), match.group(2))
                self._fields_start = lf + 1 - start
            elif lf - 1 == pos:
                request = parse_head(data, start, lf + 1, limits)
                buf.skip(lf + 1 - start)
                self.reset()
                return request
            else:
                self._fields += 1
                if self._fields > limits.max_header_count:
                    raise RemoteProtocolError("too many header fields", 431)
                if lf + 1 - (start + self._fields_start) > limits.max_header_bytes:
                    raise RemoteProtocolError("header section too large", 431)
            pos = search = lf + 1
        self._line_start = pos - start
        self._searched = size - start
        if pos == start:
            pending = size - start
            if data[size - 1] == _CR:
                pending -= 1  # may be the CR of the CRLF
            if pending > limits.max_request_line:
                raise RemoteProtocolError("request line too long", 414)
        elif size - (start + self._fields_start) > limits.max_header_bytes:
            raise RemoteProtocolError("header section too large", 431)
        return None


class ContentLengthReader:
    """Reads a body of known length.

    Attributes:
        remaining: body bytes not yet read.
    """

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    @property
    def done(self) -> bool:
        """Whether the whole body has been read."""
        return self.remaining == 0

    def maybe_read(self, buf: ReceiveBuffer) -> Union[Data, EndOfMessage, None]:
        """Return the buffered part of the body as Data, EndOfMessage at its end, or None."""
        data = self.read(buf, -1)
        if data is None:
            return None
        return _new_data(data) if data else END_OF_MESSAGE

    def read(self, buf: ReceiveBuffer, max_bytes: int) -> Optional[bytes]:
        """Return up to ``max_bytes`` (all if negative) buffered body bytes; see ``read_body``."""
        remaining = self.remaining
        if remaining == 0:
            return b""
        available = len(buf.data) - buf.start
        if available == 0:
            return None
        n = remaining if available >= remaining else available
        if 0 < max_bytes < n:
            n = max_bytes
        self.remaining = remaining - n
        return buf.take(n)


# ChunkedReader states
_SIZE_LINE = 0  # expecting chunk-size [chunk-ext] CRLF
_CHUNK_DATA = 1  # inside chunk-data; self._remaining bytes left
_CHUNK_END = 2  # expecting the CRLF that closes chunk-data
_TRAILERS = 3  # after last-chunk: expecting trailer fields and the final CRLF
_DONE = 4


class ChunkedReader:
    """Reads a body in the chunked transfer coding (RFC 9112 §7.1).

    Trailer fields are checked (grammar, limits, and :data:`headers.FORBIDDEN_TRAILERS`), then
    dropped.
    """

    __slots__ = ("_limits", "_remaining", "_searched", "_state")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._state = _SIZE_LINE
        self._remaining = 0
        self._searched = 0

    @property
    def done(self) -> bool:
        """Whether the last chunk and the trailer section have been read."""
        return self._state == _DONE

    def maybe_read(self, buf: ReceiveBuffer) -> Union[Data, EndOfMessage, None]:
        """Return the next piece of chunk data, EndOfMessage after the trailers, or None."""
        while True:
            state = self._state
            if state == _CHUNK_DATA:
                available = len(buf.data) - buf.start
                if available == 0:
                    return None
                remaining = self._remaining
                n = remaining if available >= remaining else available
                if n == remaining:
                    self._state = _CHUNK_END
                self._remaining = remaining - n
                return _new_data(buf.take(n))
            if not self._advance(buf):
                return None
            if self._state == _DONE:
                return END_OF_MESSAGE

    def read(self, buf: ReceiveBuffer, max_bytes: int) -> Optional[bytes]:
        """Return up to ``max_bytes`` (all if negative) buffered body bytes; see ``read_body``.

        Unlike :meth:`maybe_read` this crosses chunk boundaries, so a body that arrived in one
        piece is returned in one piece.
        """
        pieces: List[bytes] = []
        want = max_bytes
        while True:
            state = self._state
            if state == _CHUNK_DATA:
                available = len(buf.data) - buf.start
                if available == 0:
                    break
                remaining = self._remaining
                n = remaining if available >= remaining else available
                if 0 < want < n:
                    n = want
                if n == remaining:
                    self._state = _CHUNK_END
                self._remaining = remaining - n
                pieces.append(buf.take(n))
                if want > 0:
                    want -= n
                    if want == 0:
                        break
            elif state == _DONE or not self._advance(buf):
                break
        if pieces:
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return b"" if self._state == _DONE else None

    def _advance(self, buf: ReceiveBuffer) -> bool:
        """Consume framing (size line, chunk CRLF or trailers); False if more bytes are needed."""
        state = self._state
        if state == _SIZE_LINE:
            size = self._maybe_size_line(buf)
            if size is None:
                return False
            if size:
                self._remaining = size
                self._state = _CHUNK_DATA
            else:
                self._state = _TRAILERS
            return True
        if state == _CHUNK_END:
            data = buf.data
            start = buf.start
            available = len(data) - start
            if available >= 2:
                if data[start] != _CR or data[start + 1] != _LF:
                    raise RemoteProtocolError("chunk data not followed by CRLF")
                buf.skip(2)
                self._state = _SIZE_LINE
                return True
            if available == 1 and data[start] != _CR:
                raise RemoteProtocolError("chunk data not followed by CRLF")
            return False
        if state == _TRAILERS:
            if not self._maybe_trailers(buf):
                return False
            self._state = _DONE
            return True
        raise AssertionError(f"unexpected chunked reader state {state}")  # pragma: no cover

    def _maybe_size_line(self, buf: ReceiveBuffer) -> Optional[int]:
        data = buf.data
        start = buf.start
        size = len(data)
        if size == start:
            return None
        # chunk-size (16 hex digits at most) + extensions + CRLF
        max_line = 18 + self._limits.max_chunk_ext_bytes
        if data[start] not in _HEXDIG_BYTES:
            raise RemoteProtocolError("invalid chunk size")
        lf = data.find(b"\n", start + self._searched)
        if lf < 0:
            if size - start >= max_line:
                raise RemoteProtocolError("chunk-size line too long")
            self._searched = size - start
            return None
        self._searched = 0
        if lf + 1 - start > max_line:
            raise RemoteProtocolError("chunk-size line too long")
        match = _CHUNK_LINE_FULLMATCH(data, start, lf + 1)
        if match is None:
            raise RemoteProtocolError("malformed chunk-size line")
        if lf - 1 - match.end(1) > self._limits.max_chunk_ext_bytes:
            raise RemoteProtocolError("chunk extensions too long")
        chunk_size = int(match.group(1), 16)
        buf.skip(lf + 1 - start)
        return chunk_size

    def _maybe_trailers(self, buf: ReceiveBuffer) -> bool:
        data = buf.data
        start = buf.start
        size = len(data)
        if size - start < 2:
            if size > start and data[start] != _CR:
                if data[start] not in TCHAR_BYTES:
                    raise RemoteProtocolError("malformed trailer section")
            return False
        if data[start] == _CR and data[start + 1] == _LF:
            buf.skip(2)  # no trailer fields
            return True
        if data[start] not in TCHAR_BYTES:
            raise RemoteProtocolError("malformed trailer section")
        limits = self._limits
        searched = self._searched
        end = data.find(b"\r\n\r\n", start + (searched - 3 if searched > 3 else 0))
        if end < 0:
            if size - start > limits.max_trailer_bytes:
                raise RemoteProtocolError("trailer section too large", 431)
            if data.find(b"\n\n", start + (searched - 1 if searched > 1 else 0)) >= 0:
                raise RemoteProtocolError("bare LF in trailer section")
            self._searched = size - start
            return False
        self._searched = 0
        if end + 4 - start > limits.max_trailer_bytes:
            raise RemoteProtocolError("trailer section too large", 431)
        block = data[start : end + 2].decode("latin-1")
        if block.count("\n") > limits.max_header_count:
            raise RemoteProtocolError("too many trailer fields", 431)
        check_trailers(parse_field_lines(block))  # checked, then dropped
        buf.skip(end + 4 - start)
        return True
