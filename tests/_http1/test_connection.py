"""ServerConnection: the state machine on both sides and the sending API."""

from __future__ import annotations

import pytest

from greenlane._http1 import (
    CLOSED,
    DONE,
    ERROR,
    IDLE,
    MUST_CLOSE,
    NEED_DATA,
    PAUSED,
    SEND_BODY,
    SEND_RESPONSE,
    ConnectionClosed,
    EndOfMessage,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    ServerConnection,
)
from greenlane._http1.state import OUR_TRANSITIONS, THEIR_TRANSITIONS, transition

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def connection_with(data: bytes) -> tuple[ServerConnection, Request]:
    conn = ServerConnection()
    conn.receive_data(data)
    event = conn.next_event()
    assert type(event) is Request
    return conn, event


def test_a_full_cycle_follows_the_tables() -> None:
    conn = ServerConnection()
    assert (conn.their_state, conn.our_state) == (IDLE, IDLE)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(GET + GET)
    assert type(conn.next_event()) is Request
    assert conn.their_state is THEIR_TRANSITIONS[IDLE, "request-without-body"]
    assert conn.our_state is OUR_TRANSITIONS[IDLE, "request-received"] is SEND_RESPONSE
    assert type(conn.next_event()) is EndOfMessage
    assert conn.next_event() is PAUSED
    conn.send_response(200, "OK", [("Content-Length", "2")])
    assert conn.our_state is OUR_TRANSITIONS[SEND_RESPONSE, "response"] is SEND_BODY
    assert conn.send_data(b"ok") == b"ok"
    assert conn.send_eom() == b""
    assert conn.our_state is OUR_TRANSITIONS[SEND_BODY, "end-of-message"] is DONE
    conn.start_next_cycle()
    assert (conn.their_state, conn.our_state) == (IDLE, IDLE)
    assert type(conn.next_event()) is Request  # the pipelined one


def test_body_then_must_close() -> None:
    conn, req = connection_with(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                b"Connection: close\r\n\r\nabc")
    assert conn.their_state is SEND_BODY and conn.our_must_close
    assert conn.read_body() == b"abc"
    assert conn.their_body_complete and conn.their_state is DONE
    head = conn.send_response(200, "OK", [])
    assert b"Connection: close\r\n" in head and b"Transfer-Encoding: chunked" in head
    assert conn.send_data(b"hi") == b"2\r\nhi\r\n"
    assert conn.send_data(b"") == b""
    assert conn.send_eom() == b"0\r\n\r\n"
    assert conn.our_state is OUR_TRANSITIONS[SEND_BODY, "end-of-message-and-close"] is MUST_CLOSE
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()


def test_start_next_cycle_needs_both_sides_done() -> None:
    conn, _ = connection_with(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab")
    conn.send_response(200, "OK", [("Content-Length", "0")])
    conn.send_eom()
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()  # body not fully received


@pytest.mark.parametrize("call", [
    lambda c: c.send_data(b"x"),
    lambda c: c.send_eom(),
])
def test_sending_body_before_the_head_is_misuse(call: object) -> None:
    conn, _ = connection_with(GET)
    with pytest.raises(LocalProtocolError):
        call(conn)  # type: ignore[operator]
    assert conn.our_state is ERROR and conn.our_must_close


def test_response_before_a_request_is_misuse() -> None:
    conn = ServerConnection()
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, "OK", [])


def test_content_length_is_enforced_both_ways() -> None:
    conn, _ = connection_with(GET)
    conn.send_response(200, "OK", [("Content-Length", "3")])
    with pytest.raises(LocalProtocolError):
        conn.send_data(b"four")
    assert conn.our_state is ERROR
    conn, _ = connection_with(GET)
    conn.send_response(200, "OK", [("Content-Length", "3")])
    conn.send_data(b"ab")
    with pytest.raises(LocalProtocolError):
        conn.send_eom()


def test_head_discards_and_204_refuses_a_body() -> None:
    conn, _ = connection_with(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    conn.send_response(200, "OK", [])
    assert conn.send_data(b"dropped") == b""
    assert conn.send_eom() == b""
    conn, _ = connection_with(GET)
    conn.send_response(204, "No Content", [])
    assert conn.send_data(b"") == b""
    with pytest.raises(LocalProtocolError):
        conn.send_data(b"x")


def test_invalid_response_head_moves_to_error() -> None:
    conn, _ = connection_with(GET)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, "OK", [("X", "a\r\nb")])
    assert conn.our_state is ERROR and conn.our_must_close


