"""The WSGI server: ``greenlane.wsgi.server()`` (eventlet's function) over the ``Server`` class.

Serve any WSGI application (Flask, Django, ...) with one green thread per connection::

    import greenlane
    from greenlane import wsgi

    wsgi.server(greenlane.listen(("127.0.0.1", 8000)), app)

prints ``(PID) wsgi starting up on http://127.0.0.1:8000`` and serves until Ctrl-C or SIGTERM,
which stop it gracefully. For more control (several listeners, stopping from code,
connection-state hooks) use :class:`Server` directly.

HTTP/1.0 and 1.1 (RFC 9112) with keep-alive, pipelining, chunked bodies both ways,
``Expect: 100-continue`` answered only when the application reads the body, HEAD/204/304
without bodies, and strict request parsing (``greenlane._http1``): a malformed request gets a
4xx and its connection is closed; nothing a client sends can stop the server or affect another
connection.

Differences from ``eventlet.wsgi`` (0.41), all deliberate:

* ``debug`` defaults to False: a failing application gets a generic 500, and the traceback goes
  to the log only. eventlet sent tracebacks to clients by default.
* Timeouts by default: request head 20 s (slow-loris), idle keep-alive 75 s, body reads and
  response writes 60 s without progress. eventlet had none. ``keepalive=<seconds>`` sets the
  idle timeout as in eventlet; ``socket_timeout`` sets the body and write timeouts and caps the
  head and idle ones.
* ``max_size`` (connections served at once) defaults to 16384, not 1024.
* ``minimum_chunk_size`` defaults to None: streamed responses (server-sent events) go out as
  produced; eventlet held back pieces under 4 KiB.
* The environ follows PEP 3333 more closely: ``SERVER_PROTOCOL`` is the request's version,
  ``QUERY_STRING`` is always present, ``CONTENT_TYPE`` only when sent, and
  ``wsgi.input_terminated`` is True, so Flask sees chunked uploads. See ``_environ``.
* Header fields with ``_`` in their name are not passed on as ``HTTP_*`` (as in eventlet);
  there is no ``headers_raw`` key (a tuple under a CGI-style name, which PEP 3333 and
  ``wsgiref.validate`` forbid).
* Applications may not set hop-by-hop headers (PEP 3333) other than ``Connection: close``.
* Request framing is strict (see ``greenlane._http1``): a request carrying both
  ``Transfer-Encoding`` and ``Content-Length``, or ``Transfer-Encoding`` in HTTP/1.0, is
  answered 400 and its connection closed (RFC 9112 §6.1 also allows "chunked wins, then
  close"; rejecting is the request-smuggling-safe choice). A transfer coding other than a lone
  ``chunked`` gets 501 (400 when ``chunked`` is present but not the only coding).
* ``log_output=False`` silences startup and access lines but not application errors;
  ``body_length`` in the access log counts body bytes only (eventlet counted the head too).
* ``protocol`` must be ``HttpProtocol`` (the default): greenlane does not build on the
  stdlib's ``BaseHTTPRequestHandler``, so handler subclasses cannot be honoured; passing
  another class raises TypeError rather than being silently ignored.
* Stopping: ``Server.stop()``/``shutdown()``, or SIGTERM/SIGINT with ``server()``; there is no
  module-global ``is_accepting``. Idle connections are closed and in-flight requests finish
  (within ``shutdown_timeout``).
* Hijacking for websockets (eventlet/engineio): ``environ["eventlet.input"].get_socket()``
  hands the socket over; the server then writes nothing more on it and does not reuse it.
  ``environ["eventlet.set_idle"]()`` marks a long-lived request that a graceful stop ends
  (by shutting its socket down) rather than waits for. ``WSGI_LOCAL.already_handled`` is
  accepted and ignored: the hijack is known from ``get_socket()``.
* A TLS listener (``greenlane.wrap_ssl(listen(...), server_side=True, ...)``) runs each
  handshake in its connection's green thread; a client failing it never stops the server
  (eventlet's ``server()`` returned on a reset during a handshake).
"""

