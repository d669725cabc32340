"""Drivers for the _ws tests: frames built independently of the code under test, and feeding
bytes whole and one byte at a time."""

from __future__ import annotations

import struct
from typing import List, Optional, Union

import pytest

from greenlane._ws import (
    CLOSED,
    NEED_DATA,
    Connection,
    DeflateParams,
    Limits,
    RemoteProtocolError,
)
from greenlane._ws.events import Close, Event

Result = Union[Event, str]

KEY = b"\x37\xfa\x21\x3d"


def frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0,
          mask: Optional[bytes] = KEY, length: Optional[int] = None,
          long_form: Optional[int] = None) -> bytes:
    """One frame per RFC 6455 §5.2, written from the RFC, not with greenlane's encoder.

    ``rsv`` is the three RSV bits as a number (4 = RSV1); ``length`` overrides the payload
    length field's value; ``long_form`` forces the 16-bit (126) or 64-bit (127) form.
    """
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    mask_bit = 0x80 if mask is not None else 0
    if long_form == 127 or (long_form is None and n > 0xFFFF):
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    elif long_form == 126 or (long_form is None and n > 125):
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BB", first, mask_bit | n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def unframe(data: bytes) -> List[tuple[int, int, bytes]]:
    """Decode frames (as a test oracle): [(first byte, mask bit, unmasked payload)]."""
    out = []
    pos = 0
    while pos < len(data):
        first, second = data[pos], data[pos + 1]
        n = second & 0x7F
        pos += 2
        if n == 126:
            n = struct.unpack_from("!H", data, pos)[0]
            pos += 2
        elif n == 127:
            n = struct.unpack_from("!Q", data, pos)[0]
            pos += 8
        mask = None
        if second & 0x80:
            mask = data[pos:pos + 4]
            pos += 4
        payload = data[pos:pos + n]
        pos += n
        if mask is not None:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        out.append((first, second & 0x80, payload))
    return out


def drain(conn: Connection) -> List[Result]:
    """Events until NEED_DATA; CLOSED is recorded as "CLOSED" and ends the list."""
    out: List[Result] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return out
        if event is CLOSED:
            out.append("CLOSED")
            return out
        out.append(event)  # type: ignore[arg-type]
        if type(event) is Close:
            out += drain(conn)
            return out


def make(client: bool = False, limits: Optional[Limits] = None,
         deflate: Optional[DeflateParams] = None) -> Connection:
    return Connection(client=client, limits=limits, deflate=deflate)


def feed_whole(data: bytes, eof: bool = False, **kw: object) -> List[Result]:
    conn = make(**kw)  # type: ignore[arg-type]
    conn.receive_data(data)
    out = drain(conn)
    if eof and out[-1:] != ["CLOSED"]:
        conn.receive_data(b"")
        out += drain(conn)
    return out


def feed_bytewise(data: bytes, eof: bool = False, **kw: object) -> List[Result]:
    conn = make(**kw)  # type: ignore[arg-type]
    out: List[Result] = []
    for i in range(len(data)):
        conn.receive_data(data[i:i + 1])
        out += drain(conn)
        if out[-1:] == ["CLOSED"]:
            return out  # what follows the peer's Close is ignored
    if eof and out[-1:] != ["CLOSED"]:
        conn.receive_data(b"")
        out += drain(conn)
    return out


def tr(data: bytes, expected: List[Result], **kw: object) -> None:
    """``data`` gives ``expected`` fed whole, byte by byte, and in two halves with a partial
    frame left over (which must stay buffered, not be misread)."""
    assert feed_whole(data, **kw) == expected
    assert feed_bytewise(data, **kw) == expected
    conn = make(**kw)  # type: ignore[arg-type]
    half = len(data) // 2
    conn.receive_data(data[:half])
    out = drain(conn)
    if half < len(data):
        conn.receive_data(data[half:])
        out += drain(conn)
    assert out == expected


def tr_error(data: bytes, code: int, match: Optional[str] = None, eof: bool = False,
             **kw: object) -> None:
    """``data`` fails the connection with ``code``, fed whole and byte by byte, and the error
    is sticky."""
    for feeder in (feed_whole, feed_bytewise):
        with pytest.raises(RemoteProtocolError, match=match) as info:
            feeder(data, eof=eof, **kw)
        assert info.value.close_code == code, feeder.__name__
    conn = make(**kw)  # type: ignore[arg-type]
    conn.receive_data(data)
    if eof:
        conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        drain(conn)
    assert conn.failed
    with pytest.raises(RemoteProtocolError) as again:
        conn.next_event()
    assert again.value.close_code == code
