"""Events: what ``Connection.next_event()`` returns.

A data message comes out whole: fragments are reassembled, decompressed and (for text)
decoded inside the connection, under its size limits, so the caller never sees a fragment.
Control frames come out as they arrive, even between the fragments of a message (RFC 6455
§5.4 lets them interleave).

Events are small immutable slotted objects that compare by value. The two non-event results
are sentinels compared with ``is``: :data:`NEED_DATA` and :data:`CLOSED`.
"""

from __future__ import annotations

import enum
from typing import Any, Final, Union

__all__ = ["CLOSED", "NEED_DATA", "Close", "Event", "Message", "Ping", "Pong", "Sentinel"]


class Sentinel(enum.Enum):
    """The non-event results of ``next_event()``; compare with ``is``."""

    NEED_DATA = "NEED_DATA"
    """Nothing can be parsed until more bytes are passed to ``receive_data()``."""
    CLOSED = "CLOSED"
    """The peer's Close frame was received: nothing more will be parsed."""

    def __repr__(self) -> str:
        return self.value


NEED_DATA: Final = Sentinel.NEED_DATA
"""``next_event()`` needs more bytes: call ``receive_data()`` (with ``b""`` on EOF)."""
CLOSED: Final = Sentinel.CLOSED
"""The peer has closed the WebSocket (its Close frame was returned earlier as :class:`Close`)."""


class _Event:
    # Shared behaviour, mixed into each event after its fields class: immutable after
    # construction, equality and repr by the names in _fields.
    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot delete {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, _Event):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={_short_repr(getattr(self, name))}"
                           for name in self._fields)
        return f"{type(self).__name__}({fields})"


def _short_repr(value: Any) -> str:
    # A 1 MiB message must not become a 4 MiB line in a log or a test failure.
    if isinstance(value, (str, bytes)) and len(value) > 64:
        kind = "chars" if isinstance(value, str) else "bytes"
        return f"{value[:48]!r}...<{len(value)} {kind}>"
    return repr(value)


_set = object.__setattr__


class _MessageFields:
    # The fields of Message, mutable: the parser fills one and switches its class to
    # Message (same layout), which costs about half of Message()'s object.__setattr__ calls
    # (the same trick as _http1.events).
    __slots__ = ("data",)

    data: Union[str, bytes]


class Message(_MessageFields, _Event):
    """A complete data message: ``str`` for a text message, ``bytes`` for a binary one.

    Attributes:
        data: the payload, reassembled from its fragments and decompressed; text is
            validated UTF-8, already decoded.
    """

    __slots__ = ()
    _fields = ("data",)

    def __init__(self, data: Union[str, bytes]) -> None:
        _set(self, "data", data)

    @property
    def is_text(self) -> bool:
        """True for a text message (``data`` is a ``str``)."""
        return type(self.data) is str


def _new_message(data: Union[str, bytes]) -> Message:
    message = _MessageFields()
    message.data = data
    message.__class__ = Message
    return message  # type: ignore[return-value]  # its class is Message now


class _PayloadFields:
    __slots__ = ("payload",)

    payload: bytes


class Ping(_PayloadFields, _Event):
    """A Ping frame; answer with ``send_pong(payload)`` (RFC 6455 §5.5.2).

    Attributes:
        payload: the application data, at most 125 bytes.
    """

    __slots__ = ()
    _fields = ("payload",)

    def __init__(self, payload: bytes = b"") -> None:
        _set(self, "payload", payload)


class Pong(_PayloadFields, _Event):
    """A Pong frame (an answer to a ping, or an unsolicited heartbeat, §5.5.3).

    Attributes:
        payload: the application data, at most 125 bytes.
    """

    __slots__ = ()
    _fields = ("payload",)

    def __init__(self, payload: bytes = b"") -> None:
        _set(self, "payload", payload)


class _CloseFields:
    __slots__ = ("code", "reason")

    code: int
    reason: str


class Close(_CloseFields, _Event):
    """The peer's Close frame (RFC 6455 §5.5.1). Unless we sent ours first, answer with
    ``send_close()`` (echoing ``code`` is customary), then close the TCP connection.

    Attributes:
        code: the status code; 1005 ("no status received", §7.4.1) when the frame had none.
        reason: the reason text (validated UTF-8), possibly empty.
    """

    __slots__ = ()
    _fields = ("code", "reason")

    def __init__(self, code: int = 1005, reason: str = "") -> None:
        _set(self, "code", code)
        _set(self, "reason", reason)


Event = Union[Message, Ping, Pong, Close]
