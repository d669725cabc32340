"""Events: what ``ServerConnection.next_event()`` returns.

Events are immutable, slotted objects. Public constructors are keyword-only and check their
arguments; the parser builds instances through the private ``_new_*`` functions instead, which
skip the checks (the parser has already validated everything) and cost about a quarter of a
frozen dataclass's ``__init__``. They do it by filling a mutable twin class and then switching
``__class__`` to the frozen one, whose ``__setattr__`` refuses all writes.
"""

from __future__ import annotations

import enum
from typing import Any, Final, List, Optional, Tuple, Union

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "ConnectionClosed",
    "Data",
    "EndOfMessage",
    "Event",
    "Request",
    "Sentinel",
]

Headers = List[Tuple[str, str]]


class Sentinel(enum.Enum):
    """The two non-event results of ``next_event()``; compare with ``is``."""

    NEED_DATA = "NEED_DATA"
    """Nothing can be parsed until more bytes are passed to ``receive_data()``."""
    PAUSED = "PAUSED"
    """The request is complete; call ``start_next_cycle()`` before parsing the next one."""

    def __repr__(self) -> str:
        return self.value


NEED_DATA: Final = Sentinel.NEED_DATA
"""``next_event()`` needs more bytes: call ``receive_data()`` (with ``b""`` on EOF)."""
PAUSED: Final = Sentinel.PAUSED
"""``next_event()`` will not parse further until ``start_next_cycle()``."""


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable; cannot delete {name!r}")


class _RequestFields:
    """Mutable twin of :class:`Request` (same slots), used only while building one."""

    __slots__ = (
        "chunked",
        "content_length",
        "expect_continue",
        "headers",
        "host",
        "http_version",
        "keep_alive",
        "keep_alive_requested",
        "method",
        "target",
    )

    method: str
    target: str
    http_version: str
    headers: Headers
    content_length: Optional[int]
    chunked: bool
    keep_alive: bool
    keep_alive_requested: bool
    expect_continue: bool
    host: Optional[str]


