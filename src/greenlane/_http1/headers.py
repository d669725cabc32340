"""Head semantics: from a validated request line and fields to a Request, and the field rules.

The grammar has already been checked (readers.parse_head); this module applies the rules that
need more than one rule of the grammar: the request-target's form, which depends on the
method (RFC 9112 §3.2), and the rules that span fields, per RFC 9112 §6.3 ("Message Body
Length") and RFC 9110.

Request-target (RFC 9112 §3.2), checked as soon as the request line is complete:

* origin-form (``/path?query``) for any method but CONNECT;
* absolute-form (``http://host/path?query``, ``http`` or ``https`` only, no userinfo, non-empty
  host) for any method but CONNECT. Its authority replaces the Host field: ``Request.host`` is
  the authority, the Host field is still required and validated but otherwise ignored (RFC
  9112 §3.2.2: "the server MUST ignore the received Host header field");
* asterisk-form (``*``) for OPTIONS only (RFC 9112 §3.2.4);
* authority-form (``host:port``) for CONNECT only (RFC 9112 §3.2.3). This server is not a
  proxy and cannot tunnel, so a well-formed CONNECT is answered 501 (RFC 9110 §9.1: an origin
  server that receives a method it has not implemented SHOULD answer 501); CONNECT with any
  other form is 400. Rejecting it here, not in the server, is forced: after a 2xx to CONNECT
  the connection is a tunnel (RFC 9110 §9.3.6), which this layer cannot frame.

Anything else is 400: ``GET foo/bar``, ``GET *``, ``GET example.com:443``, ``GET ftp://h/``.

Fields:

1. ``Transfer-Encoding`` in an HTTP/1.0 request: 400. RFC 9112 §6.1 lets a server treat such a
   message as faulty; it is a classic smuggling vector, since 1.0 intermediaries ignore it.
2. ``Transfer-Encoding`` together with ``Content-Length``: 400, and the connection is closed
   (every error closes). RFC 9112 §6.1 allows either rejecting or letting chunked win and
   closing afterwards; rejecting is the smuggling-safe option, because the two intermediaries
   that disagree on framing can no longer both get an answer (eventlet #826 and gevent's
   "chunked wins" show what the lenient choice costs).
3. ``Transfer-Encoding`` must be exactly one ``chunked`` coding: ``chunked`` not last, repeated,
   or a malformed list is 400 (RFC 9112 §6.3 item 4); any other coding is 501 (RFC 9112 §6.1:
   "A server that receives a request message with a transfer coding it does not understand
   SHOULD respond with 501"). Messages do not quote the coding, so it is safe to echo them.
4. ``Content-Length``: exactly one field, whose value is 1 to 19 ASCII digits
   (:func:`parse_content_length`); anything else is 400. RFC 9110 §8.6 lets a recipient
   either reject or collapse a list of identical values (``5, 5``) and repeated identical
   fields; greenlane rejects both, the smuggling-safe choice: an intermediary that kept only
   the first of two fields, or only one element, framed the message differently from one that
   rejected it, and an application would otherwise see ``CONTENT_LENGTH = "5, 5"``.
5. Otherwise there is no body (RFC 9112 §6.3 item 7: requests are never close-delimited).

Trailer fields (RFC 9112 §7.1.2, read and dropped by the chunked reader): a field that
cannot be a trailer is 400, see :data:`FORBIDDEN_TRAILERS`.

Connection management (RFC 9112 §9.3): HTTP/1.1 persists unless ``Connection: close``;
HTTP/1.0 persists only with ``Connection: keep-alive`` and no ``close``.
Host (RFC 9112 §3.2): HTTP/1.1 needs exactly one; no version may send two; the value must be
``uri-host [":" port]``. Expect (RFC 9110 §10.1.1): only ``100-continue`` on HTTP/1.1 counts;
other expectations are ignored rather than answered with 417.
"""

from __future__ import annotations

import functools
from typing import Dict, Iterable, List, Optional, Tuple, Union

from .abnf import (
    ABSOLUTE_FORM,
    AUTHORITY_FORM,
    CONTENT_LENGTH_MAX_DIGITS,
    HOST,
    TOKEN,
)
from .errors import RemoteProtocolError
from .events import Headers, Request, _new_request

__all__ = [
    "FORBIDDEN_TRAILERS",
    "build_request",
    "check_request_target",
    "check_trailers",
    "parse_content_length",
    "split_list",
]

_HOST_MATCH = HOST.fullmatch
_TOKEN_MATCH = TOKEN.fullmatch
_ABSOLUTE_FORM_MATCH = ABSOLUTE_FORM.fullmatch
_AUTHORITY_FORM_MATCH = AUTHORITY_FORM.fullmatch

