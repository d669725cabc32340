"""The state tables are the specification: every state change ServerConnection makes is in them.

``ServerConnection`` assigns its two states directly on hot paths (each assignment names its
table entry in a comment, see state.py). This test holds it to the tables: a subclass records
every assignment to ``_their_state`` and ``_our_state`` through properties that shadow the two
slots, and each recorded move must be a move of :data:`THEIR_TRANSITIONS` /
:data:`OUR_TRANSITIONS`, or a move into the sticky ``ERROR``. Scripted scenarios (keep-alive,
pipelining, bodies, 1.0, close, 100-continue, upgrade, EOF, errors on both sides) must between
them make every move of the tables, so the recording is known to see them all; a random walk
over the API then looks for moves the scenarios did not think of.
"""

from __future__ import annotations

import platform
from typing import Callable, List, Optional, Set, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    Limits,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    ServerConnection,
    State,
)
from greenlane._http1.state import OUR_TRANSITIONS, THEIR_TRANSITIONS, Transitions

Move = Tuple[str, Optional[State], State]

_THEIR_SLOT = ServerConnection.__dict__["_their_state"]
_OUR_SLOT = ServerConnection.__dict__["_our_state"]


def _slot_property(side: str, slot: object) -> property:
    def get(self: RecordingConnection) -> State:
        return slot.__get__(self, ServerConnection)  # type: ignore[attr-defined, no-any-return]

    def set_(self: RecordingConnection, new: State) -> None:
        try:
            old: Optional[State] = slot.__get__(self, ServerConnection)  # type: ignore[attr-defined]
        except AttributeError:
            old = None  # the assignment in __init__
        self.moves.append((side, old, new))
        slot.__set__(self, new)  # type: ignore[attr-defined]

    return property(get, set_)


class RecordingConnection(ServerConnection):
    """A ServerConnection that records every assignment to its two states."""

    __slots__ = ("moves",)

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.moves: List[Move] = []
        super().__init__(limits)

    _their_state = _slot_property("their", _THEIR_SLOT)
    _our_state = _slot_property("our", _OUR_SLOT)


TABLES = {"their": THEIR_TRANSITIONS, "our": OUR_TRANSITIONS}


def table_moves(table: Transitions) -> Set[Tuple[State, State]]:
    return {(source, target) for (source, _step), target in table.items()}


def check_moves(moves: List[Move]) -> Set[Move]:
    """Assert every move is allowed; return the set of moves seen."""
    for side, old, new in moves:
        if old is None:
            assert new is IDLE, f"{side} side starts in {new!r}, not IDLE"
        elif old is ERROR:
            assert new is ERROR, f"{side} side left the sticky ERROR for {new!r}"
        elif new is not ERROR:
            assert (old, new) in table_moves(TABLES[side]), (
                f"{side} side moved {old!r} -> {new!r}, which is not in the state table"
            )
    return set(moves)


# -- the checker itself --------------------------------------------------------------------------


def test_the_recorder_sees_assignments_and_the_checker_refuses_unlisted_moves() -> None:
    conn = RecordingConnection()
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert type(conn.next_event()) is Request
    assert ("our", IDLE, SEND_RESPONSE) in conn.moves
    assert conn.our_state is SEND_RESPONSE  # reads go through the real slot
    conn._our_state = DONE  # what a buggy send_response could do: skip SEND_BODY
    with pytest.raises(AssertionError, match="SEND_RESPONSE -> DONE"):
        check_moves(conn.moves)
    with pytest.raises(AssertionError, match="sticky"):
        check_moves([("their", ERROR, IDLE)])
    with pytest.raises(AssertionError, match="starts in"):
        check_moves([("our", None, DONE)])


# -- scripted scenarios that together make every move of the tables ------------------------------

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def respond(conn: ServerConnection, body: bytes = b"ok", headers: Optional[list] = None) -> None:  # type: ignore[type-arg]
    conn.send_response(200, "OK", headers if headers is not None else [])
    if body:
        conn.send_data(body)
    conn.send_eom()


def finish_request(conn: ServerConnection) -> None:
    while True:
        event = conn.next_event()
        if event is PAUSED or event is NEED_DATA:
            return


def keep_alive_pipelined(conn: RecordingConnection) -> None:
    conn.receive_data(GET + b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                      + b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n" + GET)
    for read in ("events", "events", "read_body", "events"):
        assert type(conn.next_event()) is Request
        if read == "read_body":
            while conn.read_body():
                pass
        finish_request(conn)
        respond(conn, headers=[("Content-Length", "2")])
        conn.start_next_cycle()
    conn.receive_data(b"")
    assert type(conn.next_event()) is ConnectionClosed


def close_requested(conn: RecordingConnection) -> None:
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finish_request(conn)
    respond(conn)
    assert conn.our_state is MUST_CLOSE


def http_10(conn: RecordingConnection) -> None:
    conn.receive_data(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                      b"POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nz")
    finish_request(conn)
    respond(conn, headers=[("Content-Length", "2")])
    conn.start_next_cycle()
    finish_request(conn)
    respond(conn)  # close-delimited
    assert conn.our_state is MUST_CLOSE


def interim_and_upgrade(conn: RecordingConnection) -> None:
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n"
                      b"\x00frames")
    finish_request(conn)
    conn.send_response(103, "Early Hints", [("Link", "</a>")])
    conn.send_response(100, "Continue", [])
    assert conn.our_state is OUR_TRANSITIONS[SEND_RESPONSE, "informational"]
    conn.send_response(101, "Switching Protocols", [("Upgrade", "ws")])
    assert conn.our_state is MUST_CLOSE