from __future__ import annotations

import signal
import threading
import warnings
from types import FrameType
from typing import Any, Callable, Optional, Union

from greenlane._http1 import format_date_time as _format_date_time
from greenlane.wsgi._conn import BodyTimeout, Connection, ConnState
from greenlane.wsgi._input import ChunkReadError, ClientDisconnected, Input
from greenlane.wsgi._log import DEFAULT_LOG_FORMAT
from greenlane.wsgi._response import FileWrapper
from greenlane.wsgi._server import DEFAULT_MAX_CONNECTIONS, Server

__all__ = [
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_MAX_SIMULTANEOUS_REQUESTS",
    "MAX_HEADER_LINE",
    "MAX_REQUEST_LINE",
    "MAX_TOTAL_HEADER_SIZE",
    "MINIMUM_CHUNK_SIZE",
    "WSGI_LOCAL",
    "BodyTimeout",
    "ChunkReadError",
    "ClientDisconnected",
    "ConnState",
    "Connection",
    "FileWrapper",
    "HttpProtocol",
    "Input",
    "Server",
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

    Blocks until the server stops: Ctrl-C (SIGINT) or SIGTERM start a graceful shutdown
    (their handlers are installed only in the main thread and only while the default handler
    is set, and restored on return; a second Ctrl-C raises KeyboardInterrupt). eventlet let
    Ctrl-C raise KeyboardInterrupt in whichever green thread was running. ``sock`` is closed
    on return.

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
        minimum_chunk_size: buffer response pieces up to this size (default: no buffering).
        log_x_forwarded_for: show X-Forwarded-For in the access log's client address.
        custom_pool: an object with ``spawn`` to run connections in (e.g. a GreenPool).
        keepalive: True, False (one request per connection) or the idle timeout in seconds.
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
    if max_http_version not in ("HTTP/1.1", "HTTP/1.0"):
        raise ValueError(f"max_http_version must be 'HTTP/1.1' or 'HTTP/1.0', "
                         f"not {max_http_version!r}")
    if not capitalize_response_headers:
        warnings.warn("capitalize_response_headers=False: header names are sent as the "
                      "application spelled them", DeprecationWarning, stacklevel=2)
    if keepalive is not True and keepalive is not False:
        options.setdefault("idle_timeout", float(keepalive))
        keepalive = True
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
    restore = _install_sigterm(srv)
    try:
        srv.serve_forever()
    finally:
        if restore is not None:
            restore()
        try:
            sock.close()
        except OSError:
            pass


def _install_sigterm(srv: Server) -> Optional[Callable[[], None]]:
    """Make SIGTERM, and a first SIGINT (Ctrl-C), ask ``srv`` for a graceful stop.

    A Python signal handler runs in whichever green thread is current when the signal
    arrives, so the default SIGINT handler's KeyboardInterrupt could land inside a connection's
    green thread and cut its response short. ``srv.stop()`` only writes to a socket pair, which
    is safe from any green thread. After the first SIGINT its previous handler is put back, so
    a second Ctrl-C raises KeyboardInterrupt as usual. Handlers set by the application are
    left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    restorers: list[Callable[[], None]] = []
    for signum, replaceable in ((signal.SIGTERM, signal.SIG_DFL),
                                (signal.SIGINT, signal.default_int_handler)):
        try:
            previous = signal.getsignal(signum)
        except (AttributeError, ValueError):
            continue
        if previous is not replaceable:
            continue

        def on_signal(signo: int, frame: Optional[FrameType], previous: Any = previous) -> None:
            srv.stop()
            if signo == signal.SIGINT:
                signal.signal(signal.SIGINT, previous)

        signal.signal(signum, on_signal)
        restorers.append(_restorer(signum, previous))
    if not restorers:
        return None

    def restore() -> None:
        for undo in restorers:
            undo()

    return restore


def _restorer(signum: int, handler: Any) -> Callable[[], None]:
    def restore() -> None:
        signal.signal(signum, handler)

    return restore
