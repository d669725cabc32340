"""The receive buffer: bytes from the peer that no event has consumed yet."""

from __future__ import annotations

from typing import Union

__all__ = ["ReceiveBuffer"]

# Once this many consumed bytes sit at the front of a bytearray buffer, the next feed drops
# them; below it, feeding appends without moving memory. Tiny values make trickled input
# quadratic; large ones only delay freeing memory that is bounded by the limits anyway.
_COMPACT_THRESHOLD = 16384


class ReceiveBuffer:
    """Unconsumed peer bytes, as ``data[start:]``.

    In the common case (the previous data was consumed entirely) ``feed`` adopts the caller's
    ``bytes`` object without copying, and :meth:`take` of all of it returns the same object.
    Only when bytes are left over does it switch to a ``bytearray``.

    Readers search ``data`` directly between ``start`` and ``len(data)`` (``bytes.find`` with
    bounds: no slicing). Readers that wait for a delimiter remember how far they searched as an
    offset from ``start``; compaction keeps such offsets valid because it moves ``start`` and the
    data together, and nothing is consumed before the delimiter is found.

    Attributes:
        data: the backing bytes; only ``data[start:]`` is live.
        start: offset of the first unconsumed byte.
        eof: True once the peer has closed its sending side.
    """

    __slots__ = ("data", "eof", "start")

    def __init__(self) -> None:
        self.data: Union[bytes, bytearray] = b""
        self.start = 0
        self.eof = False

    def __len__(self) -> int:
        return len(self.data) - self.start

    def feed(self, chunk: bytes) -> None:
        """Append ``chunk`` (non-empty) to the unconsumed bytes."""
        data = self.data
        start = self.start
        if start == len(data):
            self.data = chunk if type(chunk) is bytes else bytes(chunk)
            self.start = 0
        elif isinstance(data, bytearray):
            if start >= _COMPACT_THRESHOLD:
                del data[:start]
                self.start = 0
            data += chunk
        else:
            grown = bytearray(data[start:])
            grown += chunk
            self.data = grown
            self.start = 0

    def take(self, n: int) -> bytes:
        """Consume and return the next ``n`` bytes (the caller checked they are there)."""
        data = self.data
        start = self.start
        end = start + n
        if end == len(data):
            self.data = b""
            self.start = 0
            if start == 0 and type(data) is bytes:
                return data
        else:
            self.start = end
        return bytes(data[start:end])

    def skip(self, n: int) -> None:
        """Consume the next ``n`` bytes (the caller checked they are there) and drop them."""
        end = self.start + n
        if end == len(self.data):
            self.data = b""
            self.start = 0
        else:
            self.start = end
