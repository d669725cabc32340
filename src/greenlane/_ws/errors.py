"""The error taxonomy of the WebSocket protocol layer.

Split by who broke the rules, as in ``greenlane._http1``:

* :class:`RemoteProtocolError`: the peer sent bytes that are not valid RFC 6455 (or RFC 7692),
  or exceeded a limit. ``close_code`` says which status code to send in the Close frame that
  fails the connection (RFC 6455 §7.1.7): 1002 protocol error, 1007 invalid payload data
  (bad UTF-8, bad compressed data), 1009 message too big. 1006 means the TCP connection ended
  without a closing handshake: there is nobody to send a Close frame to (§7.4.1 forbids
  sending 1006). Raised by ``Connection.next_event()``; sticky.
* :class:`HandshakeError`: a RemoteProtocolError in the opening handshake, carrying the HTTP
  status to answer with (400, 403 or 426) and any fields that answer needs.
* :class:`LocalProtocolError`: the caller misused the API: a control frame over 125 bytes, a
  close code that must not be sent, data after our Close frame.

Any other exception escaping this package is a bug in greenlane.
"""

from __future__ import annotations

from typing import Any, Sequence, Tuple

__all__ = ["HandshakeError", "LocalProtocolError", "ProtocolError", "RemoteProtocolError"]

#: RFC 6455 §7.4.1 status codes used by the errors below.
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
MESSAGE_TOO_BIG = 1009
ABNORMAL_CLOSURE = 1006


class ProtocolError(Exception):
    """Base class of the protocol errors; not raised itself (instantiating it is a TypeError).

    Attributes:
        close_code: the status code for the Close frame that fails the connection.
    """

    close_code: int

    def __init__(self, msg: str, close_code: int = PROTOCOL_ERROR) -> None:
        if type(self) is ProtocolError:
            raise TypeError("ProtocolError is abstract; raise a subclass")
        super().__init__(msg, close_code)
        self.close_code = close_code

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.args)


class LocalProtocolError(ProtocolError):
    """The local side used the API in a way RFC 6455 does not allow; nothing was sent."""


class RemoteProtocolError(ProtocolError):
    """The peer violated RFC 6455/7692 or exceeded a limit; fail the connection.

    Args:
        msg: a short explanation, safe to send as a Close frame's reason (at most 123 bytes
            of UTF-8, never quoting peer bytes).
        close_code: 1002 (default), 1007, 1009, or 1006 for an abrupt end of the connection.
    """


class HandshakeError(RemoteProtocolError):
    """The opening handshake is not one this server accepts.

    Args:
        msg: a short explanation (for logs; the default answer has no body).
        status: the HTTP status to answer with: 400 (malformed or missing fields), 403 (the
            origin was refused), 426 (unsupported ``Sec-WebSocket-Version``).
        headers: fields the answer must carry, e.g. ``Sec-WebSocket-Version`` with a 426
            (RFC 6455 §4.4).
    """

    status: int
    headers: Tuple[Tuple[str, str], ...]

    def __init__(self, msg: str, status: int = 400,
                 headers: Sequence[Tuple[str, str]] = ()) -> None:
        super().__init__(msg, PROTOCOL_ERROR)
        self.args = (msg, status, tuple(headers))
        self.status = status
        self.headers = tuple(headers)
