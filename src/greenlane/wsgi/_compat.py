"""eventlet's ``wsgi.server()`` function and module-level names, over :class:`Server`.

``server(sock, site, ...)`` takes eventlet's arguments, maps them onto ``Server`` keyword
arguments (every difference is listed in the ``greenlane.wsgi`` docstring), installs the
SIGTERM/SIGINT graceful-stop handlers (``_signals``) and serves until stopped. The constants,
``HttpProtocol`` and ``WSGI_LOCAL`` exist so that code written for eventlet imports unchanged.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Union

from greenlane._http1 import format_date_time as _format_date_time
from greenlane.wsgi._log import DEFAULT_LOG_FORMAT
from greenlane.wsgi._server import DEFAULT_MAX_CONNECTIONS, Server

__all__ = [
    "DEFAULT_MAX_SIMULTANEOUS_REQUESTS",
    "MAX_HEADER_LINE",
    "MAX_REQUEST_LINE",
    "MAX_TOTAL_HEADER_SIZE",
    "MINIMUM_CHUNK_SIZE",
    "WSGI_LOCAL",
    "HttpProtocol",
    "format_date_time",
    "server",
]

MAX_REQUEST_LINE = 8192
"""Default ``url_length_limit``: the longest request line (longer gets 414)."""
MAX_HEADER_LINE = 8192
"""eventlet's per-line cap, kept as a name; greenlane bounds the whole header section."""
MAX_TOTAL_HEADER_SIZE = 65536
"""The largest header section (larger gets 431)."""
MINIMUM_CHUNK_SIZE = 4096
"""eventlet's default ``minimum_chunk_size``, kept as a name; greenlane's default is None."""
DEFAULT_MAX_SIMULTANEOUS_REQUESTS = DEFAULT_MAX_CONNECTIONS
"""Default ``max_size``: connections served at once (eventlet: 1024)."""


def format_date_time(timestamp: float) -> str:
    """Format a POSIX timestamp as an HTTP date: ``"Sun, 06 Nov 1994 08:49:37 GMT"``.

    Same output as eventlet's ``format_date_time``.
    """
    return _format_date_time(timestamp)


class HttpProtocol:
    """Placeholder for eventlet's handler class, the only accepted ``protocol`` argument.

    eventlet's ``HttpProtocol`` subclasses the stdlib ``BaseHTTPRequestHandler``; greenlane's
    server does not, so subclasses with overridden methods cannot be honoured.
    """

    minimum_chunk_size: int = 0
    """The ``minimum_chunk_size`` of ``server()`` calls that pass none: a documented
    process-wide setting, as in eventlet (whose value was ``MINIMUM_CHUNK_SIZE``, 4096).
    greenlane's is 0, no buffering; the eventlet alias sets eventlet's (``greenlane.compat``).
    ``Server`` does not read it."""


class _AlreadyHandled:
    """``WSGI_LOCAL``: accepts eventlet's ``already_handled = True`` and keeps nothing.

    The server learns of a hijacked connection from ``get_socket()``; this object only lets
    code written for eventlet's websocket module run unchanged. Holds no state.
    """

    __slots__ = ()

    @property
    def already_handled(self) -> bool:
        """Always False; see the class docstring."""
        return False

    @already_handled.setter
    def already_handled(self, value: bool) -> None:
        pass


WSGI_LOCAL = _AlreadyHandled()


