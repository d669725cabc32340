"""Size limits the connection enforces on what the peer may send."""

from __future__ import annotations

import dataclasses

__all__ = ["Limits"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on what must be buffered before it can be handed over.

    Exceeding either fails the connection with close code 1009 (RFC 6455 §7.4.1, "message too
    big"), as soon as the frame header that announces it arrives, before its payload is read.
    Compressed messages are bounded by their *decompressed* size, checked while inflating, so a
    decompression bomb stops at ``max_message_size`` bytes of output.

    Attributes:
        max_frame_size: largest payload of one frame as sent on the wire (compressed or
            not). Default 1 MiB, like the ``max_size`` of the ``websockets`` library.
        max_message_size: largest message after reassembly and decompression. Default
            1 MiB (``websockets``: 1 MiB; python-engineio: 1,000,000 bytes). eventlet had no
            bound on a message until CVE-2021-21419 and still bounds only single frames.
    """

    max_frame_size: int = 1 << 20
    max_message_size: int = 1 << 20

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise ValueError(f"Limits.{field.name} must be a positive int, not {value!r}")
