"""Size limits the parser enforces on what a client may send."""

from __future__ import annotations

import dataclasses

__all__ = ["Limits"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on the parts of a request that must be buffered before they can be acted on.

    The body itself is not bounded here (it is streamed); the server compares
    ``Request.content_length`` with its own maximum and answers 413.

    Attributes:
        max_request_line: longest request line, CRLF excluded; longer gets 414. 8 KiB is
            Apache's ``LimitRequestLine`` (8190) and gevent's ``MAX_REQUEST_LINE``.
        max_header_bytes: largest header section (field lines and the final blank line); larger
            gets 431. 64 KiB is the stdlib ``http.client`` per-line cap; nginx allows 4 x 8 KiB.
        max_header_count: most field lines in one header section; more gets 431. 100 is
            Apache's ``LimitRequestFields`` and ``http.client._MAXHEADERS``.
        max_chunk_ext_bytes: longest chunk-extension text on one chunk-size line; longer gets
            400. Extensions carry nothing a WSGI application can see, so a small cap suffices.
        max_trailer_bytes: largest trailer section of a chunked body; larger gets 431. Trailers
            are read, checked and dropped.
        require_host: whether an HTTP/1.1 request without a Host field gets 400, as RFC 9112
            section 3.2 requires (default). Not a size, but it travels with the limits because
            they are the whole of the parser's configuration. False accepts such a request
            (``Request.host`` is None, as for HTTP/1.0); eventlet accepted them, and the
            eventlet alias restores that with eventlet's defaults (``greenlane.compat``). A
            duplicate or malformed Host is refused either way.
    """

    max_request_line: int = 8192
    max_header_bytes: int = 65536
    max_header_count: int = 100
    max_chunk_ext_bytes: int = 4096
    max_trailer_bytes: int = 65536
    require_host: bool = True

    def __post_init__(self) -> None:
        if type(self.require_host) is not bool:
            raise TypeError(f"Limits.require_host must be a bool, not {self.require_host!r}")
        for field in dataclasses.fields(self):
            if field.name == "require_host":
                continue
            value = getattr(self, field.name)
            if type(value) is not int or value < 1:
                raise ValueError(f"Limits.{field.name} must be a positive int, not {value!r}")
