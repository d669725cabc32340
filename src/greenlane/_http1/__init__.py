"""Sans-IO HTTP/1.1, server side: bytes in, events out; responses in, bytes out.

Nothing here touches a socket, and nothing imports the rest of greenlane, so the parser can be
tested, fuzzed and benchmarked alone (``tests/_http1/test_isolation.py`` checks that importing
it loads neither greenlet nor any greenlane module outside ``greenlane._http1``).

Modules, one role each:

* ``abnf``: the RFC 9110/9112 grammar as regex fragments.
* ``errors``: ProtocolError, LocalProtocolError, RemoteProtocolError.
* ``events``: Request, Data, EndOfMessage, ConnectionClosed, NEED_DATA, PAUSED.
* ``limits``: Limits, the size bounds on what a client may send.
* ``buffer``: ReceiveBuffer, unconsumed bytes.
* ``headers``: head semantics: request-target forms, cross-field rules (framing, Host,
  Connection, Expect), forbidden trailers; the smuggling policy; ``parse_content_length``.
* ``readers``: bytes to events: request heads, Content-Length and chunked bodies.
* ``writers``: response heads and body framing; ``format_date_time``,
  ``build_simple_response``.
* ``state``: the two-sided state machine, as tables.
* ``connection``: ServerConnection, which ties them together.

Strictness choices (each answered with a RemoteProtocolError whose ``error_status_hint`` is in
parentheses): more than one empty line before a request line (400); request line over
``max_request_line`` (414); header section over ``max_header_bytes`` or ``max_header_count``
(431); malformed request line, field line, bare CR or LF, obs-fold, whitespace before a colon,
control characters (400); a request-target with a byte other than visible ASCII, or in a form
its method may not use: ``GET foo``, ``GET *``, ``GET host:443``, ``GET ftp://h/``,
``http://user@h/`` (400); CONNECT (501: not a proxy); ``HTTP/<major>.x`` with major other than 1
(505; ``HTTP/1.x`` with x > 1 is treated as 1.1, RFC 9110 §2.5); HTTP/1.1 without exactly one
Host, or a malformed Host (400); Content-Length that is not one field of 1-19 digits, so also
``5, 5`` and two identical fields (400); Transfer-Encoding other than a single ``chunked``
(501, or 400 when ``chunked`` is not last or repeated); Transfer-Encoding in HTTP/1.0, or
together with Content-Length (400, the smuggling-safe choice); chunk-size other than 1-16 hex
digits, malformed or over-long chunk extensions, anything but CRLF after chunk data (400);
trailer section over ``max_trailer_bytes`` (431); a trailer field that must not be a trailer,
such as Content-Length, Host or Authorization (400, ``headers.FORBIDDEN_TRAILERS``).
Each rule, and why, is in the docstring of the module that applies it.
"""

from __future__ import annotations

from .connection import ServerConnection
from .errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from .events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Request,
    Sentinel,
)
from .headers import parse_content_length
from .limits import Limits
from .state import (
    CLOSED,
    DONE,
    ERROR,
    IDLE,
    MUST_CLOSE,
    SEND_BODY,
    SEND_RESPONSE,
    State,
)
from .writers import build_simple_response, format_date_time

__all__ = [
    "CLOSED",
    "DONE",
    "ERROR",
    "IDLE",
    "MUST_CLOSE",
    "NEED_DATA",
    "PAUSED",
    "SEND_BODY",
    "SEND_RESPONSE",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Limits",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "Request",
    "Sentinel",
    "ServerConnection",
    "State",
    "build_simple_response",
    "format_date_time",
    "parse_content_length",
]
