"""Connection: one end of a WebSocket (RFC 6455 §5-7), without any I/O.

The caller moves bytes; this object says what they mean and what to send back::

    conn = Connection(client=False, limits=Limits(), deflate=agreed_params)
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            conn.receive_data(sock.recv(65536))       # b"" on EOF
        elif type(event) is Message:
            ...                                       # event.data: str or bytes
            sock.sendall(conn.send_data("reply"))
        elif type(event) is Ping:
            sock.sendall(conn.send_pong(event.payload))
        elif type(event) is Close:
            sock.sendall(conn.send_close(...))        # unless we sent ours first
            break                                     # then close the TCP connection
        # Pong: nothing to do; CLOSED: the peer's Close came earlier

Receiving (``next_event``): frames are parsed as soon as their header is complete, so a bad
frame is refused before its payload is buffered: reserved bits without an extension, unknown
opcodes, a client frame without a mask or a server frame with one (§5.1), fragmented or
over-long (> 125 bytes) control frames (§5.5), a continuation with no message started or a new
message inside a fragmented one (§5.4), a 64-bit length with its top bit set (§5.2): 1002.
A frame or message over the limits: 1009. Text that is not UTF-8 (checked incrementally, so a
fragmented message fails at the first bad fragment): 1007. A Close frame with a one-byte
payload or an invalid code (§7.4): 1002; with a reason that is not UTF-8: 1007. Data messages
come out whole (:class:`Message`); control frames as they arrive, also between fragments.

Sending: ``send_data`` (a whole message, or fragments with ``fin=False``), ``send_ping``,
``send_pong``, ``send_close``; each returns the bytes to write; nothing is buffered here. A
client masks every frame with a fresh random key; a server never masks.

Closing (§7): after the peer's Close, ``next_event`` returns CLOSED and received bytes are
dropped; answer with ``send_close`` unless we sent ours first. After ``send_close`` nothing
else may be sent, but messages keep arriving until the peer's Close. EOF before the peer's
Close raises RemoteProtocolError with code 1006 (the connection ended abnormally).

Errors: RemoteProtocolError from ``next_event`` (sticky; ``close_code`` says what to put in
the Close frame that fails the connection: ``send_close`` stays allowed);
LocalProtocolError from misuse of the sending methods.
"""

from __future__ import annotations

import codecs
from typing import Any, Callable, List, Optional, Union

from .deflate import DeflateParams, PerMessageDeflate
from .errors import (
    ABNORMAL_CLOSURE,
    INVALID_DATA,
    MESSAGE_TOO_BIG,
    PROTOCOL_ERROR,
    LocalProtocolError,
    RemoteProtocolError,
)
from .events import CLOSED, NEED_DATA, Close, Event, Message, Ping, Pong, Sentinel, _new_message
from .frames import (
    LOW_BYTES,
    MAX_CONTROL_PAYLOAD,
    REPEAT,
    apply_mask,
    close_code_is_valid,
    encode_close_payload,
    encode_frame,
)
from .limits import Limits

__all__ = ["Connection"]

_DEFAULT_LIMITS = Limits()
_new_utf8_decoder: Callable[[], codecs.IncrementalDecoder] = codecs.getincrementaldecoder(
    "utf-8")

# The frame header's first byte: FIN, RSV1 (permessage-deflate's "compressed"), RSV2-3, opcode.
_FIN = 0x80
_RSV1 = 0x40
_RSV23 = 0x30


