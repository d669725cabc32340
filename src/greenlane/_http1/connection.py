"""ServerConnection: the server side of one HTTP/1.1 connection, without any I/O.

The caller moves bytes; this object says what they mean and what to send back::

    conn = ServerConnection()
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            conn.receive_data(sock.recv(65536))     # b"" on EOF
        elif type(event) is Request:
            ...                                     # run the application
            sock.sendall(conn.send_response(200, "OK", headers) + conn.send_data(body)
                         + conn.send_eom())
        elif event is PAUSED:
            if conn.our_must_close: break
            conn.start_next_cycle()                 # pipelined bytes stay buffered
        elif type(event) is ConnectionClosed:
            break
        # Data / EndOfMessage: request body, when not read with read_body()

Receiving: ``next_event()`` yields one Request, then its body as Data events and one
EndOfMessage (right after the Request when there is no body), then PAUSED until
``start_next_cycle()``. ``read_body()`` is a faster alternative to the body events.

Sending: ``send_response()`` once (after any number of 1xx heads), ``send_data()`` any number
of times, ``send_eom()`` once. Each returns the bytes to write; nothing is buffered here.

Errors: RemoteProtocolError from the receiving methods (sticky: every later receive raises it
again); LocalProtocolError from misuse of the API, after which the response is broken and the
connection must be closed. See errors.py.
"""

from __future__ import annotations

from typing import Iterable, Optional, Tuple, Union

from .buffer import ReceiveBuffer
from .errors import LocalProtocolError, RemoteProtocolError
from .events import (
    CONNECTION_CLOSED,
    END_OF_MESSAGE,
    NEED_DATA,
    PAUSED,
    Event,
    Request,
    Sentinel,
)
from .limits import Limits
from .readers import ChunkedReader, ContentLengthReader, HeadReader
from .state import (
    CLOSED,
    DONE,
    ERROR,
    IDLE,
    MUST_CLOSE,
    OUR_TRANSITIONS,
    SEND_BODY,
    SEND_RESPONSE,
    State,
    transition,
)
from .writers import (
    FRAMING_CHUNKED,
    FRAMING_CLOSE,
    FRAMING_HEAD,
    FRAMING_LENGTH,
    encode_chunk,
    encode_informational_head,
    encode_response_head,
)

__all__ = ["ServerConnection"]

_DEFAULT_LIMITS = Limits()
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LAST_CHUNK = b"0\r\n\r\n"


