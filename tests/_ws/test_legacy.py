"""legacy: hixie-76's key computation and framing (used only when explicitly enabled)."""

from __future__ import annotations

import pytest

from greenlane._ws import (
    CLOSED,
    NEED_DATA,
    Close,
    HandshakeError,
    LegacyConnection,
    Limits,
    LocalProtocolError,
    Message,
    RemoteProtocolError,
)
from greenlane._ws.legacy import response_key


def test_response_key_draft_example() -> None:
    # draft-hixie-thewebsocketprotocol-76 §1.3.
    assert response_key("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00",
                        b"^n:ds[4U") == b"8jKS'y:G*Co,Wxa-"


@pytest.mark.parametrize("key1,key3", [("123", b"12345678"), ("no digits ", b"12345678"),
                                       ("7 1 ", b"12345678"), ("1 2", b"short")])
def test_bad_keys(key1: str, key3: bytes) -> None:
    with pytest.raises(HandshakeError):
        response_key(key1, "1 2", key3)


def feed(conn: LegacyConnection, data: bytes, bytewise: bool) -> list:
    out: list = []
    chunks = [data[i:i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        conn.receive_data(chunk)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                break
            out.append(event)
            if event is CLOSED:
                return out
    return out


@pytest.mark.parametrize("bytewise", [False, True])
def test_messages_and_closing(bytewise: bool) -> None:
    conn = LegacyConnection()
    data = b"\x00hello\xff\x00\xff\x00h\xc3\xa9\xff\xff\x00"
    assert feed(conn, data, bytewise) == [Message("hello"), Message(""), Message("hé"),
                                          Close(1005, ""), CLOSED]


@pytest.mark.parametrize("data,code", [(b"\x80\x00", 1002), (b"\xff\x01", 1002),
                                       (b"\x00\xc3\xff", 1007)])
def test_errors(data: bytes, code: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        feed(LegacyConnection(), data, False)
    assert info.value.close_code == code


def test_message_size_is_bounded() -> None:
    conn = LegacyConnection(limits=Limits(max_message_size=10))
    with pytest.raises(RemoteProtocolError) as info:
        feed(conn, b"\x00" + b"x" * 11, True)
    assert info.value.close_code == 1009


def test_eof_without_closing_is_1006() -> None:
    conn = LegacyConnection()
    conn.receive_data(b"\x00partial")
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.close_code == 1006


def test_sending() -> None:
    conn = LegacyConnection()
    assert conn.send_data("hé") == b"\x00h\xc3\xa9\xff"
    with pytest.raises(LocalProtocolError):
        conn.send_data(b"\xff")
    with pytest.raises(LocalProtocolError):
        conn.send_data("x", fin=False)
    assert conn.send_close() == b"\xff\x00"
    with pytest.raises(LocalProtocolError):
        conn.send_data("late")
    assert LegacyConnection(75).send_close() == b""
