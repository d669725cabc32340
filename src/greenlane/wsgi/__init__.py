"""The WSGI server: ``greenlane.wsgi.server()`` (eventlet's function) over the ``Server`` class.

Serve any WSGI application (Flask, Django, ...) with one green thread per connection::

    import greenlane
    from greenlane import wsgi

    wsgi.server(greenlane.listen(("127.0.0.1", 8000)), app)

prints ``(PID) wsgi starting up on http://127.0.0.1:8000`` and serves until Ctrl-C or SIGTERM,
which stop it gracefully. For more control (several listeners, Unix sockets, stopping from
code or another thread, connection-state hooks, trusted proxy headers, request hooks,
``max_requests``) use :class:`Server` directly; from a shell, ``greenlane serve module:app``.

Modules: ``_compat`` (eventlet's ``server()`` and names), ``_server`` (``Server``: listeners,
capacity, shutdown), ``_conn`` (one connection's loop), ``_environ``, ``_proxy`` (trusted proxy
headers), ``_input``, ``_response``, ``_errors`` (every error response), ``_log``,
``_signals`` (SIGTERM/SIGINT as graceful stops). This package only re-exports.

HTTP/1.0 and 1.1 (RFC 9112) with keep-alive (announced as ``Connection: keep-alive`` with
``Keep-Alive: timeout=<idle timeout>`` to clients that ask for it, as eventlet does), pipelining,
chunked bodies both ways, ``Expect: 100-continue`` answered only when the application reads the
body, HEAD/204/304 without bodies, and strict request parsing (``greenlane._http1``): a
malformed request gets a 4xx and its connection is closed; nothing a client sends can stop the
server or affect another connection.

Differences from ``eventlet.wsgi`` (0.41), all deliberate:

* ``debug`` defaults to False: a failing application gets a generic 500, and the traceback goes
  to the log only. eventlet sent tracebacks to clients by default.
* Timeouts by default: request head 20 s (slow-loris), idle keep-alive 75 s, body reads and
  response writes 60 s without progress. eventlet had none. ``keepalive=<seconds>`` sets the
  idle timeout as in eventlet; ``socket_timeout`` sets the body and write timeouts and caps the
  head and idle ones.
* ``max_size`` (connections served at once) defaults to 16384, not 1024.
* ``minimum_chunk_size`` defaults to 0 (``HttpProtocol.minimum_chunk_size``): streamed
  responses (server-sent events) go out as produced; eventlet held back pieces under 4 KiB
  (the eventlet alias restores that, ``greenlane.compat``).
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
  (within ``shutdown_timeout``); no request a client sent on an accepted connection is lost
  (see ``_conn``, "Graceful stop"). Killing the green thread running ``server()`` (as
  eventlet's tests do) stops at once: listener and connections closed, nothing answered.
  A server whose last listening socket fails (closed or shut down under it) stops
  gracefully, as eventlet's did.
* A ``str`` piece of a response body is sent latin-1 encoded, as in eventlet; one that is not
  latin-1 fails the response with a ValueError (PEP 3333 wants bytes).
* When run as root, ``Server`` warns with a ``RuntimeWarning`` (once per process), not in the
  server log, so request logs stay as in eventlet.
* ``Expect: 100-continue``: ``100 Continue`` goes out when the application first reads the
  body, as in eventlet; it is ignored in HTTP/1.0 requests (RFC 9110 §10.1.1), where
  eventlet answered it.
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

from greenlane.wsgi._compat import (
    DEFAULT_MAX_SIMULTANEOUS_REQUESTS,
    MAX_HEADER_LINE,
    MAX_REQUEST_LINE,
    MAX_TOTAL_HEADER_SIZE,
    MINIMUM_CHUNK_SIZE,
    WSGI_LOCAL,
    HttpProtocol,
    format_date_time,
    server,
)
from greenlane.wsgi._conn import BodyTimeout, ConnectionInfo, ConnState
from greenlane.wsgi._input import ChunkReadError, ClientDisconnected, Input
from greenlane.wsgi._log import DEFAULT_LOG_FORMAT
from greenlane.wsgi._proxy import DEFAULT_FORWARDED_ALLOW_IPS
from greenlane.wsgi._response import FileWrapper
from greenlane.wsgi._server import DEFAULT_MAX_CONNECTIONS, Server

__all__ = [
    "DEFAULT_FORWARDED_ALLOW_IPS",
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_MAX_CONNECTIONS",
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
    "ConnectionInfo",
    "FileWrapper",
    "HttpProtocol",
    "Input",
    "Server",
    "format_date_time",
    "server",
]
