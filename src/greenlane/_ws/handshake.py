"""The opening handshake (RFC 6455 §4): checking an upgrade request, answering it, and the
client's check of the answer.

Server side::

    request = validate_request(headers, method="GET", http_version="1.1",
                               origin_checker=None)      # HandshakeError -> 400/403/426
    protocol = choose_subprotocol(request.subprotocols, ["chat"])
    deflate = deflate.negotiate(request.extensions)
    fields = response_headers(request, protocol, deflate)   # for the 101 response

``headers`` maps *lowercase* field names to values (repeated fields joined with ``", "``, as a
WSGI environ or any HTTP/1.1 parser presents them). What is checked, each answered with a
:class:`HandshakeError`:

* the method is GET and the version HTTP/1.1 or later (§4.1, 400);
* ``Upgrade`` lists ``websocket`` and ``Connection`` lists ``upgrade``, case-insensitively
  (400);
* ``Sec-WebSocket-Version`` is 13, or 8 (hybi-08, framed identically, still sent by a few old
  clients; eventlet accepts it too); another value gets 426 with the supported versions
  (§4.4); a missing one gets 400;
* ``Sec-WebSocket-Key`` is the base64 form of 16 bytes (400);
* ``Sec-WebSocket-Extensions``, when present, is well-formed (400);
* ``origin_checker(host, origin)``, when given, returns true (403). ``origin`` is ``Origin``
  (or hybi-08's ``Sec-WebSocket-Origin``), ``None`` when the client sent neither.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import re
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

from .deflate import DeflateParams, ExtensionOffer
from .deflate import check_response as check_deflate_response
from .errors import HandshakeError, RemoteProtocolError

__all__ = [
    "ACCEPT_GUID",
    "SUPPORTED_VERSIONS",
    "HandshakeRequest",
    "accept_key",
    "check_response",
    "choose_subprotocol",
    "make_key",
    "parse_extensions",
    "parse_list",
    "request_headers",
    "response_headers",
    "validate_request",
]

#: The GUID of RFC 6455 §1.3 that the accept key is derived with.
ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Values of ``Sec-WebSocket-Version`` this implementation speaks, preferred first.
SUPPORTED_VERSIONS: Tuple[str, ...] = ("13", "8")

# RFC 9110 §5.6.2 token and §5.6.4 quoted-string; OWS is spaces and tabs.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[\t !#-\[\]-~\x80-\xff]|\\[\t !-~\x80-\xff])*)"')
_OWS = re.compile(r"[ \t]*")
_UNESCAPE = re.compile(r"\\(.)")

OriginChecker = Callable[[Optional[str], Optional[str]], bool]


@dataclasses.dataclass(frozen=True)
class HandshakeRequest:
    """A validated upgrade request: what the answer and the connection depend on.

    Attributes:
        key: ``Sec-WebSocket-Key``, to derive ``Sec-WebSocket-Accept`` from.
        version: 13 or 8.
        host: ``Host``, or None.
        origin: ``Origin`` (or hybi-08's ``Sec-WebSocket-Origin``), or None.
        subprotocols: ``Sec-WebSocket-Protocol``, in the client's order of preference.
        extensions: ``Sec-WebSocket-Extensions``, parsed (names and parameters lowercase).
    """

    key: str
    version: int
    host: Optional[str] = None
    origin: Optional[str] = None
    subprotocols: Tuple[str, ...] = ()
    extensions: Tuple[ExtensionOffer, ...] = ()


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for ``key``: base64(SHA-1(key + GUID)) (§4.2.2)."""
    digest = hashlib.sha1((key + ACCEPT_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def make_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64 (client side, §4.1)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def parse_list(value: Optional[str]) -> List[str]:
    """The elements of a comma-separated field (RFC 9110 §5.6.1), stripped, empties dropped."""
    if not value:
        return []
    return [item for item in (part.strip(" \t") for part in value.split(",")) if item]


def parse_extensions(value: Optional[str]) -> List[ExtensionOffer]:
    """Parse ``Sec-WebSocket-Extensions`` (§9.1) into ``[(name, [(param, value)])]``.

    Names are lowercased; a quoted value is unquoted (and must then be a token, §9.1).

    Raises:
        HandshakeError: the field is not well-formed (400).
    """
    result: List[ExtensionOffer] = []
    if not value:
        return result
    pos = 0
    end = len(value)

    def fail() -> HandshakeError:
        return HandshakeError("malformed Sec-WebSocket-Extensions")

    def skip_ows(at: int) -> int:
        return _OWS.match(value, at).end()  # type: ignore[union-attr]

    def token(at: int) -> Tuple[str, int]:
        m = _TOKEN.match(value, at)
        if m is None:
            raise fail()
        return m.group(), m.end()

    while True:
        # Empty list elements are allowed: ", a, , b".
        pos = skip_ows(pos)
        while pos < end and value[pos] == ",":
            pos = skip_ows(pos + 1)
        if pos >= end:
            return result
        name, pos = token(pos)
        params: List[Tuple[str, Optional[str]]] = []
        pos = skip_ows(pos)
        while pos < end and value[pos] == ";":
            param, pos = token(skip_ows(pos + 1))
            pos = skip_ows(pos)
            param_value: Optional[str] = None
            if pos < end and value[pos] == "=":
                pos = skip_ows(pos + 1)
                if pos < end and value[pos] == '"':
                    m = _QUOTED.match(value, pos)
                    if m is None:
                        raise fail()
                    param_value = _UNESCAPE.sub(r"\1", m.group(1))
                    if not _TOKEN.fullmatch(param_value):
                        raise fail()
                    pos = m.end()
                else:
                    param_value, pos = token(pos)
                pos = skip_ows(pos)
            params.append((param.lower(), param_value))
        result.append((name.lower(), params))
        if pos < end and value[pos] != ",":
            raise fail()


def _has_token(value: Optional[str], wanted: str) -> bool:
    return any(item.lower() == wanted for item in parse_list(value))


def validate_request(headers: Mapping[str, str], method: str = "GET", http_version: str = "1.1",
                     origin_checker: Optional[OriginChecker] = None) -> HandshakeRequest:
    """Check an upgrade request (see the module docstring for the rules).

    Args:
        headers: lowercase field name -> value.
        method: the request method.
        http_version: ``"1.1"`` (``"1.0"`` is refused).
        origin_checker: ``origin_checker(host, origin)`` returning false refuses the
            request with 403 (eventlet's hook).

    Raises:
        HandshakeError: with the status to answer with.
    """
    if method != "GET":
        raise HandshakeError("a WebSocket handshake must be a GET request")
    if http_version in ("0.9", "1.0"):
        raise HandshakeError("a WebSocket handshake needs HTTP/1.1")
    get = headers.get
    if not _has_token(get("upgrade"), "websocket"):
        raise HandshakeError("Upgrade does not list websocket")
    if not _has_token(get("connection"), "upgrade"):
        raise HandshakeError("Connection does not list upgrade")
    version = get("sec-websocket-version")
    if version is None:
        raise HandshakeError("no Sec-WebSocket-Version")
    version = version.strip(" \t")
    if version not in SUPPORTED_VERSIONS:
        raise HandshakeError(f"unsupported Sec-WebSocket-Version (supported: "
                             f"{', '.join(SUPPORTED_VERSIONS)})", 426,
                             [("Sec-WebSocket-Version", ", ".join(SUPPORTED_VERSIONS))])
    key = (get("sec-websocket-key") or "").strip(" \t")
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise HandshakeError("Sec-WebSocket-Key is missing or not 16 bytes in base64")
    host = get("host")
    origin = get("origin")
    if origin is None and version == "8":
        origin = get("sec-websocket-origin")
    if origin_checker is not None and not origin_checker(host, origin):
        raise HandshakeError("origin refused", 403)
    return HandshakeRequest(
        key=key,
        version=int(version),
        host=host,
        origin=origin,
        subprotocols=tuple(parse_list(get("sec-websocket-protocol"))),
        extensions=tuple(parse_extensions(get("sec-websocket-extensions"))),
    )


def choose_subprotocol(offered: Sequence[str], supported: Sequence[str]) -> Optional[str]:
    """The first of the client's subprotocols (its order of preference) that the server
    supports, or None (then the answer names none, §4.2.2)."""
    for name in offered:
        if name in supported:
            return name
    return None


def response_headers(request: HandshakeRequest, subprotocol: Optional[str] = None,
                     deflate: Optional[DeflateParams] = None) -> List[Tuple[str, str]]:
    """The fields of the ``101 Switching Protocols`` answer, in the conventional order."""
    fields = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
              ("Sec-WebSocket-Accept", accept_key(request.key))]
    if subprotocol is not None:
        if subprotocol not in request.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
        fields.append(("Sec-WebSocket-Protocol", subprotocol))
    if deflate is not None:
        fields.append(("Sec-WebSocket-Extensions", deflate.header_value()))
    return fields


# ----------------------------------------------------------------------------- client side
def request_headers(key: str, subprotocols: Sequence[str] = (),
                    deflate: Optional[DeflateParams] = None,
                    origin: Optional[str] = None) -> List[Tuple[str, str]]:
    """The WebSocket fields of a client's upgrade request (``Host`` is the caller's)."""
    fields = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
              ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
    if origin is not None:
        fields.append(("Origin", origin))
    if subprotocols:
        fields.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if deflate is not None:
        offer = deflate.header_value()
        if deflate.client_max_window_bits is None:
            offer += "; client_max_window_bits"  # we can use whatever the server asks for
        fields.append(("Sec-WebSocket-Extensions", offer))
    return fields


def check_response(status: int, headers: Mapping[str, str], key: str,
                   subprotocols: Sequence[str] = (), deflate: Optional[DeflateParams] = None
                   ) -> Tuple[Optional[str], Optional[DeflateParams]]:
    """Client side: check the server's answer (§4.1, the client's list of checks).

    Returns:
        ``(subprotocol, deflate parameters)`` agreed, each None if none.

    Raises:
        RemoteProtocolError: not a 101, missing Upgrade/Connection, a wrong accept key, a
            subprotocol or extension that was not offered.
    """
    if status != 101:
        raise RemoteProtocolError(f"the server answered {status}, not 101")
    get = headers.get
    if not _has_token(get("upgrade"), "websocket"):
        raise RemoteProtocolError("Upgrade does not list websocket")
    if not _has_token(get("connection"), "upgrade"):
        raise RemoteProtocolError("Connection does not list upgrade")
    if (get("sec-websocket-accept") or "").strip(" \t") != accept_key(key):
        raise RemoteProtocolError("wrong Sec-WebSocket-Accept")
    protocol = get("sec-websocket-protocol")
    if protocol is not None:
        protocol = protocol.strip(" \t")
        if protocol not in subprotocols:
            raise RemoteProtocolError("the server chose a subprotocol that was not offered")
    try:
        extensions = parse_extensions(get("sec-websocket-extensions"))
    except HandshakeError as exc:
        raise RemoteProtocolError(str(exc)) from None
    return protocol, check_deflate_response(extensions, deflate)