def expect_continue(conn: RecordingConnection) -> None:
    conn.receive_data(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      b"Expect: 100-continue\r\n\r\n")
    assert type(conn.next_event()) is Request
    conn.send_continue()
    conn.receive_data(b"hi")
    assert conn.read_body() == b"hi"
    respond(conn, headers=[("Content-Length", "2")])
    conn.start_next_cycle()
    conn.receive_data(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      b"Expect: 100-continue\r\n\r\n")
    assert type(conn.next_event()) is Request
    conn.send_response(417, "Expectation Failed", [("Content-Length", "0")])
    conn.send_eom()
    assert conn.our_state is MUST_CLOSE


def remote_error_in_head(conn: RecordingConnection) -> None:
    conn.receive_data(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def remote_error_in_body(conn: RecordingConnection) -> None:
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"3\r\nabc\r\n0\r\nHost: y\r\n\r\n")
    assert type(conn.next_event()) is Request
    with pytest.raises(RemoteProtocolError):
        finish_request(conn)
    # The response to the broken request still goes out, then the connection closes.
    respond(conn)
    assert conn.our_state is MUST_CLOSE


def eof_mid_body(conn: RecordingConnection) -> None:
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
    assert type(conn.next_event()) is Request
    conn.receive_data(b"")
    assert conn.read_body() == b"ab"
    with pytest.raises(RemoteProtocolError):
        conn.read_body()


def local_misuse(conn: RecordingConnection) -> None:
    conn.receive_data(GET + GET)
    finish_request(conn)
    conn.send_response(200, "OK", [("Content-Length", "1")])
    with pytest.raises(LocalProtocolError):
        conn.send_data(b"too long")
    with pytest.raises(LocalProtocolError):
        conn.send_eom()  # ERROR stays ERROR
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()


def bad_response_head(conn: RecordingConnection) -> None:
    conn.receive_data(GET)
    finish_request(conn)
    with pytest.raises(LocalProtocolError):
        conn.send_response(200, "OK", [("X", "a\r\nb")])
    assert conn.our_state is ERROR