class Request(_RequestFields):
    """A request head: request line and header fields, with the framing already worked out.

    Attributes:
        method: the method token, case preserved (``"GET"``).
        target: the raw request-target, latin-1 decoded (``"/a%20b?x=1"``), not unquoted.
        http_version: ``"1.0"`` or ``"1.1"`` (any ``HTTP/1.x`` with x >= 1 is read as 1.1).
        headers: ``(name, value)`` pairs in wire order; names lower-cased, values latin-1
            decoded with surrounding whitespace removed. Repeated fields stay separate.
        content_length: the body length when framed by Content-Length, else None.
        chunked: True when the body uses the chunked transfer coding.
        keep_alive: whether the client allows the connection to be reused after this exchange
            (HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only with
            ``Connection: keep-alive``).
        keep_alive_requested: the client sent the ``keep-alive`` connection option (and not
            ``close``), whatever its version; the response then says ``Connection:
            keep-alive`` and, when the server has an idle timeout, ``Keep-Alive: timeout=N``.
        expect_continue: HTTP/1.1 request carrying ``Expect: 100-continue``.
        host: the host the request is for: the authority (``host[:port]``) of an
            absolute-form target, which RFC 9112 §3.2.2 says overrides the Host field, else
            the Host field value; None when both are absent (possible only for HTTP/1.0).

    Instances are immutable (``__setattr__`` raises AttributeError) and compare by value.
    Unlike h11's ``Request`` the fields are ``str``, as WSGI wants them, and the framing
    facts are precomputed.
    """

    __slots__ = ()

    def __init__(
        self,
        *,
        method: str,
        target: str,
        headers: Headers,
        http_version: str = "1.1",
        content_length: Optional[int] = None,
        chunked: bool = False,
        keep_alive: bool = True,
        expect_continue: bool = False,
        host: Optional[str] = None,
        keep_alive_requested: bool = False,
    ) -> None:
        if http_version not in ("1.0", "1.1"):
            raise ValueError(f"http_version must be '1.0' or '1.1', not {http_version!r}")
        if content_length is not None and (content_length < 0 or chunked):
            raise ValueError("content_length must be >= 0 and exclusive with chunked")
        values: dict[str, Any] = {
            "method": method,
            "target": target,
            "http_version": http_version,
            "headers": list(headers),
            "content_length": content_length,
            "chunked": chunked,
            "keep_alive": keep_alive,
            "keep_alive_requested": keep_alive_requested,
            "expect_continue": expect_continue,
            "host": host,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    __setattr__ = _frozen_setattr
    __delattr__ = _frozen_delattr

    def _key(self) -> tuple[Any, ...]:
        return (
            self.method,
            self.target,
            self.http_version,
            tuple(self.headers),
            self.content_length,
            self.chunked,
            self.keep_alive,
            self.keep_alive_requested,
            self.expect_continue,
            self.host,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not Request:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Request(method={self.method!r}, target={self.target!r}, "
            f"http_version={self.http_version!r}, headers={self.headers!r}, "
            f"content_length={self.content_length!r}, chunked={self.chunked!r}, "
            f"keep_alive={self.keep_alive!r}, "
            f"keep_alive_requested={self.keep_alive_requested!r}, "
            f"expect_continue={self.expect_continue!r}, host={self.host!r})"
        )


def _new_request(
    method: str,
    target: str,
    http_version: str,
    headers: Headers,
    content_length: Optional[int],
    chunked: bool,
    keep_alive: bool,
    expect_continue: bool,
    host: Optional[str],
    keep_alive_requested: bool = False,
) -> Request:
    """Build a Request from already-validated parts, without the constructor's checks."""
    r = _RequestFields()
    r.method = method
    r.target = target
    r.http_version = http_version
    r.headers = headers
    r.content_length = content_length
    r.chunked = chunked
    r.keep_alive = keep_alive
    r.keep_alive_requested = keep_alive_requested
    r.expect_continue = expect_continue
    r.host = host
    r.__class__ = Request
    return r  # type: ignore[return-value]  # its class is Request now (no cast(): a call)


class _DataFields:
    """Mutable twin of :class:`Data`."""

    __slots__ = ("data",)

    data: bytes


class Data(_DataFields):
    """A piece of request body, with any chunked framing removed.

    Attributes:
        data: the bytes (never empty when produced by the parser).
    """

    __slots__ = ()

    def __init__(self, data: bytes) -> None:
        if type(data) is not bytes:
            raise TypeError(f"Data.data must be bytes, not {type(data).__name__}")
        object.__setattr__(self, "data", data)

    __setattr__ = _frozen_setattr
    __delattr__ = _frozen_delattr

    def __eq__(self, other: object) -> bool:
        if type(other) is not Data:
            return NotImplemented
        return self.data == other.data

    def __hash__(self) -> int:
        return hash((Data, self.data))

    def __repr__(self) -> str:
        return f"Data(data={self.data!r})"


def _new_data(data: bytes) -> Data:
    """Build a Data event without the constructor's type check."""
    d = _DataFields()
    d.data = data
    d.__class__ = Data
    return d  # type: ignore[return-value]  # its class is Data now


class _FieldlessEvent:
    """An event without fields: instances of one subclass are all equal."""

    __slots__ = ()

    __setattr__ = _frozen_setattr
    __delattr__ = _frozen_delattr

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EndOfMessage(_FieldlessEvent):
    """The request body is complete (chunked trailers, if any, were checked and dropped)."""

    __slots__ = ()


class ConnectionClosed(_FieldlessEvent):
    """The client closed the connection cleanly, between requests."""

    __slots__ = ()


Event = Union[Request, Data, EndOfMessage, ConnectionClosed]
"""Anything ``next_event()`` returns other than a :class:`Sentinel`."""

# Field-less events carry no state, so the parser hands out shared instances.
END_OF_MESSAGE: Final = EndOfMessage()
CONNECTION_CLOSED: Final = ConnectionClosed()
