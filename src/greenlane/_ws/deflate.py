"""permessage-deflate (RFC 7692): parameter negotiation and the per-message codec.

Negotiation (§7.1): the client offers one or more parameter sets in ``Sec-WebSocket-Extensions``
and the server accepts the first it can honour, answering with the agreed parameters.
:func:`negotiate` does the server side; :func:`check_response` the client side. An offer with
an unknown, repeated or malformed parameter is declined (§5), and so is
``server_max_window_bits=8``: zlib cannot compress with a 256-byte window (raw deflate needs at
least 9 bits), and the parameter would forbid anything larger.

What each side compresses with is the agreed window *or less*: a smaller window than the peer
allows is always decodable, so :class:`PerMessageDeflate` compresses with at most
``max_window_bits`` (default 12, 4 KiB) and ``mem_level`` 5 whatever was agreed. That keeps a
compressor with context takeover at about 40 KiB instead of zlib's default 256 KiB (window 15,
memLevel 8), the same trade-off the ``websockets`` library makes by default, for a few percent
of compression ratio. The inflater must use the window the peer may use (up to 32 KiB).
Both are created only when first needed, and dropped after each message when context
takeover is off.

Bounds (the decompression-bomb defence): ``decompress`` is given the number of bytes the
message may still grow by and asks zlib for one byte more than that; getting it means the
message is too big (close code 1009), whatever the compression ratio. Malformed compressed
data is close code 1007; bytes after a final (BFINAL) block are ignored.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import List, Optional, Sequence, Tuple

from .errors import INVALID_DATA, MESSAGE_TOO_BIG, RemoteProtocolError

__all__ = [
    "EXTENSION_NAME",
    "DeflateParams",
    "ExtensionOffer",
    "PerMessageDeflate",
    "check_response",
    "negotiate",
]

EXTENSION_NAME = "permessage-deflate"

# (name, [(parameter, value or None)]): one element of Sec-WebSocket-Extensions, names lowercase.
ExtensionOffer = Tuple[str, List[Tuple[str, Optional[str]]]]

# The empty stored block that ends a Z_SYNC_FLUSH: removed from each message sent, put back on
# each message received (§7.2.1, §7.2.2).
_TAIL = b"\x00\x00\xff\xff"

_WINDOW_BITS = {str(n): n for n in range(8, 16)}  # "1*DIGIT" without leading zeros, 8-15


@dataclasses.dataclass(frozen=True)
class DeflateParams:
    """Agreed permessage-deflate parameters (§7.1).

    Attributes:
        server_no_context_takeover: the server resets its compressor after each message.
        client_no_context_takeover: the client resets its compressor after each message.
        server_max_window_bits: the largest LZ77 window (as bits, 8-15) the server may
            compress with; None when absent (15).
        client_max_window_bits: the same for the client; None when absent (15).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: Optional[int] = None
    client_max_window_bits: Optional[int] = None

    def __post_init__(self) -> None:
        for name in ("server_max_window_bits", "client_max_window_bits"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or not 8 <= value <= 15):
                raise ValueError(f"DeflateParams.{name} must be None or 8-15, not {value!r}")

    def header_value(self) -> str:
        """The parameters as a ``Sec-WebSocket-Extensions`` element."""
        parts = [EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits is not None:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(parts)


def _read_params(params: Sequence[Tuple[str, Optional[str]]], response: bool
                 ) -> Optional[dict[str, Optional[str]]]:
    """The parameters as a dict, or None if one is unknown, repeated or has a bad value."""
    seen: dict[str, Optional[str]] = {}
    for name, value in params:
        if name in seen:
            return None
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return None
        elif name == "server_max_window_bits":
            if value not in _WINDOW_BITS:
                return None
        elif name == "client_max_window_bits":
            # In an offer the value may be absent ("the client supports any window the server
            # asks for"); in a response it is required.
            if value is None:
                if response:
                    return None
            elif value not in _WINDOW_BITS:
                return None
        else:
            return None
        seen[name] = value
    return seen


def negotiate(offers: Sequence[ExtensionOffer]) -> Optional[DeflateParams]:
    """Server side: accept the first permessage-deflate offer that can be honoured.

    Each parameter the client asks for is granted (and echoed in the answer), except that
    ``client_max_window_bits`` without a value is left out (the client then uses 15). Offers
    of other extensions are ignored.

    Returns:
        the agreed parameters (put ``header_value()`` in the response), or None to decline.
    """
    for name, params in offers:
        if name != EXTENSION_NAME:
            continue
        seen = _read_params(params, response=False)
        if seen is None:
            continue
        server_bits = seen.get("server_max_window_bits")
        if server_bits == "8":
            continue
        client_bits = seen.get("client_max_window_bits")
        return DeflateParams(
            server_no_context_takeover="server_no_context_takeover" in seen,
            client_no_context_takeover="client_no_context_takeover" in seen,
            server_max_window_bits=None if server_bits is None else int(server_bits),
            client_max_window_bits=None if client_bits is None else int(client_bits),
        )
    return None


def check_response(accepted: Sequence[ExtensionOffer], offered: Optional[DeflateParams]
                   ) -> Optional[DeflateParams]:
    """Client side: validate the server's ``Sec-WebSocket-Extensions`` against our offer.

    Args:
        accepted: the parsed response header (empty when absent).
        offered: what we offered, None if nothing. The offer is taken to include
            ``client_max_window_bits`` (with its value, or bare when None: "any value"), as
            ``handshake.request_headers`` writes it.

    Returns:
        the agreed parameters, or None when the server declined.

    Raises:
        RemoteProtocolError: an extension we did not offer, more than one, a malformed
            parameter, or a parameter our offer did not allow (§7.1: fail the connection).
    """
    if not accepted:
        return None
    if offered is None or len(accepted) != 1 or accepted[0][0] != EXTENSION_NAME:
        raise RemoteProtocolError("the server accepted an extension that was not offered")
    seen = _read_params(accepted[0][1], response=True)
    if seen is None:
        raise RemoteProtocolError("malformed permessage-deflate parameters in the response")
    server_bits = seen.get("server_max_window_bits")
    if offered.server_no_context_takeover and "server_no_context_takeover" not in seen:
        raise RemoteProtocolError("the server ignored server_no_context_takeover")
    if offered.server_max_window_bits is not None and (
            server_bits is None or int(server_bits) > offered.server_max_window_bits):
        raise RemoteProtocolError("the server ignored server_max_window_bits")
    client_bits = seen.get("client_max_window_bits")
    if (client_bits is not None and offered.client_max_window_bits is not None
            and int(client_bits) > offered.client_max_window_bits):
        raise RemoteProtocolError("the server raised client_max_window_bits")
    return DeflateParams(
        server_no_context_takeover="server_no_context_takeover" in seen,
        client_no_context_takeover=("client_no_context_takeover" in seen
                                    or offered.client_no_context_takeover),
        server_max_window_bits=None if server_bits is None else int(server_bits),
        client_max_window_bits=None if client_bits is None else int(client_bits),
    )


class PerMessageDeflate:
    """The compressor and decompressor of one connection, for one role.

    Args:
        params: the agreed parameters.
        client: True on the client side (which compresses under the ``client_*``
            parameters and decompresses under the ``server_*`` ones).
        max_window_bits: the largest window this side compresses with (9-15, default 12),
            lowered further to what ``params`` allow.
        mem_level: zlib's memLevel for compression (1-9, default 5).
        level: the compression level (0-9, or -1 for zlib's default, 6).
    """

    __slots__ = ("_deflate_bits", "_deflater", "_inflate_bits", "_inflater", "_level",
                 "_mem_level", "_reset_deflater", "_reset_inflater", "params")

    def __init__(self, params: DeflateParams, client: bool = False, *,
                 max_window_bits: int = 12, mem_level: int = 5, level: int = -1) -> None:
        if not 9 <= max_window_bits <= 15:
            raise ValueError(f"max_window_bits must be 9-15, not {max_window_bits!r}")
        if not 1 <= mem_level <= 9:
            raise ValueError(f"mem_level must be 1-9, not {mem_level!r}")
        if not -1 <= level <= 9:
            raise ValueError(f"level must be -1 to 9, not {level!r}")
        self.params = params
        if client:
            ours, theirs = params.client_max_window_bits, params.server_max_window_bits
            self._reset_deflater = params.client_no_context_takeover
            self._reset_inflater = params.server_no_context_takeover
        else:
            ours, theirs = params.server_max_window_bits, params.client_max_window_bits
            self._reset_deflater = params.server_no_context_takeover
            self._reset_inflater = params.client_no_context_takeover
        self._deflate_bits = min(max_window_bits, ours or 15)
        self._inflate_bits = theirs or 15
        self._mem_level = mem_level
        self._level = level
        self._deflater: Optional[zlib._Compress] = None
        self._inflater: Optional[zlib._Decompress] = None

    def compress(self, data: bytes, fin: bool) -> bytes:
        """Compress one fragment of a message (the whole message when ``fin`` on the first).

        Every fragment is flushed, so the peer can inflate it as it arrives; the final one
        loses the trailing ``00 00 ff ff`` (§7.2.1).
        """
        deflater = self._deflater
        if deflater is None:
            deflater = self._deflater = zlib.compressobj(
                self._level, zlib.DEFLATED, -self._deflate_bits, self._mem_level)
        out = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
        if fin:
            if self._reset_deflater:
                self._deflater = None
            # A sync flush always ends with the empty stored block.
            assert out.endswith(_TAIL)
            return out[:-4]
        return out

    def decompress(self, data: bytes, fin: bool, room: int) -> bytes:
        """Inflate one fragment of a compressed message.

        Args:
            data: the fragment's payload (unmasked).
            fin: this is the message's last fragment.
            room: how many more bytes the message may grow by.

        Raises:
            RemoteProtocolError: 1009 when the output would exceed ``room``; 1007 when the
                data is not valid deflate. Bytes after a final block are ignored.
        """
        inflater = self._inflater
        if inflater is None:
            inflater = self._inflater = zlib.decompressobj(-self._inflate_bits)
        elif inflater.eof:
            # A final block (BFINAL) ended the stream in an earlier fragment of this message:
            # what follows it carries nothing (RFC 7692 §7.2.3.4 shows padding after one).
            if fin:
                self._inflater = None
            return b""
        if fin:
            data += _TAIL
        try:
            out = inflater.decompress(data, room + 1)
        except zlib.error:
            self._inflater = None
            raise RemoteProtocolError("invalid compressed data", INVALID_DATA) from None
        if len(out) > room:
            self._inflater = None
            raise RemoteProtocolError("message too big after decompression", MESSAGE_TOO_BIG)
        if fin and (inflater.eof or self._reset_inflater):
            # After a final block the context is gone anyway: the next message starts afresh.
            self._inflater = None
        return out

    def reset_inflater(self) -> None:
        """Forget the decompression context (after a failed message)."""
        self._inflater = None
