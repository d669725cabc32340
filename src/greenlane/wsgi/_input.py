"""``wsgi.input``: the request body as a file, read on demand from the connection.

The body is framed by the parser (Content-Length or chunked), so ``read()`` returns ``b""`` at
the end of the body in both cases and the environ says so with ``wsgi.input_terminated``.

``Expect: 100-continue``: the interim ``100 Continue`` goes out the first time the application
reads the body, as in eventlet (even when body bytes arrived already: a client may send them
without waiting), never before (an application that answers without reading gets its
response sent, and the connection is closed because the client may still send the body).
eventlet's ``set_hundred_continue_response_headers`` and ``send_hundred_continue_response``
are kept for applications that add fields to it or send more than one.

Errors while reading: a malformed chunked body raises :class:`ChunkReadError` (a ValueError,
eventlet's name); a client that disconnects in the middle raises :class:`ClientDisconnected`
(an OSError) rather than returning a short body, which PEP 3333 would let the application
mistake for the whole upload; the body-read timeout raises ``socket.timeout``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Optional, Protocol

from greenlane._http1 import SEND_RESPONSE, RemoteProtocolError

if TYPE_CHECKING:
    from greenlane._http1 import ServerConnection

__all__ = ["BodyChannel", "ChunkReadError", "ClientDisconnected", "Input"]

# The most a single read() asks the parser for when the caller did not bound it; also the
# slice size readline() works in.
_READ_CHUNK = 65536


class BodyChannel(Protocol):
    """What an :class:`Input` needs from the connection its request arrived on.

    ``greenlane.wsgi._conn.Connection`` is the real one; the body's framing state lives in
    the ``ServerConnection`` passed alongside.
    """

    #: Requests started on the connection; an Input is valid only during its own.
    request_count: int
    #: The client closed its side (a body cut short is then a disconnect, not bad framing).
    peer_closed: bool

    def receive_body_data(self) -> None:
        """Feed the parser more bytes from the client (under the body timeout)."""

    def send_continue(self, headers: Optional[list[tuple[str, str]]]) -> None:
        """Send the interim ``100 Continue`` response."""

    def hijack(self) -> Any:
        """Hand the socket over to the application."""


class ChunkReadError(ValueError):
    """The chunked request body is malformed (eventlet's name); the connection is closed."""


class ClientDisconnected(ConnectionError):
    """The client closed the connection before sending the whole request body."""


class Input:
    """The file-like ``wsgi.input`` (and ``eventlet.input``) of one request.

    Methods as PEP 3333 requires: ``read(size=-1)``, ``readline(size=-1)``,
    ``readlines(hint=-1)`` and iteration by lines; plus eventlet's ``discard()``,
    ``get_socket()``, ``set_hundred_continue_response_headers()`` and
    ``send_hundred_continue_response()``.

    Only valid during its request: after the response, reads return ``b""``.
    """

    __slots__ = ("_conn", "_continue_headers", "_done", "_first_read", "_parser", "_pending",
                 "_request_id")

    def __init__(self, conn: BodyChannel, parser: ServerConnection, has_body: bool) -> None:
        self._conn = conn
        self._parser = parser
        self._request_id = conn.request_count
        self._done = not has_body
        # Bytes taken from the parser by readline() beyond the line it returned.
        self._pending = b""
        self._continue_headers: Optional[list[tuple[str, str]]] = None
        self._first_read = True

    # -- the one way body bytes come in ------------------------------------------------------

    def _chunk(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of body (at least 1 unless the body is over)."""
        if self._done:
            return b""
        conn = self._conn
        if conn.request_count != self._request_id:
            # A reference kept past its request must not read the next request's body.
            self._done = True
            return b""
        parser = self._parser
        try:
            if self._first_read:
                self._first_read = False
                if parser.they_are_waiting_for_100_continue:
                    conn.send_continue(self._continue_headers)
            while True:
                chunk = parser.read_body(max_bytes)
                if chunk is not None:
                    if not chunk:
                        self._done = True
                    return chunk
                if parser.they_are_waiting_for_100_continue:
                    conn.send_continue(self._continue_headers)
                conn.receive_body_data()
        except RemoteProtocolError as exc:
            self._done = True
            if conn.peer_closed:
                raise ClientDisconnected(str(exc)) from None
            raise ChunkReadError(str(exc)) from None

    def read(self, size: Optional[int] = -1) -> bytes:
        """Read ``size`` bytes of body, fewer only at its end; all of the rest if ``size`` is
        None or negative. Blocks until then, as a buffered file does (Django, for one, reads
        ``CONTENT_LENGTH`` bytes in a single call and would otherwise see a short body)."""
        pending = self._pending
        if size is None or size < 0:
            parts = [pending] if pending else []
            self._pending = b""
            while True:
                chunk = self._chunk(-1)
                if not chunk:
                    break
                parts.append(chunk)
            return b"".join(parts)
        if pending:
            if len(pending) >= size:
                self._pending = pending[size:]
                return pending[:size]
            self._pending = b""
            parts = [pending]
            need = size - len(pending)
        else:
            if size == 0:
                return b""
            chunk = self._chunk(size)
            need = size - len(chunk)
            if not need or not chunk:
                return chunk
            parts = [chunk]
        while need:
            chunk = self._chunk(need)
            if not chunk:
                break
            parts.append(chunk)
            need -= len(chunk)
        return b"".join(parts)

    def readline(self, size: Optional[int] = -1) -> bytes:
        """Read one line, ``\\n`` included; at most ``size`` bytes if ``size`` >= 0."""
        limit = -1 if size is None or size < 0 else size
        if limit == 0:
            return b""
        buf = self._pending
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end >= 0:
                end += 1
                break
            if 0 <= limit <= len(buf):
                end = limit
                break
            start = len(buf)
            want = _READ_CHUNK if limit < 0 else limit - len(buf)
            chunk = self._chunk(want)
            if not chunk:
                end = len(buf)
                break
            buf += chunk
        if 0 <= limit < end:
            end = limit
        self._pending = buf[end:]
        return buf[:end]

    def readlines(self, hint: Optional[int] = -1) -> list[bytes]:
        """Read lines until EOF, or until about ``hint`` bytes have been read."""
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                break
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def discard(self, buffer_size: int = 16384) -> None:
        """Read and drop the rest of the body (eventlet API)."""
        self._pending = b""
        while self._chunk(buffer_size):
            pass

    # -- eventlet extras ----------------------------------------------------------------------

    def get_socket(self) -> Any:
        """Take over the connection's socket (websockets; eventlet and engineio API).

        From then on the server writes nothing more on this connection, does not reuse it,
        and does not count it as an in-flight request during a graceful stop; it closes the
        socket once the application returns. Bytes the client pipelined after the request
        head are not replayed into the socket (websocket clients wait for the handshake).
        """
        return self._conn.hijack()

    def pipelined_data(self) -> bytes:
        """Bytes the client sent after this request that the server read but did not parse:
        after ``get_socket()``, the start of the new protocol (a hixie-76 WebSocket client
        sends 8 key bytes right after its head). Not in eventlet."""
        return self._parser.trailing_data[0]

    def set_hundred_continue_response_headers(
        self, headers: list[tuple[str, str]], capitalize_response_headers: bool = True
    ) -> None:
        """Fields to send with the ``100 Continue`` response (eventlet API)."""
        if capitalize_response_headers:
            headers = [("-".join(p.capitalize() for p in k.split("-")), v) for k, v in headers]
        self._continue_headers = headers

    def send_hundred_continue_response(self) -> None:
        """Send a ``100 Continue`` now, with the fields set above (eventlet API); again if
        one was sent already, as eventlet does.

        Does nothing if the client did not ask for one or the final response has started.
        """
        parser = self._parser
        request = parser.request
        if (self._conn.request_count == self._request_id and request is not None
                and request.expect_continue and parser.our_state is SEND_RESPONSE):
            self._first_read = False
            self._conn.send_continue(self._continue_headers)