FORBIDDEN_TRAILERS: Dict[str, str] = {
    name.lower(): name
    for name in (
        # RFC 9110 §6.5.1: "Many fields cannot be processed outside the header section because
        # their evaluation is necessary prior to receiving the content, such as those that
        # describe message framing, routing, authentication, request modifiers, response
        # controls, or content format." The names are the examples RFC 7230 §4.1.2 listed for
        # those classes, filled in from the RFC 9110 sections that define each class.
        # Message framing (RFC 9112 §6):
        "Content-Length", "Transfer-Encoding",
        # Routing (RFC 9110 §7.2) and connection management: Connection (§7.6.1), its
        # HTTP/1.0 companion Keep-Alive (RFC 9112 §C.2.2), Max-Forwards (§7.6.2), Upgrade
        # (§7.8), TE (§10.1.4):
        "Host", "Connection", "Keep-Alive", "Max-Forwards", "Upgrade", "TE",
        # Request controls (RFC 9110 §10.1.1, §14.2; RFC 9111 §5.2, §5.4):
        "Expect", "Range", "Cache-Control", "Pragma",
        # Conditionals (RFC 9110 §13.1):
        "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range",
        # Authentication (RFC 9110 §11.6.2, §11.7.2) and its cousin, cookies (RFC 6265):
        "Authorization", "Proxy-Authorization", "Cookie",
        # How to process the content (RFC 9110 §8.3, §8.4, §14.4, §6.6.2):
        "Content-Type", "Content-Encoding", "Content-Range", "Trailer",
    )
}
"""Fields refused in a request's trailer section (400), lower-case name -> canonical name.

Trailers never reach the WSGI application (PEP 3333 has no place for them); these are refused
anyway because an intermediary that merges trailers into the header section (RFC 9110 §6.5.2
forbids it for fields it does not know to be safe) would let them change how the message is
framed, routed, authorised or decoded after the fact. The canonical name is what error
messages quote, so a message never echoes the peer's bytes.
"""


def parse_content_length(value: Union[str, bytes]) -> int:
    """Return the length a ``Content-Length`` field value declares; the one rule for both ways.

    The value must be 1 to 19 ASCII digits (RFC 9110 §8.6 ``1*DIGIT``; 19 digits always fit in
    63 bits), optionally surrounded by SP/HTAB (OWS, not part of a field value). Leading zeros
    are allowed. A list (``"5, 5"``), a sign, ``_``, other whitespace, or a non-ASCII digit
    such as ``"²"`` (which ``str.isdigit()`` and ``int()`` accept) is refused.

    Args:
        value: one field value, as ``str`` (latin-1 characters, PEP 3333 style) or bytes.

    Returns:
        the declared length, ``0 <= n < 10**19``.

    Raises:
        ValueError: the value is not a valid Content-Length.
        TypeError: ``value`` is neither str nor bytes.
    """
    if type(value) is not str:
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError(f"Content-Length value must be str or bytes, not "
                            f"{type(value).__name__}")
        value = bytes(value).decode("latin-1")
    # isascii() and isdigit() together mean [0-9]+ (abnf.CONTENT_LENGTH_MAX_DIGITS says why
    # not a regex); OWS is stripped only when the plain check fails, the rare case.
    if not (value.isdigit() and value.isascii() and len(value) <= CONTENT_LENGTH_MAX_DIGITS):
        digits = value.strip(" \t")
        if digits == value or not (
            digits.isdigit() and digits.isascii() and len(digits) <= CONTENT_LENGTH_MAX_DIGITS
        ):
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise ValueError(f"invalid Content-Length {shown!r}: must be 1 to "
                             f"{CONTENT_LENGTH_MAX_DIGITS} ASCII digits")
        value = digits
    return int(value)


def check_request_target(method: str, target: str) -> Optional[str]:
    """Apply the form rules of RFC 9112 §3.2 to a request-target (see the module docstring).

    Args:
        method: the method token (case-sensitive: only ``CONNECT`` and ``OPTIONS`` matter).
        target: the request-target, already known to be non-empty VCHAR.

    Returns:
        the authority (``host[:port]``) of an absolute-form target, else None.

    Raises:
        RemoteProtocolError: 400 for a form the method may not use or a malformed target,
            501 for a well-formed CONNECT. The message never quotes the target.
    """
    first = target[0]
    if method == "CONNECT":
        if _AUTHORITY_FORM_MATCH(target) is None:
            raise RemoteProtocolError("CONNECT needs an authority-form target (host:port)")
        raise RemoteProtocolError("CONNECT is not supported: this server is not a proxy", 501)
    if first == "/":
        return None
    if target == "*":
        if method != "OPTIONS":
            raise RemoteProtocolError("asterisk-form target (*) is only allowed with OPTIONS")
        return None
    match = _ABSOLUTE_FORM_MATCH(target)
    if match is not None:
        return match.group(1)
    if _AUTHORITY_FORM_MATCH(target) is not None:
        raise RemoteProtocolError("authority-form target (host:port) is only allowed with CONNECT")
    if "://" in target:
        raise RemoteProtocolError(
            "malformed absolute-form target (http or https, a non-empty host, no userinfo)"
        )
    raise RemoteProtocolError("request-target must start with '/' (origin-form)")