class Connection:
    """One end of a WebSocket connection after the opening handshake (sans-IO).

    Not thread-safe: receiving belongs to one green thread, and sends must be serialised by
    the caller (they share the compressor and the fragmentation state).

    Args:
        client: True for the client end (masks what it sends, refuses masked frames);
            False (the default) for a server.
        limits: size limits on received frames and messages (default :class:`Limits()`).
        deflate: the agreed permessage-deflate parameters, or a configured
            :class:`PerMessageDeflate`; None when the extension was not negotiated (then a
            frame with RSV1 set is a protocol error).
    """

    __slots__ = (
        "_client",
        "_close_received",
        "_close_sent",
        "_data",
        "_deflate",
        "_eof",
        "_error",
        "_fast",
        "_first",
        "_key",
        "_max_frame",
        "_max_message",
        "_msg_decoder",
        "_msg_inflate",
        "_msg_op",
        "_msg_parts",
        "_msg_size",
        "_need",
        "_send_compress",
        "_send_op",
        "_small",
        "_start",
        "limits",
    )

    def __init__(self, client: bool = False, limits: Optional[Limits] = None,
                 deflate: Union[DeflateParams, PerMessageDeflate, None] = None) -> None:
        self._client = bool(client)
        self.limits = _DEFAULT_LIMITS if limits is None else limits
        self._max_frame = self.limits.max_frame_size
        self._max_message = self.limits.max_message_size
        # The fast path of next_event() takes small single-frame messages up to this size.
        self._small = min(MAX_CONTROL_PAYLOAD, self._max_frame, self._max_message)
        if isinstance(deflate, DeflateParams):
            deflate = PerMessageDeflate(deflate, client=self._client)
        self._deflate: Optional[PerMessageDeflate] = deflate
        # Unconsumed received bytes are _data[_start:].
        self._data: Union[bytes, bytearray] = b""
        self._start = 0
        self._eof = False
        # The frame whose header has been parsed: payload length (-1: none), first header
        # byte, masking key (None when unmasked).
        self._need = -1
        self._first = 0
        self._key: Union[bytes, bytearray, None] = None
        # The data message being reassembled: opcode (0: none), compressed, bytes received
        # (after decompression), parts, incremental UTF-8 decoder for text.
        self._msg_op = 0
        self._msg_inflate = False
        self._msg_size = 0
        self._msg_parts: List[Any] = []
        self._msg_decoder: Optional[codecs.IncrementalDecoder] = None
        self._error: Optional[RemoteProtocolError] = None
        self._close_received = False
        self._close_sent = False
        # The message being sent in fragments: opcode (0: none) and whether it is compressed.
        self._send_op = 0
        self._send_compress = False
        # Invariant: _fast is True exactly when this is a server end, no frame header is
        # pending, no fragmented message is in progress, and neither an error nor the peer's
        # Close was seen: then next_event() may try its fast path first.
        self._fast = not self._client

    # -- inspection ---------------------------------------------------------------------------

    @property
    def client(self) -> bool:
        """True for the client end of the connection."""
        return self._client

    @property
    def deflate(self) -> Optional[PerMessageDeflate]:
        """The permessage-deflate codec, or None when it was not negotiated."""
        return self._deflate

    def set_deflate(self, deflate: Union[DeflateParams, PerMessageDeflate, None]) -> None:
        """Replace the permessage-deflate codec (None: no compression) from the next message
        on, in both directions (eventlet lets a WebSocket's extensions be reassigned).

        Raises:
            LocalProtocolError: a frame or a fragmented message is being received, or a
                fragmented message sent.
        """
        if self._msg_op or self._send_op or self._need >= 0:
            raise LocalProtocolError("the compression cannot change inside a message")
        if isinstance(deflate, DeflateParams):
            deflate = PerMessageDeflate(deflate, client=self._client)
        self._deflate = deflate

    @property
    def close_sent(self) -> bool:
        """True once ``send_close()`` was called."""
        return self._close_sent

    @property
    def close_received(self) -> bool:
        """True once the peer's Close frame was returned by ``next_event()``."""
        return self._close_received

    @property
    def closed(self) -> bool:
        """True when the closing handshake is complete (Close frames went both ways): the
        TCP connection can be closed."""
        return self._close_sent and self._close_received

    @property
    def failed(self) -> bool:
        """True once ``next_event()`` raised RemoteProtocolError (sticky)."""
        return self._error is not None

    @property
    def has_pending_data(self) -> bool:
        """True when received bytes are buffered that no event has consumed yet."""
        return len(self._data) > self._start

    # -- receiving ----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the peer; ``b""`` means the peer closed the connection.

        Call it after ``next_event()`` returned NEED_DATA, so the buffer stays bounded by one
        frame. Bytes after the peer's Close frame or after a protocol error are dropped.

        Raises:
            LocalProtocolError: data after EOF was already reported.
        """
        if self._eof:
            raise LocalProtocolError("receive_data() called after EOF")
        if not data:
            self._eof = True
            return
        if self._error is not None or self._close_received:
            return
        buf = self._data
        start = self._start
        if start == len(buf):
            self._data = data if type(data) is bytes else bytes(data)
            self._start = 0
        elif type(buf) is bytearray:
            if start:
                del buf[:start]  # cheap: CPython moves the start of a bytearray, not its bytes
                self._start = 0
            buf += data
        else:
            grown = bytearray(buf[start:])
            grown += data
            self._data = grown
            self._start = 0

    def _fail(self, msg: str, code: int = PROTOCOL_ERROR) -> RemoteProtocolError:
        return self._record(RemoteProtocolError(msg, code))

    def _record(self, exc: RemoteProtocolError) -> RemoteProtocolError:
        self._error = exc
        self._fast = False
        self._data = b""
        self._start = 0
        self._msg_parts = []
        return exc

    def _need_data(self, start: int) -> Sentinel:
        if start == len(self._data):
            self._data = b""
            start = 0
        self._start = start
        self._fast = not self._client and self._need < 0 and not self._msg_op
        if self._eof:
            raise self._fail("the connection closed without a closing handshake",
                             ABNORMAL_CLOSURE)
        return NEED_DATA

    def next_event(self) -> Union[Event, Sentinel]:
        """Parse and return the next event, NEED_DATA, or CLOSED.

        Returns:
            :class:`Message`, :class:`Ping`, :class:`Pong` or :class:`Close`; NEED_DATA when
            more bytes are needed; CLOSED once the peer's Close frame has been returned.

        Raises:
            RemoteProtocolError: the peer broke the protocol, exceeded a limit, or closed the
                connection without a Close frame (code 1006). Sticky.
        """
        data = self._data
        start = self._start
        end = len(data)
        if self._fast:
            if end - start >= 6:
                # The fast path: a whole small text or binary message in one masked frame
                # (what clients send most), checked and unmasked inline. Anything else, or a
                # frame not all there yet, goes the general way below, which applies every
                # rule.
                lead = data[start]
                n = data[start + 1] - 0x80  # the mask bit must be set: a server end
                stop = start + 6 + n
                if (lead == 0x81 or lead == 0x82) and 0 <= n <= self._small and stop <= end:
                    mask = int.from_bytes(data[start + 2:start + 6], "little")
                    plain = (int.from_bytes(data[start + 6:stop], "little")
                             ^ (mask * REPEAT[(n + 3) >> 2] & LOW_BYTES[n])).to_bytes(
                                 n, "little")
                    if stop == end:
                        self._data = b""
                        self._start = 0
                    else:
                        self._start = stop
                    if lead == 0x81:
                        try:
                            return _new_message(plain.decode("utf-8"))
                        except UnicodeDecodeError:
                            raise self._fail("text message is not valid UTF-8",
                                             INVALID_DATA) from None
                    return _new_message(plain)
            elif start == end and not self._eof:
                return NEED_DATA  # (the buffer is b"" whenever it is all consumed)
        if self._error is not None:
            raise RemoteProtocolError(*self._error.args)
        if self._close_received:
            return CLOSED
        while True:
            need = self._need
            if need < 0:
                # -- a frame header (§5.2), checked as far as its bytes go -----------------
                if end - start < 2:
                    return self._need_data(start)
                first = data[start]
                second = data[start + 1]
                opcode = first & 0x0F
                length = second & 0x7F
                if first & 0x70 and (first & _RSV23 or self._deflate is None
                                     or opcode == 0 or opcode > 2):
                    # RSV1 means "compressed" on the first frame of a data message only
                    # (RFC 7692 §6); no extension here defines RSV2 or RSV3.
                    raise self._fail("reserved bits set in a frame header")
                if second & 0x80:
                    if self._client:
                        raise self._fail("a server must not mask its frames")
                elif not self._client:
                    raise self._fail("a client must mask its frames")
                if opcode > 2:
                    if opcode < 8 or opcode > 0xA:
                        raise self._fail(f"unknown opcode {opcode:#x}")
                    if not first & _FIN:
                        raise self._fail("a control frame must not be fragmented")
                    if length > MAX_CONTROL_PAYLOAD:
                        raise self._fail("a control frame payload must be at most 125 bytes")
                elif opcode:
                    if self._msg_op:
                        raise self._fail("a new message started inside a fragmented one")
                elif not self._msg_op:
                    raise self._fail("a continuation frame with no message to continue")
                header = 2 if length < 126 else 4 if length == 126 else 10
                if end - start < header:
                    return self._need_data(start)
                if length == 126:
                    length = (data[start + 2] << 8) | data[start + 3]
                elif length == 127:
                    length = int.from_bytes(data[start + 2:start + 10], "big")
                    if length >> 63:
                        raise self._fail("a frame length must not have its top bit set")
                if length > self._max_frame:
                    raise self._fail(f"frame of {length} bytes over the limit of "
                                     f"{self._max_frame}", MESSAGE_TOO_BIG)
                if opcode < 8 and not (first & _RSV1 or (opcode == 0 and self._msg_inflate)):
                    if self._msg_size + length > self._max_message:
                        raise self._fail(f"message over the limit of {self._max_message} "
                                         "bytes", MESSAGE_TOO_BIG)
                # The limits are checked before waiting for the masking key.
                if second & 0x80:
                    header += 4
                    if end - start < header:
                        return self._need_data(start)
                self._key = data[start + header - 4:start + header] if second & 0x80 else None
                start += header
                self._first = first
                self._need = need = length
                self._fast = False
            # -- the payload -------------------------------------------------------------
            if end - start < need:
                return self._need_data(start)
            payload = data[start:start + need]
            start += need
            self._need = -1
            key = self._key
            if key is not None:
                payload = apply_mask(payload, key)
            first = self._first
            opcode = first & 0x0F
            if opcode > 2:
                return self._control(opcode, payload, start)
            if first & _FIN and opcode and not first & _RSV1:
                # A whole uncompressed message in one frame.
                self._consumed(start)
                if opcode == 1:
                    try:
                        return _new_message(payload.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise self._fail("text message is not valid UTF-8",
                                         INVALID_DATA) from None
                return _new_message(payload if type(payload) is bytes else bytes(payload))
            message = self._fragment(first, opcode, payload)
            if message is not None:
                self._consumed(start)
                return message

    def _consumed(self, start: int) -> None:
        if start == len(self._data):
            self._data = b""
            start = 0
        self._start = start
        self._fast = not self._client and not self._msg_op and not self._close_received

    def _fragment(self, first: int, opcode: int, payload: Union[bytes, bytearray]
                  ) -> Optional[Message]:
        """Add a data frame to the message being reassembled; the message when complete."""
        fin = first & _FIN
        if opcode:
            self._msg_op = opcode
            self._msg_inflate = bool(first & _RSV1)
            self._msg_size = 0
            self._msg_parts = []
            self._msg_decoder = _new_utf8_decoder() if opcode == 1 else None
        chunk: Any = payload
        if self._msg_inflate:
            deflate = self._deflate
            assert deflate is not None
            try:
                chunk = deflate.decompress(bytes(payload), bool(fin),
                                           self._max_message - self._msg_size)
            except RemoteProtocolError as exc:
                raise self._record(exc) from None
        self._msg_size += len(chunk)
        decoder = self._msg_decoder
        if decoder is not None:
            try:
                chunk = decoder.decode(chunk, bool(fin))
            except UnicodeDecodeError:
                raise self._fail("text message is not valid UTF-8", INVALID_DATA) from None
        if chunk:
            # Empty fragments are not kept: a flood of them must not grow the list.
            self._msg_parts.append(chunk)
        if not fin:
            return None
        parts = self._msg_parts
        text = self._msg_op == 1
        self._msg_parts = []
        self._msg_decoder = None
        self._msg_op = 0
        self._msg_size = 0
        if text:
            return _new_message("".join(parts))
        return _new_message(b"".join(parts))

    def _control(self, opcode: int, payload: Union[bytes, bytearray], start: int
                 ) -> Union[Ping, Pong, Close]:
        self._consumed(start)
        if opcode == 0x9:
            return Ping(bytes(payload))
        if opcode == 0xA:
            return Pong(bytes(payload))
        n = len(payload)
        if n == 0:
            code, reason = 1005, ""
        elif n == 1:
            raise self._fail("a Close frame payload cannot be one byte")
        else:
            code = (payload[0] << 8) | payload[1]
            if not close_code_is_valid(code):
                raise self._fail(f"invalid close code {code}")
            try:
                reason = bytes(payload[2:]).decode("utf-8")
            except UnicodeDecodeError:
                raise self._fail("close reason is not valid UTF-8", INVALID_DATA) from None
        self._close_received = True
        self._fast = False
        self._data = b""
        self._start = 0
        self._msg_parts = []
        return Close(code, reason)

    # -- sending ------------------------------------------------------------------------------

    def send_data(self, data: Union[str, bytes, bytearray, memoryview], fin: bool = True
                  ) -> bytes:
        """Return the frame carrying ``data``: a whole message, or with ``fin=False`` a
        fragment of one (continue with more ``send_data`` calls of the same type, the last
        with ``fin=True``).

        A ``str`` makes a text message (UTF-8), anything else bytes-like a binary one. With
        permessage-deflate every non-empty message is compressed.

        Raises:
            LocalProtocolError: after ``send_close()``, or a fragment whose type differs from
                the message it continues.
            TypeError: ``data`` is neither str nor bytes-like.
            UnicodeEncodeError: ``data`` is a str with lone surrogates.
        """
        if self._close_sent:
            raise LocalProtocolError("cannot send data after a Close frame")
        if type(data) is str:
            payload = data.encode("utf-8")
            opcode = 1
        elif type(data) is bytes:
            payload = data
            opcode = 2
        elif isinstance(data, (bytearray, memoryview)):
            payload = bytes(data)
            opcode = 2
        elif isinstance(data, (str, bytes)):
            payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            opcode = 1 if isinstance(data, str) else 2
        else:
            raise TypeError(f"send_data() takes str or bytes, not {type(data).__name__}")
        deflate = self._deflate
        if not self._send_op:
            if fin and deflate is None:
                return encode_frame(_FIN | opcode, payload, self._client)
            first = opcode
            compress = deflate is not None and bool(payload or not fin)
            if compress:
                first |= _RSV1
        else:
            if opcode != self._send_op:
                raise LocalProtocolError("a fragment must have the type of the message it "
                                         "continues")
            first = 0
            compress = self._send_compress
        if compress:
            assert deflate is not None
            payload = deflate.compress(payload, fin)
        if fin:
            first |= _FIN
            self._send_op = 0
        else:
            self._send_op = opcode
            self._send_compress = compress
        return encode_frame(first, payload, self._client)

    def _control_payload(self, payload: Union[str, bytes, bytearray, memoryview]) -> bytes:
        if self._close_sent:
            raise LocalProtocolError("cannot send a control frame after a Close frame")
        raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        if len(raw) > MAX_CONTROL_PAYLOAD:
            raise LocalProtocolError("a control frame payload must be at most 125 bytes")
        return raw

    def send_ping(self, payload: Union[str, bytes, bytearray, memoryview] = b"") -> bytes:
        """Return a Ping frame (payload at most 125 bytes; the peer echoes it in a Pong).

        Raises:
            LocalProtocolError: payload too long, or after ``send_close()``.
        """
        return encode_frame(_FIN | 0x9, self._control_payload(payload), self._client)

    def send_pong(self, payload: Union[str, bytes, bytearray, memoryview] = b"") -> bytes:
        """Return a Pong frame: the answer to a Ping (same payload), or a heartbeat.

        Raises:
            LocalProtocolError: payload too long, or after ``send_close()``.
        """
        return encode_frame(_FIN | 0xA, self._control_payload(payload), self._client)

    def send_close(self, code: Optional[int] = 1000, reason: str = "") -> bytes:
        """Return a Close frame with ``code`` and ``reason`` (None: a frame with no status).

        Allowed after a RemoteProtocolError (to fail the connection with its ``close_code``);
        nothing can be sent after it.

        Raises:
            LocalProtocolError: a Close frame was already sent, ``code`` must not be sent
                (RFC 6455 §7.4: 1005, 1006, 1015, reserved or out-of-range codes), a reason
                without a code, or a reason over 123 bytes of UTF-8.
        """
        if self._close_sent:
            raise LocalProtocolError("a Close frame was already sent")
        if code is None:
            if reason:
                raise LocalProtocolError("a close reason needs a close code")
            payload = b""
        else:
            if type(code) is not int or not close_code_is_valid(code):
                raise LocalProtocolError(f"{code!r} is not a close code that may be sent")
            payload = encode_close_payload(code, reason)
            if len(payload) > MAX_CONTROL_PAYLOAD:
                raise LocalProtocolError("a close reason must be at most 123 bytes of UTF-8")
        self._close_sent = True
        self._send_op = 0
        return encode_frame(_FIN | 0x8, payload, self._client)
