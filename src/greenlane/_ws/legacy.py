"""The pre-RFC protocols hixie-75 and hixie-76 (draft-hixie-thewebsocketprotocol-75/-76).

Obsolete since 2011 (no browser has spoken them since), unmasked (the reason RFC 6455 added
masking: cache poisoning through intermediaries) and text-only. Kept because eventlet speaks
them; ``greenlane.websocket`` uses this module only when ``support_legacy_versions=True`` is
passed explicitly.

Framing (-76 §4.2, §5.3): a text message is ``0x00``, UTF-8 text, ``0xFF``; the closing
handshake is ``0xFF 0x00``. Any other frame type is refused (eventlet refuses them too).
The -76 handshake proves the server read the request with an MD5 over two numbers hidden in
``Sec-WebSocket-Key1``/``Key2`` and the 8 bytes after the request head (:func:`response_key`).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Union

from .errors import HandshakeError, LocalProtocolError, RemoteProtocolError
from .events import CLOSED, NEED_DATA, Close, Message, Sentinel
from .limits import Limits

__all__ = ["LegacyConnection", "response_key"]

_DEFAULT_LIMITS = Limits()
_CLOSE_FRAME = b"\xff\x00"


def _key_number(key: str) -> int:
    # -76 §5.2 step 4: the digits, read as a number, divided by the number of spaces.
    digits = "".join(ch for ch in key if "0" <= ch <= "9")
    spaces = key.count(" ")
    if not digits or spaces == 0:
        raise HandshakeError("malformed Sec-WebSocket-Key1/Key2")
    number = int(digits)
    if number % spaces or number // spaces > 0xFFFFFFFF:
        raise HandshakeError("malformed Sec-WebSocket-Key1/Key2")
    return number // spaces


def response_key(key1: str, key2: str, key3: bytes) -> bytes:
    """The 16 bytes a hixie-76 server sends after its handshake head (-76 §5.2).

    Raises:
        HandshakeError: a key has no digits or spaces, is not a multiple of its space count,
            or ``key3`` is not 8 bytes.
    """
    if len(key3) != 8:
        raise HandshakeError("hixie-76 needs 8 key bytes after the request head")
    packed = struct.pack(">II", _key_number(key1), _key_number(key2)) + key3
    # MD5 is the protocol's definition here, not a security choice.
    return hashlib.md5(packed).digest()


class LegacyConnection:
    """One server end of a hixie-75/76 connection (sans-IO), shaped like ``Connection``.

    ``next_event`` returns text :class:`Message` events, one :class:`Close` (code 1005) for
    the closing handshake, then CLOSED; NEED_DATA when more bytes are needed. There are no
    binary messages and no pings.

    Args:
        version: 76 or 75 (which has no closing handshake: ``send_close`` returns ``b""``).
        limits: ``max_message_size`` bounds a text message (close code 1009 beyond it).
    """

    __slots__ = ("_buf", "_close_received", "_close_sent", "_eof", "_error", "_scanned",
                 "limits", "version")

    def __init__(self, version: int = 76, limits: Union[Limits, None] = None) -> None:
        if version not in (75, 76):
            raise ValueError(f"version must be 75 or 76, not {version!r}")
        self.version = version
        self.limits = _DEFAULT_LIMITS if limits is None else limits
        self._buf = bytearray()
        self._scanned = 0
        self._eof = False
        self._error: Union[RemoteProtocolError, None] = None
        self._close_received = False
        self._close_sent = False

    @property
    def close_sent(self) -> bool:
        """True once ``send_close()`` was called."""
        return self._close_sent

    @property
    def close_received(self) -> bool:
        """True once the peer's closing frame was returned as a Close event."""
        return self._close_received

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the peer; ``b""`` means it closed the connection."""
        if self._eof:
            raise LocalProtocolError("receive_data() called after EOF")
        if not data:
            self._eof = True
        elif self._error is None and not self._close_received:
            self._buf += data

    def _fail(self, msg: str, code: int = 1002) -> RemoteProtocolError:
        self._error = RemoteProtocolError(msg, code)
        self._buf = bytearray()
        return self._error

    def next_event(self) -> Union[Message, Close, Sentinel]:
        """The next text message, the closing handshake, NEED_DATA or CLOSED.

        Raises:
            RemoteProtocolError: an unknown frame type, text that is not UTF-8, a message
                over the limit, or EOF without the closing handshake (1006). Sticky.
        """
        if self._error is not None:
            raise RemoteProtocolError(*self._error.args)
        if self._close_received:
            return CLOSED
        buf = self._buf
        if buf:
            kind = buf[0]
            if kind == 0x00:
                end = buf.find(b"\xff", max(self._scanned, 1))
                if end >= 0:
                    text = bytes(buf[1:end])
                    del buf[:end + 1]
                    self._scanned = 0
                    try:
                        return Message(text.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise self._fail("text message is not valid UTF-8", 1007) from None
                self._scanned = len(buf)
                if len(buf) - 1 > self.limits.max_message_size:
                    raise self._fail("message over the size limit", 1009)
            elif kind == 0xFF:
                if len(buf) >= 2:
                    if buf[1] != 0x00:
                        raise self._fail("unsupported frame type")
                    self._close_received = True
                    self._buf = bytearray()
                    return Close()
            else:
                raise self._fail("unsupported frame type")
        if self._eof:
            raise self._fail("the connection closed without a closing handshake", 1006)
        return NEED_DATA

    def send_data(self, data: Union[str, bytes, bytearray, memoryview], fin: bool = True
                  ) -> bytes:
        """One text frame; bytes are sent as they are (they must be UTF-8 without 0xFF)."""
        if self._close_sent:
            raise LocalProtocolError("cannot send data after the closing handshake")
        if not fin:
            raise LocalProtocolError("hixie-76 has no fragmentation")
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if b"\xff" in payload:
            raise LocalProtocolError("hixie-76 text frames cannot contain the byte 0xFF")
        return b"\x00" + payload + b"\xff"

    def send_close(self, code: Union[int, None] = None, reason: str = "") -> bytes:
        """The closing handshake frame (-76 has no codes: they are ignored; -75 has no
        closing handshake at all: ``b""``)."""
        if self._close_sent:
            raise LocalProtocolError("the closing handshake was already sent")
        self._close_sent = True
        return _CLOSE_FRAME if self.version == 76 else b""
