"""The error taxonomy of the HTTP/1.1 protocol layer.

Two concrete errors, split by who broke the rules:

* :class:`RemoteProtocolError`: the peer sent bytes that are not valid HTTP/1.1, or that this
  implementation refuses (limits, unsupported codings). Raised by ``next_event()``,
  ``read_body()`` and ``receive_data()`` (never by the ``send_*`` methods). Render it as an
  error response using ``error_status_hint`` and close the connection.
* :class:`LocalProtocolError`: the caller (the server or the application behind it) misused the
  API, e.g. sent more body than the declared ``Content-Length`` or a header value containing a
  line break. Nothing useful can be sent afterwards on that response; close the connection.

Any other exception escaping this package is a bug in greenlane.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


class ProtocolError(Exception):
    """Base class of the protocol errors; not raised itself (instantiating it is a TypeError).

    Attributes:
        error_status_hint: the HTTP status code a server should answer with when the error is
            the peer's: 400 unless a more specific one applies (414, 431, 501, 505).
    """

    error_status_hint: int

    def __init__(self, msg: str, error_status_hint: int = 400) -> None:
        if type(self) is ProtocolError:
            raise TypeError("ProtocolError is abstract; raise a subclass")
        super().__init__(msg, error_status_hint)
        self.error_status_hint = error_status_hint

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.args)


class LocalProtocolError(ProtocolError):
    """The local side (server or application) used the API in a way HTTP/1.1 does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer violated HTTP/1.1 or exceeded a limit; the connection cannot be used further.

    Args:
        msg: a short human-readable explanation. It never quotes peer bytes that could be
            unsafe to echo into a response (e.g. an unsupported Transfer-Encoding value).
        error_status_hint: the status code to answer with (default 400).
    """