def test_expect_100_continue() -> None:
    data = b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    conn, req = connection_with(data)
    assert req.expect_continue and conn.they_are_waiting_for_100_continue
    assert conn.send_continue() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert not conn.they_are_waiting_for_100_continue
    with pytest.raises(LocalProtocolError):
        conn.send_continue()
    conn.receive_data(b"ok")
    assert conn.read_body() == b"ok"
    head = conn.send_response(200, "OK", [("Content-Length", "0")])
    assert b"Connection" not in head
    # Answered without 100 and without the body: the client may still send it, so close.
    conn, _ = connection_with(data)
    head = conn.send_response(417, "Expectation Failed", [("Content-Length", "0")])
    assert b"Connection: close" in head and conn.our_must_close


def test_interim_and_switching_protocols() -> None:
    conn, _ = connection_with(GET + b"\x00websocket bytes")
    assert conn.send_response(103, "Early Hints", [("Link", "</a>")]).startswith(b"HTTP/1.1 103")
    assert conn.our_state is SEND_RESPONSE
    conn.send_response(101, "Switching Protocols", [("Upgrade", "x")])
    assert conn.our_state is MUST_CLOSE and conn.our_must_close
    assert conn.trailing_data == (b"\x00websocket bytes", False)


def test_close_after_response() -> None:
    conn, _ = connection_with(GET)
    conn.close_after_response()
    assert b"Connection: close" in conn.send_response(200, "OK", [("Content-Length", "0")])


def test_clean_eof_and_errors_are_sticky() -> None:
    conn = ServerConnection()
    conn.receive_data(b"")
    assert type(conn.next_event()) is ConnectionClosed
    assert conn.their_state is CLOSED
    assert type(conn.next_event()) is ConnectionClosed
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"more")
    conn = ServerConnection()
    conn.receive_data(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    for _ in range(2):
        with pytest.raises(RemoteProtocolError):
            conn.next_event()
    assert conn.their_state is ERROR and conn.our_must_close
    with pytest.raises(RemoteProtocolError):
        conn.read_body()


def test_read_body_misuse() -> None:
    conn = ServerConnection()
    with pytest.raises(LocalProtocolError):
        conn.read_body()
    conn, _ = connection_with(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")
    with pytest.raises(LocalProtocolError):
        conn.read_body(0)
    assert conn.read_body() is None
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.read_body()


def test_data_passthrough_for_sendfile() -> None:
    class Placeholder:
        def __len__(self) -> int:
            return 10

        def __bool__(self) -> bool:
            return True

    conn, _ = connection_with(GET)
    conn.send_response(200, "OK", [("Content-Length", "10")])
    marker = Placeholder()
    assert conn.send_data(marker) is marker  # type: ignore[arg-type]
    assert conn.send_eom() == b""


def test_missing_transition_is_a_local_protocol_error() -> None:
    with pytest.raises(LocalProtocolError, match="our state is DONE"):
        transition(OUR_TRANSITIONS, "our", DONE, "response")
    assert transition(THEIR_TRANSITIONS, "their", DONE, "next-cycle") is IDLE


def test_next_cycle_if_done_only_when_start_next_cycle_would_succeed() -> None:
    conn, _ = connection_with(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab")
    conn.send_response(200, "OK", [("Content-Length", "0")])
    conn.send_eom()
    assert conn.next_cycle_if_done() is False  # body not fully received: nothing changed
    assert (conn.their_state, conn.our_state) == (SEND_BODY, DONE)
    conn.receive_data(b"c" + GET)
    assert conn.read_body() == b"abc"
    assert conn.next_cycle_if_done() is True
    assert (conn.their_state, conn.our_state) == (IDLE, IDLE) and conn.request is None
    assert type(conn.next_event()) is Request  # the pipelined one
    assert conn.next_cycle_if_done() is False  # no response sent yet
    conn.send_response(200, "OK", [("Content-Length", "0"), ("Connection", "close")])
    conn.send_eom()
    assert conn.next_cycle_if_done() is False  # must close
    assert conn.our_state is MUST_CLOSE


def test_keep_alive_timeout_is_announced_in_whole_seconds() -> None:
    conn = ServerConnection(keep_alive_timeout=2.9)
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
    assert isinstance(conn.next_event(), Request)
    head = conn.send_response(200, "OK", [("Content-Length", "0")])
    assert b"\r\nConnection: keep-alive\r\nKeep-Alive: timeout=2\r\n\r\n" in head
    with pytest.raises(ValueError, match="keep_alive_timeout"):
        ServerConnection(keep_alive_timeout=-1)