class ServerConnection:
    """Parse requests from, and encode responses to, one client connection (sans-IO).

    Like h11's ``Connection(our_role=SERVER)`` but server-only, with str fields, the framing
    and keep-alive decisions precomputed on :class:`Request`, and a ``read_body()`` fast path.
    Not thread-safe; one connection belongs to one green thread.

    Args:
        limits: size limits for request heads, chunk lines and trailers (default
            :class:`Limits()`).
        keep_alive_timeout: the server's idle timeout in seconds, announced as
            ``Keep-Alive: timeout=N`` (rounded down) with ``Connection: keep-alive``; None
            announces none.
    """

    __slots__ = (
        "_body_reader",
        "_body_started",
        "_buf",
        "_eom_pending",
        "_error",
        "_framing",
        "_head_reader",
        "_keep_alive_field",
        "_limits",
        "_must_close",
        "_our_state",
        "_remaining",
        "_request",
        "_sent_continue",
        "_their_state",
    )

    def __init__(self, limits: Optional[Limits] = None,
                 keep_alive_timeout: Optional[float] = None) -> None:
        self._limits = _DEFAULT_LIMITS if limits is None else limits
        if keep_alive_timeout is not None and not keep_alive_timeout >= 0:
            raise ValueError(f"keep_alive_timeout must be >= 0 or None, not "
                             f"{keep_alive_timeout!r}")
        # Whole seconds, rounded down: the hint must never promise more than the server keeps.
        self._keep_alive_field = ("" if keep_alive_timeout is None
                                  else f"Keep-Alive: timeout={int(keep_alive_timeout)}\r\n")
        self._buf = ReceiveBuffer()
        self._head_reader = HeadReader(self._limits)
        self._body_reader: Union[ContentLengthReader, ChunkedReader, None] = None
        self._their_state: State = IDLE
        self._our_state: State = IDLE
        self._request: Optional[Request] = None
        self._eom_pending = False
        self._body_started = False
        self._sent_continue = False
        self._must_close = False
        self._framing = FRAMING_LENGTH
        self._remaining = 0
        self._error: Tuple[str, int] = ("", 400)

    # -- inspection ---------------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        """The limits this connection enforces."""
        return self._limits

    @property
    def their_state(self) -> State:
        """The client side's state (see state.py)."""
        return self._their_state

    @property
    def our_state(self) -> State:
        """The server side's state (see state.py)."""
        return self._our_state

    @property
    def request(self) -> Optional[Request]:
        """The request of the current cycle, or None before its head was parsed."""
        return self._request

    @property
    def their_body_complete(self) -> bool:
        """True once the whole request body (possibly empty) has been received."""
        return self._their_state is DONE

    @property
    def has_pending_data(self) -> bool:
        """True when received bytes are buffered that ``next_event()`` has not consumed yet
        (a pipelined request, or the rest of a body). When False after
        ``start_next_cycle()``, ``next_event()`` would return NEED_DATA, so a server can go
        straight to receiving."""
        buf = self._buf
        return len(buf.data) != buf.start

    @property
    def our_must_close(self) -> bool:
        """True if the connection must be closed after the current response.

        Set by: a client that does not allow keep-alive, ``close_after_response()``, a
        close-delimited response body, ``Connection: close`` from the application, an
        ``Expect: 100-continue`` request answered without 100 before its body arrived, a 101
        response, the client's EOF, and any protocol error on either side.
        """
        return self._must_close

    @property
    def they_are_waiting_for_100_continue(self) -> bool:
        """True while ``send_continue()`` is allowed: the client sent ``Expect: 100-continue``,
        no response (interim or final) has been sent for it, and no body byte was consumed."""
        request = self._request
        return (
            request is not None
            and request.expect_continue
            and not self._sent_continue
            and not self._body_started
            and self._our_state is SEND_RESPONSE
            and self._their_state is SEND_BODY
        )

    @property
    def trailing_data(self) -> Tuple[bytes, bool]:
        """``(unconsumed bytes, EOF received)``: what follows the current request.

        After a 101 response these are the first bytes of the new protocol.
        """
        buf = self._buf
        return bytes(buf.data[buf.start :]), buf.eof

    # -- receiving ----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the client; ``b""`` means the client closed its side.

        Call it only after ``next_event()`` returned NEED_DATA or ``read_body()`` returned
        None, so that a client pipelining aggressively cannot grow the buffer without bound.

        Raises:
            LocalProtocolError: data after EOF was already reported.
        """
        buf = self._buf
        if buf.eof:
            raise LocalProtocolError("receive_data() called after EOF")
        if data:
            if self._their_state is not ERROR:
                buf.feed(data)
        else:
            buf.eof = True
            self._must_close = True

    def next_event(self) -> Union[Event, Sentinel]:
        """Parse and return the next event, or NEED_DATA, or PAUSED.

        Returns:
            a :class:`Request`; then :class:`Data` events and one :class:`EndOfMessage`; then
            PAUSED until :meth:`start_next_cycle`. NEED_DATA when more bytes are needed;
            :class:`ConnectionClosed` when the client closed cleanly between requests (and on
            every later call).

        Raises:
            RemoteProtocolError: the client sent something invalid, or closed the connection
                in the middle of a request. Sticky: later calls raise it again.
        """
        state = self._their_state
        if state is SEND_BODY:
            reader = self._body_reader
            assert reader is not None
            try:
                event = reader.maybe_read(self._buf)
            except RemoteProtocolError as exc:
                self._fail(exc)
                raise
            if event is None:
                if self._buf.eof:
                    raise self._fail(RemoteProtocolError("client closed the connection mid-body"))
                return NEED_DATA
            if event is END_OF_MESSAGE:
                self._their_state = DONE  # THEIR_TRANSITIONS[SEND_BODY, "end-of-message"]
            else:
                self._body_started = True
            return event
        if state is IDLE:
            try:
                request = self._head_reader.maybe_read(self._buf)
            except RemoteProtocolError as exc:
                self._fail(exc)
                raise
            if request is None:
                buf = self._buf
                if buf.eof:
                    if len(buf):
                        raise self._fail(
                            RemoteProtocolError("client closed the connection mid-request")
                        )
                    self._their_state = CLOSED  # THEIR_TRANSITIONS[IDLE, "eof"]
                    return CONNECTION_CLOSED
                return NEED_DATA
            self._begin_cycle(request)
            return request
        if state is DONE:
            if self._eom_pending:
                self._eom_pending = False
                return END_OF_MESSAGE
            return PAUSED
        if state is CLOSED:
            return CONNECTION_CLOSED
        raise RemoteProtocolError(*self._error)

    def read_body(self, max_bytes: int = -1) -> Optional[bytes]:
        """Return request body bytes that are already buffered, without Data events.

        Faster than ``next_event()`` for bodies: a chunked body that arrived whole comes back
        as one bytes object. Reaching the end of the body consumes the EndOfMessage event,
        so ``their_body_complete`` becomes True as soon as the last byte is returned.

        Args:
            max_bytes: return at most this many bytes; -1 (the default) for all buffered.

        Returns:
            non-empty bytes; ``b""`` if the body is complete; None if no body byte is
            buffered (call ``receive_data()``, then again).

        Raises:
            RemoteProtocolError: as for ``next_event()``.
            LocalProtocolError: called before a Request was returned, or max_bytes is 0.
        """
        state = self._their_state
        if state is SEND_BODY:
            if max_bytes == 0:
                raise LocalProtocolError("read_body(0) is ambiguous; ask for at least 1 byte")
            reader = self._body_reader
            assert reader is not None
            try:
                chunk = reader.read(self._buf, max_bytes)
            except RemoteProtocolError as exc:
                self._fail(exc)
                raise
            if chunk is None:
                if self._buf.eof:
                    raise self._fail(RemoteProtocolError("client closed the connection mid-body"))
                return None
            if reader.done:
                self._their_state = DONE  # THEIR_TRANSITIONS[SEND_BODY, "end-of-message"]
            self._body_started = True
            return chunk
        if state is DONE:
            self._eom_pending = False
            return b""
        if state is ERROR:
            raise RemoteProtocolError(*self._error)
        raise LocalProtocolError(f"no request body to read when their state is {state!r}")

    def _begin_cycle(self, request: Request) -> None:
        self._request = request
        if self._our_state is IDLE:
            self._our_state = SEND_RESPONSE  # OUR_TRANSITIONS[IDLE, "request-received"]
        else:
            self._our_state = transition(
                OUR_TRANSITIONS, "our", self._our_state, "request-received"
            )
        if request.chunked:
            self._body_reader = ChunkedReader(self._limits)
            self._their_state = SEND_BODY  # THEIR_TRANSITIONS[IDLE, "request"]
        elif request.content_length:
            self._body_reader = ContentLengthReader(request.content_length)
            self._their_state = SEND_BODY  # THEIR_TRANSITIONS[IDLE, "request"]
        else:
            self._their_state = DONE  # THEIR_TRANSITIONS[IDLE, "request-without-body"]
            self._eom_pending = True
        if not request.keep_alive:
            self._must_close = True

    def _fail(self, exc: RemoteProtocolError) -> RemoteProtocolError:
        self._their_state = ERROR
        self._must_close = True
        self._error = (str(exc), exc.error_status_hint)
        return exc

    # -- sending ------------------------------------------------------------------------------

    def _misuse(self, msg: str) -> LocalProtocolError:
        self._our_state = ERROR
        self._must_close = True
        return LocalProtocolError(msg)

    def send_continue(self) -> bytes:
        """Return ``HTTP/1.1 100 Continue``, telling an ``Expect: 100-continue`` client to send
        its body.

        Send it lazily, when the application first reads the body, and only while
        ``they_are_waiting_for_100_continue`` is True (i.e. before reading any body byte and
        before any response). A server that answers with a final status without sending 100
        gets ``Connection: close`` on that response, since the client may or may not send
        the body afterwards.

        Raises:
            LocalProtocolError: the client is not waiting for 100 Continue.
        """
        if not self.they_are_waiting_for_100_continue:
            raise LocalProtocolError("the client is not waiting for 100 Continue")
        self._sent_continue = True
        return _CONTINUE

    def send_response(
        self, status: int, reason: str, headers: Iterable[Tuple[str, str]]
    ) -> bytes:
        """Return the encoded response head, with the body framing chosen (see writers.py).

        A final status (200-599) moves to sending the body; a 1xx other than 101 can be sent
        any number of times before it and is encoded exactly as given. A 101 ends HTTP on this
        connection (``our_must_close``; ``trailing_data`` holds what the client sent after).

        Adds ``Date`` (unless given), ``Transfer-Encoding: chunked`` for an HTTP/1.1 response
        of unknown length, ``Connection: close`` whenever the connection will close, and
        ``Connection: keep-alive`` for a persistent HTTP/1.0 connection or a client that
        asked for it (with ``Keep-Alive: timeout=N`` given a ``keep_alive_timeout``).

        Raises:
            LocalProtocolError: not expecting a response now, or an invalid status, reason,
                field name or value. The connection must then be closed.
        """
        state = self._our_state
        if state is not SEND_RESPONSE:
            raise self._misuse(f"cannot send a response when our state is {state!r}")
        request = self._request
        assert request is not None
        if type(status) is int and status >= 200:
            close = self._must_close or (
                request.expect_continue
                and not self._sent_continue
                and self._their_state is not DONE
            )
            try:
                head, framing, length, close = encode_response_head(
                    status, reason, headers, request, close, self._keep_alive_field
                )
            except LocalProtocolError:
                self._our_state = ERROR
                self._must_close = True
                raise
            self._framing = framing
            self._remaining = length
            self._must_close = close
            self._our_state = SEND_BODY  # OUR_TRANSITIONS[SEND_RESPONSE, "response"]
            return head
        try:
            head = encode_informational_head(status, reason, headers)
        except LocalProtocolError:
            self._our_state = ERROR
            self._must_close = True
            raise
        if status == 101:
            self._our_state = MUST_CLOSE  # OUR_TRANSITIONS[SEND_RESPONSE, "switching-protocols"]
            self._must_close = True
        elif status == 100:
            self._sent_continue = True
        return head

    def send_data(self, data: bytes) -> bytes:
        """Return ``data`` framed for the response body (``b""`` for empty data).

        Chunked responses get one chunk per non-empty call (an empty call never produces the
        last-chunk marker); a HEAD response discards the data; a 204/304 refuses it.

        Raises:
            LocalProtocolError: no response head sent yet, body not allowed, or more bytes
                than the declared Content-Length.
        """
        if self._our_state is not SEND_BODY:
            raise self._misuse(f"cannot send body data when our state is {self._our_state!r}")
        framing = self._framing
        if framing == FRAMING_CHUNKED:
            if not data:
                return b""
            return encode_chunk(data)
        if framing == FRAMING_LENGTH:
            remaining = self._remaining - len(data)
            if remaining < 0:
                raise self._misuse("more body data than the declared Content-Length")
            self._remaining = remaining
            return data
        if framing == FRAMING_CLOSE:
            return data
        if framing == FRAMING_HEAD or not data:
            return b""
        raise self._misuse("this response status cannot have a body")

    def send_eom(self) -> bytes:
        """Return the bytes that end the response body (``b"0\\r\\n\\r\\n"`` when chunked).

        Raises:
            LocalProtocolError: no response head sent yet, or fewer bytes sent than the
                declared Content-Length.
        """
        if self._our_state is not SEND_BODY:
            raise self._misuse(f"cannot end the response when our state is {self._our_state!r}")
        framing = self._framing
        if framing == FRAMING_LENGTH and self._remaining:
            raise self._misuse("response body shorter than the declared Content-Length")
        if self._must_close:
            self._our_state = MUST_CLOSE  # OUR_TRANSITIONS[SEND_BODY, "end-of-message-and-close"]
        else:
            self._our_state = DONE  # OUR_TRANSITIONS[SEND_BODY, "end-of-message"]
        return _LAST_CHUNK if framing == FRAMING_CHUNKED else b""

    def send_last(self, data: bytes) -> bytes:
        """Return ``send_data(data) + send_eom()``: the rest of the body and its end, at once.

        The same bytes, checks and state changes as the two calls, for the common case of a
        response whose whole body is known when its head is sent.

        Raises:
            LocalProtocolError: as for the two calls.
        """
        if self._framing == FRAMING_LENGTH and self._our_state is SEND_BODY:
            remaining = self._remaining - len(data)
            if remaining:
                if remaining < 0:
                    raise self._misuse("more body data than the declared Content-Length")
                raise self._misuse("response body shorter than the declared Content-Length")
            self._remaining = 0
            self._our_state = MUST_CLOSE if self._must_close else DONE
            return data
        if data:
            return self.send_data(data) + self.send_eom()
        return self.send_eom()

    def close_after_response(self) -> None:
        """Make this the last response: ``Connection: close`` is added if the head is not sent
        yet, and ``our_must_close`` becomes True (e.g. server shutting down, request limit)."""
        self._must_close = True

    def next_cycle_if_done(self) -> bool:
        """Start the next cycle if ``start_next_cycle()`` is allowed now; say whether it was.

        The keep-alive check and the reset in one call, for the server's loop after each
        response: True when the request body was received in full, the response was sent in
        full and the connection may be kept (the next request is then parsed from what is
        buffered); False, changing nothing, otherwise.
        """
        if self._their_state is not DONE or self._our_state is not DONE or self._must_close:
            return False
        self._reset_cycle()
        return True

    def start_next_cycle(self) -> None:
        """Reset for the next request once this cycle is complete on both sides.

        Bytes the client pipelined stay buffered and are parsed by the next ``next_event()``.

        Raises:
            LocalProtocolError: the request body was not fully received, the response was not
                fully sent, or the connection must close (``our_must_close``).
        """
        if self._their_state is not DONE or self._our_state is not DONE or self._must_close:
            raise LocalProtocolError(
                f"cannot start a new cycle: their state {self._their_state!r}, "
                f"our state {self._our_state!r}, must close {self._must_close}"
            )
        self._reset_cycle()

    def _reset_cycle(self) -> None:
        # THEIR_TRANSITIONS and OUR_TRANSITIONS[DONE, "next-cycle"], without the lookups
        self._their_state = IDLE
        self._our_state = IDLE
        self._request = None
        self._body_reader = None
        self._eom_pending = False
        self._body_started = False
        self._sent_continue = False
        self._head_reader.reset()
