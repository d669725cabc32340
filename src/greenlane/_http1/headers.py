"""Field semantics: from validated request fields to framing and connection decisions.

The grammar has already been checked (readers.parse_head); this module applies the rules that
span fields, per RFC 9112 §6.3 ("Message Body Length") and RFC 9110:

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
4. ``Content-Length``: 1 to 19 ASCII digits. Repeated fields or a comma-separated list are
   accepted only if every element is the same digit string (RFC 9110 §8.6); otherwise 400.
5. Otherwise there is no body (RFC 9112 §6.3 item 7: requests are never close-delimited).

Connection management (RFC 9112 §9.3): HTTP/1.1 persists unless ``Connection: close``;
HTTP/1.0 persists only with ``Connection: keep-alive`` and no ``close``.
Host (RFC 9112 §3.2): HTTP/1.1 needs exactly one; no version may send two; the value must be
``uri-host [":" port]``. Expect (RFC 9110 §10.1.1): only ``100-continue`` on HTTP/1.1 counts;
other expectations are ignored rather than answered with 417.
"""

from __future__ import annotations

import functools
from typing import Iterable, List, Optional, Tuple

from .abnf import CONTENT_LENGTH, HOST, TOKEN
from .errors import RemoteProtocolError
from .events import Headers, Request, _new_request

__all__ = ["build_request", "split_list"]

_CONTENT_LENGTH_MATCH = CONTENT_LENGTH.fullmatch
_HOST_MATCH = HOST.fullmatch
_TOKEN_MATCH = TOKEN.fullmatch

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


def _content_length(values: List[str]) -> int:
    first: Optional[str] = None
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t")
            if _CONTENT_LENGTH_MATCH(item) is None:
                raise RemoteProtocolError("malformed Content-Length")
            if first is None:
                first = item
            elif item != first:
                raise RemoteProtocolError("conflicting Content-Length values")
    assert first is not None  # values is non-empty and split() yields at least one item
    return int(first)


@functools.lru_cache(maxsize=256)
def _valid_host(host: str) -> bool:
    # Memoised: a regex call costs more than the cache hit, and clients repeat their Host.
    return _HOST_MATCH(host) is not None


def build_request(
    method: str, target: str, minor: str, fields: Iterable[Tuple[str, str]]
) -> Request:
    """Apply the cross-field rules to a syntactically valid head and build the Request.

    Args:
        method: the method token.
        target: the request-target.
        minor: the minor version digit from ``HTTP/1.<minor>``.
        fields: ``(name, value)`` field lines; names are lower-cased here.

    Raises:
        RemoteProtocolError: a rule in the module docstring is broken (400 or 501).
    """
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
        if is_11:
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
        if len(cl_values) == 1 and _CONTENT_LENGTH_MATCH(cl_values[0]) is not None:
            content_length = int(cl_values[0])
        else:
            content_length = _content_length(cl_values)

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
    )
