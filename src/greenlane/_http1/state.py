"""The connection state machine, as data.

Two sides are tracked separately: *theirs* (the client: request head, then body) and *ours*
(the server: response head, then body). Everything that moves a side from one state to another
is listed in :data:`THEIR_TRANSITIONS` and :data:`OUR_TRANSITIONS`, the specification the tests
hold ``ServerConnection`` to; on its hot paths ``ServerConnection`` assigns the target state
directly (each assignment names its table entry in a comment) and checks the source state
itself. A move missing from the tables is a LocalProtocolError naming the side, state and step.
``ERROR`` is sticky and is not in the tables: any protocol error moves that side there and
nothing moves it out.

Their side::

    IDLE --request--> SEND_BODY --end-of-message--> DONE --next-cycle--> IDLE
    IDLE --request-without-body--> DONE
    IDLE --eof--> CLOSED

Our side::

    IDLE --request-received--> SEND_RESPONSE --response--> SEND_BODY --end-of-message--> DONE
    SEND_RESPONSE --informational--> SEND_RESPONSE          (1xx other than 101)
    SEND_RESPONSE --switching-protocols--> MUST_CLOSE       (101: the connection leaves HTTP)
    SEND_BODY --end-of-message-and-close--> MUST_CLOSE
    DONE --next-cycle--> IDLE

A new request/response cycle starts only from DONE/DONE (``ServerConnection.start_next_cycle``);
``MUST_CLOSE`` means the response is complete but the connection cannot be reused.
"""

from __future__ import annotations

from typing import Dict, Final, Tuple

from .errors import LocalProtocolError

__all__ = [
    "CLOSED",
    "DONE",
    "ERROR",
    "IDLE",
    "MUST_CLOSE",
    "OUR_TRANSITIONS",
    "SEND_BODY",
    "SEND_RESPONSE",
    "THEIR_TRANSITIONS",
    "State",
    "transition",
]


class State:
    """A connection-side state; the instances below are the only ones. Compare with ``is``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


IDLE: Final = State("IDLE")
"""Between cycles: no request head yet (theirs), or no request to answer yet (ours)."""
SEND_RESPONSE: Final = State("SEND_RESPONSE")
"""Ours only: a request arrived and no final response head was sent yet."""
SEND_BODY: Final = State("SEND_BODY")
"""A head was exchanged and its body is in progress."""
DONE: Final = State("DONE")
"""The message of this cycle is complete; the connection may be reused."""
MUST_CLOSE: Final = State("MUST_CLOSE")
"""Ours only: the response is complete (or protocols were switched) and the connection must be
closed."""
CLOSED: Final = State("CLOSED")
"""Theirs only: the client closed the connection cleanly between requests."""
ERROR: Final = State("ERROR")
"""A protocol error happened on this side; sticky."""

Transitions = Dict[Tuple[State, str], State]

THEIR_TRANSITIONS: Final[Transitions] = {
    (IDLE, "request"): SEND_BODY,
    (IDLE, "request-without-body"): DONE,
    (IDLE, "eof"): CLOSED,
    (SEND_BODY, "end-of-message"): DONE,
    (DONE, "next-cycle"): IDLE,
}
"""``(their state, step) -> next state`` for the client side."""

OUR_TRANSITIONS: Final[Transitions] = {
    (IDLE, "request-received"): SEND_RESPONSE,
    (SEND_RESPONSE, "informational"): SEND_RESPONSE,
    (SEND_RESPONSE, "response"): SEND_BODY,
    (SEND_RESPONSE, "switching-protocols"): MUST_CLOSE,
    (SEND_BODY, "end-of-message"): DONE,
    (SEND_BODY, "end-of-message-and-close"): MUST_CLOSE,
    (DONE, "next-cycle"): IDLE,
}
"""``(our state, step) -> next state`` for the server side."""


def transition(table: Transitions, side: str, state: State, step: str) -> State:
    """Return the state that ``step`` leads to from ``state``.

    Raises:
        LocalProtocolError: the table has no such move (the caller asked for something
            illegal in this state, e.g. sending body before the response head).
    """
    try:
        return table[state, step]
    except KeyError:
        raise LocalProtocolError(f"cannot do {step!r} when {side} state is {state!r}") from None
