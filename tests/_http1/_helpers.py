"""Drivers shared by the _http1 tests: feed bytes three ways and collect what comes out."""

from __future__ import annotations

from typing import List, Optional, Union

import pytest

from greenlane._http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    Event,
    Limits,
    RemoteProtocolError,
    ServerConnection,
)

Result = Union[Event, str]

TRAILING = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"


def drain(conn: ServerConnection) -> List[Result]:
    """Events until NEED_DATA, PAUSED (recorded as "PAUSED") or ConnectionClosed."""
    out: List[Result] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return out
        if event is PAUSED:
            out.append("PAUSED")
            return out
        out.append(event)  # type: ignore[arg-type]
        if type(event) is ConnectionClosed:
            return out


def merge_data(events: List[Result]) -> List[Result]:
    """Join consecutive Data events, so that byte-by-byte and whole feeding compare equal."""
    out: List[Result] = []
    for event in events:
        if type(event) is Data and out and type(out[-1]) is Data:
            out[-1] = Data(out[-1].data + event.data)  # type: ignore[union-attr]
        else:
            out.append(event)
    return out


def feed_whole(data: bytes, limits: Optional[Limits] = None, eof: bool = False) -> List[Result]:
    conn = ServerConnection(limits)
    conn.receive_data(data)
    events = drain(conn)
    if eof and events[-1:] != ["PAUSED"]:
        conn.receive_data(b"")
        events += drain(conn)
    return merge_data(events)


def feed_bytewise(data: bytes, limits: Optional[Limits] = None, eof: bool = False) -> List[Result]:
    conn = ServerConnection(limits)
    events: List[Result] = []
    for i in range(len(data)):
        conn.receive_data(data[i : i + 1])
        events += drain(conn)
        if events[-1:] == ["PAUSED"]:
            assert i == len(data) - 1, "request ended before its last byte"
    if eof and events[-1:] != ["PAUSED"]:
        conn.receive_data(b"")
        events += drain(conn)
    return merge_data(events)


def tr(data: bytes, expected: List[Result], limits: Optional[Limits] = None) -> None:
    """Check that ``data`` gives ``expected`` fed whole, byte by byte, and followed by pipelined
    bytes, which must stay buffered untouched (h11's ``tr()`` idea)."""
    assert feed_whole(data, limits) == expected
    assert feed_bytewise(data, limits) == expected
    conn = ServerConnection(limits)
    conn.receive_data(data + TRAILING)
    assert merge_data(drain(conn)) == expected
    if expected[-1:] == ["PAUSED"]:
        assert conn.trailing_data == (TRAILING, False)


def tr_error(
    data: bytes,
    status: int = 400,
    limits: Optional[Limits] = None,
    match: Optional[str] = None,
    at_eof: bool = False,
) -> None:
    """Check that ``data`` is rejected with ``status`` fed whole, byte by byte and followed by
    more bytes, and, unless ``at_eof``, without waiting for the client to close."""
    for feeder in (feed_whole, feed_bytewise):
        with pytest.raises(RemoteProtocolError, match=match) as info:
            feeder(data, limits, eof=at_eof)
        assert info.value.error_status_hint == status, feeder.__name__
    if not at_eof:
        conn = ServerConnection(limits)
        conn.receive_data(data + TRAILING)
        with pytest.raises(RemoteProtocolError) as info:
            drain(conn)
        assert info.value.error_status_hint == status