def send_last_and_head(conn: RecordingConnection) -> None:
    conn.receive_data(GET + b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    finish_request(conn)
    conn.send_response(200, "OK", [("Content-Length", "3")])
    conn.send_last(b"abc")
    conn.start_next_cycle()
    finish_request(conn)
    conn.send_response(200, "OK", [])
    conn.send_last(b"dropped")
    conn.close_after_response()
    with pytest.raises(LocalProtocolError):
        conn.start_next_cycle()


SCENARIOS: List[Callable[[RecordingConnection], None]] = [
    keep_alive_pipelined, close_requested, http_10, interim_and_upgrade, expect_continue,
    remote_error_in_head, remote_error_in_body, eof_mid_body, local_misuse, bad_response_head,
    send_last_and_head,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario_moves_are_in_the_tables(scenario: Callable[[RecordingConnection], None]) -> None:
    conn = RecordingConnection()
    scenario(conn)
    check_moves(conn.moves)


def test_scenarios_make_every_move_of_the_tables() -> None:
    seen: Set[Move] = set()
    for scenario in SCENARIOS:
        conn = RecordingConnection()
        scenario(conn)
        seen |= check_moves(conn.moves)
    for side, table in TABLES.items():
        for source, target in table_moves(table):
            if source is target:
                continue  # a self-loop assigns nothing; interim_and_upgrade checks it holds
            assert (side, source, target) in seen, (
                f"no scenario makes {side} {source!r} -> {target!r}")
        assert any(s == side and new is ERROR for s, _, new in seen), f"{side} never errs"


# -- a random walk over the API ------------------------------------------------------------------

INPUTS = [
    GET, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", b"abc", b"ab",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"3\r\nabc\r\n",
    b"0\r\n\r\n", b"0\r\nHost: y\r\n\r\n",
    b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://h/p HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\n", b"GET foo HTTP/1.1\r\n",
    b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", b"G", b"ET / HTTP/1.1\r\nHo", b"st: x\r\n",
    b"\x16\x03\x01", b"",
]
STATUSES = [100, 101, 103, 200, 204, 304, 404, 417]
RESPONSE_HEADERS = [[], [("Content-Length", "0")], [("Content-Length", "3")],
                    [("Connection", "close")], [("X", "bad\r\nvalue")]]

actions = st.one_of(
    st.tuples(st.just("feed"), st.sampled_from(INPUTS)),
    st.tuples(st.just("next"), st.integers(1, 3)),
    st.tuples(st.just("read_body"), st.sampled_from([-1, 1, 2, 0])),
    st.tuples(st.just("respond"), st.sampled_from(STATUSES),
              st.integers(0, len(RESPONSE_HEADERS) - 1)),
    st.tuples(st.just("data"), st.sampled_from([b"", b"abc", b"abcdef"])),
    st.tuples(st.just("eom")),
    st.tuples(st.just("last"), st.sampled_from([b"", b"abc"])),
    st.tuples(st.just("continue")),
    st.tuples(st.just("close_after")),
    st.tuples(st.just("next_cycle")),
)


def apply(conn: ServerConnection, action: tuple) -> None:  # type: ignore[type-arg]
    kind = action[0]
    if kind == "feed":
        conn.receive_data(action[1])
    elif kind == "next":
        for _ in range(action[1]):
            conn.next_event()
    elif kind == "read_body":
        conn.read_body(action[1])
    elif kind == "respond":
        conn.send_response(action[1], "R", RESPONSE_HEADERS[action[2]])
    elif kind == "data":
        conn.send_data(action[1])
    elif kind == "eom":
        conn.send_eom()
    elif kind == "last":
        conn.send_last(action[1])
    elif kind == "continue":
        conn.send_continue()
    elif kind == "close_after":
        conn.close_after_response()
    else:
        conn.start_next_cycle()


WALK = settings(max_examples=400 if platform.python_implementation() == "CPython" else 120,
                deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plausible_actions(conn: ServerConnection) -> List[tuple]:  # type: ignore[type-arg]
    """What a server (or its client) might do next in this state; empty when it would stop."""
    their, our = conn.their_state, conn.our_state
    if our in (MUST_CLOSE, ERROR) or their in (CLOSED, ERROR):
        return []
    # Repeats weight the common steps: well-formed requests, complete responses, next cycle.
    options: List[tuple] = [("next", 1), ("next", 3)]  # type: ignore[type-arg]
    if their is IDLE:
        options += [("feed", data) for data in INPUTS] + [("feed", GET)] * 8
    elif their is SEND_BODY:
        options += [("feed", b"abc"), ("feed", b"3\r\nabc\r\n"), ("feed", b"0\r\n\r\n"),
                    ("feed", b""), ("read_body", -1), ("read_body", 1), ("continue",)]
    if our is SEND_RESPONSE:
        options += [("respond", status, i) for status in STATUSES
                    for i in range(len(RESPONSE_HEADERS))]
        options += [("respond", 200, 0), ("respond", 200, 1)] * 10
    elif our is SEND_BODY:
        options += [("data", b"abc"), ("close_after",)] + [("eom",), ("last", b"")] * 4
    elif our is DONE and their is DONE:
        options += [("next_cycle",)] * 8
    return options


@WALK
@given(st.data())
def test_random_api_walk_moves_are_in_the_tables(data: st.DataObject) -> None:
    # Mostly plausible steps, so that walks get deep into cycles; one step in 16 is any
    # call at all, usually a misuse, which must move only into ERROR.
    conn = RecordingConnection()
    for _ in range(data.draw(st.integers(1, 60))):
        options = plausible_actions(conn)
        if not options:
            break
        if data.draw(st.integers(0, 15)) == 0:
            action = data.draw(actions)
        else:
            action = data.draw(st.sampled_from(options))
        try:
            apply(conn, action)
        except (LocalProtocolError, RemoteProtocolError):
            pass  # misuse and bad input are part of the walk; the moves they make are checked
        check_moves(conn.moves)


@WALK
@given(st.lists(st.sampled_from(INPUTS[:-1]), min_size=1, max_size=8), st.booleans())
def test_server_loop_moves_are_in_the_tables(inputs: List[bytes], eof: bool) -> None:
    # The loop a server runs: feed everything, answer each request, cycle while allowed.
    conn = RecordingConnection()
    conn.receive_data(b"".join(inputs))
    if eof:
        conn.receive_data(b"")
    try:
        for _ in range(50):
            event = conn.next_event()
            if type(event) is Request:
                if event.expect_continue and conn.they_are_waiting_for_100_continue:
                    conn.send_continue()
                respond(conn, headers=[("Content-Length", "2")])
            elif event is PAUSED:
                if conn.our_must_close:
                    break
                conn.start_next_cycle()
            elif event is NEED_DATA or type(event) is ConnectionClosed:
                break
    except RemoteProtocolError:
        if conn.our_state is SEND_RESPONSE:
            respond(conn)  # the server still answers the request it got
    check_moves(conn.moves)
    assert conn.their_state in (IDLE, SEND_BODY, DONE, CLOSED, ERROR)