def check_trailers(fields: Iterable[Tuple[str, str]]) -> None:
    """Refuse trailer fields listed in :data:`FORBIDDEN_TRAILERS`.

    Raises:
        RemoteProtocolError: 400, naming the field in its canonical spelling.
    """
    for name, _ in fields:
        canonical = FORBIDDEN_TRAILERS.get(name.lower())
        if canonical is not None:
            raise RemoteProtocolError(f"{canonical} is not allowed in a trailer section")

# Field names that affect framing or connection handling; everything else passes through.
_INTERESTING = frozenset(
    ["host", "content-length", "transfer-encoding", "connection", "expect"]
)


def split_list(value: str) -> List[str]:
    """Split a ``#element`` list (RFC 9110 §5.6.1) into lower-cased, stripped elements.

    Empty elements (``"a,,b"``, leading or trailing commas) are dropped, as §5.6.1 requires
    recipients to accept them.
    """
    out = []
    for item in value.split(","):
        item = item.strip(" \t")
        if item:
            out.append(item.lower())
    return out


def _transfer_coding_error(values: List[str]) -> RemoteProtocolError:
    codings: List[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t")
            # An empty element here means "chunked," or ", chunked", which is harmless per
            # §5.6.1 but never sent by real clients; only "chunked" alone is supported.
            codings.append(item.lower())
    if not all(_TOKEN_MATCH(c) for c in codings):
        return RemoteProtocolError("malformed Transfer-Encoding")
    if "chunked" in codings and (codings[-1] != "chunked" or codings.count("chunked") > 1):
        return RemoteProtocolError("chunked must be the final and only transfer coding")
    return RemoteProtocolError("unsupported transfer coding", 501)


@functools.lru_cache(maxsize=256)
def _valid_host(host: str) -> bool:
    # Memoised: a regex call costs more than the cache hit, and clients repeat their Host.
    return _HOST_MATCH(host) is not None


def build_request(
    method: str, target: str, minor: str, fields: Iterable[Tuple[str, str]],
    require_host: bool = True,
) -> Request:
    """Apply the cross-field rules to a syntactically valid head and build the Request.

    Args:
        method: the method token.
        target: the request-target.
        minor: the minor version digit from ``HTTP/1.<minor>``.
        fields: ``(name, value)`` field lines; names are lower-cased here.
        require_host: False accepts an HTTP/1.1 request without Host (``Limits.require_host``).

    Raises:
        RemoteProtocolError: a rule in the module docstring is broken (400 or 501).
    """
    # The request line comes first, so its errors do (as when the head arrives byte by byte).
    # Origin-form is the common case and needs no check beyond "not CONNECT".
    authority: Optional[str] = None
    if target[0] != "/" or method == "CONNECT":
        authority = check_request_target(method, target)
    is_11 = minor != "0"
    host: Optional[str] = None
    host_count = 0
    cl_values: Optional[List[str]] = None
    te_values: Optional[List[str]] = None
    close = False
    keep_alive_token = False
    expect_continue = False

    headers: Headers = []
    append = headers.append
    for name, value in fields:
        name = name.lower()
        append((name, value))
        if name not in _INTERESTING:
            continue
        if name == "host":
            host = value
            host_count += 1
        elif name == "content-length":
            if cl_values is None:
                cl_values = [value]
            else:
                cl_values.append(value)
        elif name == "transfer-encoding":
            if te_values is None:
                te_values = [value]
            else:
                te_values.append(value)
        elif name == "connection":
            lowered = value.lower()
            if lowered == "close":
                close = True
            elif lowered == "keep-alive":
                keep_alive_token = True
            else:
                tokens = split_list(value)
                if "close" in tokens:
                    close = True
                if "keep-alive" in tokens:
                    keep_alive_token = True
        elif value.lower() == "100-continue":  # name == "expect"
            expect_continue = is_11

    if host_count != 1:
        if host_count > 1:
            raise RemoteProtocolError("more than one Host field")
        if is_11 and require_host:
            raise RemoteProtocolError("HTTP/1.1 request without Host")
    elif host is not None and not _valid_host(host):
        raise RemoteProtocolError("malformed Host")

    content_length: Optional[int] = None
    chunked = False
    if te_values is not None:
        if not is_11:
            raise RemoteProtocolError("Transfer-Encoding in an HTTP/1.0 request")
        if cl_values is not None:
            raise RemoteProtocolError("both Transfer-Encoding and Content-Length")
        if len(te_values) != 1 or te_values[0].lower() != "chunked":
            raise _transfer_coding_error(te_values)
        chunked = True
    elif cl_values is not None:
        if len(cl_values) != 1:
            raise RemoteProtocolError("more than one Content-Length field")
        value = cl_values[0]
        try:
            content_length = parse_content_length(value)
        except ValueError:
            if "," in value:
                raise RemoteProtocolError(
                    "Content-Length must be one number, not a list"
                ) from None
            raise RemoteProtocolError("malformed Content-Length") from None

    if authority is not None:
        host = authority  # RFC 9112 §3.2.2: the target's authority overrides the Host field

    return _new_request(
        method,
        target,
        "1.1" if is_11 else "1.0",
        headers,
        content_length,
        chunked,
        (not close) if is_11 else (keep_alive_token and not close),
        expect_continue,
        host,
        keep_alive_token and not close,
    )
