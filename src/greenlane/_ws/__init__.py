"""Sans-IO WebSocket (RFC 6455, with permessage-deflate from RFC 7692): bytes in, events out.

Nothing here touches a socket, and nothing imports the rest of greenlane (nor greenlet), so the
protocol can be tested byte by byte, fuzzed and benchmarked alone (``tests/_ws/test_isolation.py``
checks it). ``greenlane.websocket`` puts it on a socket taken over from the WSGI server.

Modules, one role each:

* ``errors``: ProtocolError, LocalProtocolError, RemoteProtocolError (with ``close_code``),
  HandshakeError (with ``status``).
* ``events``: Message, Ping, Pong, Close; the sentinels NEED_DATA and CLOSED.
* ``limits``: Limits, the bounds on received frames and (decompressed) messages.
* ``frames``: opcodes, masking without a per-byte Python loop, frame encoding, close codes.
* ``deflate``: permessage-deflate negotiation (server and client) and the bounded codec.
* ``handshake``: checking an upgrade request, ``Sec-WebSocket-Accept``, subprotocol choice,
  the 101 fields; the client's request fields and its check of the answer.
* ``connection``: Connection, one end (server or client) of an open WebSocket.
* ``legacy``: hixie-75/76, for ``support_legacy_versions=True`` only.

Roles: a client masks every frame it sends and refuses masked frames; a server the opposite
(§5.1). Strictness choices, each a RemoteProtocolError whose ``close_code`` is in parentheses:
reserved bits without an extension that defines them, an unknown opcode, a wrongly masked
frame, a fragmented or over-long control frame, a continuation out of place, a new message
inside a fragmented one, a 64-bit length with its top bit set, a Close payload of one byte or
an invalid close code (1002); text or a close reason that is not UTF-8, compressed data that
does not inflate (1007); a frame or a message (after reassembly and decompression) over the
limits (1009); EOF without a closing handshake (1006, reported, never sent).
"""

from __future__ import annotations

from .connection import Connection
from .deflate import DeflateParams, PerMessageDeflate, negotiate
from .errors import HandshakeError, LocalProtocolError, ProtocolError, RemoteProtocolError
from .events import CLOSED, NEED_DATA, Close, Event, Message, Ping, Pong, Sentinel
from .frames import apply_mask, close_code_is_valid
from .handshake import (
    HandshakeRequest,
    accept_key,
    choose_subprotocol,
    response_headers,
    validate_request,
)
from .legacy import LegacyConnection
from .limits import Limits

__all__ = [
    "CLOSED",
    "NEED_DATA",
    "Close",
    "Connection",
    "DeflateParams",
    "Event",
    "HandshakeError",
    "HandshakeRequest",
    "LegacyConnection",
    "Limits",
    "LocalProtocolError",
    "Message",
    "PerMessageDeflate",
    "Ping",
    "Pong",
    "ProtocolError",
    "RemoteProtocolError",
    "Sentinel",
    "accept_key",
    "apply_mask",
    "choose_subprotocol",
    "close_code_is_valid",
    "negotiate",
    "response_headers",
    "validate_request",
]