def server(
    sock: Any,
    site: Callable[..., Any],
    log: Any = None,
    environ: Optional[dict[str, Any]] = None,
    max_size: Optional[int] = None,
    max_http_version: str = "HTTP/1.1",
    protocol: Any = HttpProtocol,
    server_event: Any = None,
    minimum_chunk_size: Optional[int] = None,
    log_x_forwarded_for: bool = True,
    custom_pool: Any = None,
    keepalive: Union[bool, float] = True,
    log_output: bool = True,
    log_format: str = DEFAULT_LOG_FORMAT,
    url_length_limit: int = MAX_REQUEST_LINE,
    debug: bool = False,
    socket_timeout: Optional[float] = None,
    capitalize_response_headers: bool = True,
    **options: Any,
) -> None:
    """Serve ``site`` on the listening socket ``sock`` until stopped (eventlet's signature).

    Blocks until the server stops: Ctrl-C (SIGINT) or SIGTERM start a graceful shutdown, a
    second Ctrl-C cuts the requests in flight off, a third raises KeyboardInterrupt (the
    handlers are installed only in the main thread and only while the default handler is
    set, and restored on return; see ``_signals``). eventlet let Ctrl-C raise
    KeyboardInterrupt in whichever green thread was running. ``sock`` is closed on return.

    Args:
        sock: a listening socket from ``greenlane.listen()`` (optionally TLS-wrapped).
        site: the WSGI application.
        log: a logger, a file, or None (the ``"greenlane.wsgi"`` logger).
        environ: entries added to every request's environ.
        max_size: connections served at once (default 16384); accepting pauses at the limit.
        max_http_version: ``"HTTP/1.0"`` makes this an HTTP/1.0 server (no keep-alive, no
            chunked responses).
        protocol: must be ``HttpProtocol`` (see the module docstring).
        server_event: deprecated in eventlet: an Event sent the ``Server`` object.
        minimum_chunk_size: buffer response pieces up to this size (default:
            ``HttpProtocol.minimum_chunk_size``, 0: no buffering, unless the eventlet alias set
            eventlet's 4096). A request can change it with
            ``environ["eventlet.minimum_write_chunk_size"]``.
        log_x_forwarded_for: show X-Forwarded-For in the access log's client address.
        custom_pool: an object with ``spawn`` to run connections in (e.g. a GreenPool).
        keepalive: True, False or 0 (one request per connection) or the idle timeout in
            seconds.
        log_output: False silences startup and access lines.
        log_format: the access-log format (``DEFAULT_LOG_FORMAT``).
        url_length_limit: longest request line; longer gets 414.
        debug: tracebacks in 500 responses (default False; eventlet's was True).
        socket_timeout: the body-read and write timeout; also caps the head and idle ones.
        capitalize_response_headers: emit header names capitalised (default True).
        **options: any other ``Server`` keyword (``read_header_timeout``, ``idle_timeout``,
            ``body_timeout``, ``write_timeout``, ``shutdown_timeout``, ``max_header_bytes``,
            ``on_state``, ...).
    """
    if protocol is not HttpProtocol and protocol is not None:
        raise TypeError("greenlane.wsgi.server() does not support custom protocol classes: "
                        "its server is not built on BaseHTTPRequestHandler")
    if minimum_chunk_size is None:
        minimum_chunk_size = HttpProtocol.minimum_chunk_size
    if max_http_version not in ("HTTP/1.1", "HTTP/1.0"):
        raise ValueError(f"max_http_version must be 'HTTP/1.1' or 'HTTP/1.0', "
                         f"not {max_http_version!r}")
    if not capitalize_response_headers:
        warnings.warn("capitalize_response_headers=False: header names are sent as the "
                      "application spelled them", DeprecationWarning, stacklevel=2)
    if keepalive is not True and keepalive is not False:
        if keepalive:
            options.setdefault("idle_timeout", float(keepalive))
        keepalive = bool(keepalive)  # 0 or None: one request per connection, as in eventlet
    if socket_timeout is not None:
        options.setdefault("body_timeout", socket_timeout)
        options.setdefault("write_timeout", socket_timeout)
        for name, default in (("read_header_timeout", 20.0), ("idle_timeout", 75.0)):
            current = options.get(name, default)
            options[name] = socket_timeout if current is None else min(current,
                                                                        socket_timeout)
    srv = Server(
        site,
        [sock],
        log=log,
        environ=environ,
        max_connections=max_size if max_size is not None else DEFAULT_MAX_CONNECTIONS,
        http10_only=max_http_version == "HTTP/1.0",
        minimum_chunk_size=minimum_chunk_size,
        log_x_forwarded_for=log_x_forwarded_for,
        custom_pool=custom_pool,
        keepalive=bool(keepalive),
        log_output=log_output,
        log_format=log_format,
        max_request_line=url_length_limit,
        debug=debug,
        capitalize_response_headers=capitalize_response_headers,
        **options,
    )
    if server_event is not None:
        warnings.warn("server_event is deprecated (as in eventlet): use greenlane.wsgi.Server",
                      DeprecationWarning, stacklevel=2)
        server_event.send(srv)
    try:
        srv.serve_forever(stop_signals=True)
    finally:
        try:
            sock.close()
        except OSError:
            pass
