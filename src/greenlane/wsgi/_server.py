"""Server: listeners, the connection registry, limits and timeouts, graceful shutdown.

One ``Server`` owns its listening sockets, an accept loop per listener (one green thread
each), the registry of live connections with their ConnState, and the configuration. There is
no module-level state: two servers in one process are independent (eventlet's module-global
``is_accepting`` stopped every server at once).

Life cycle::

    srv = Server(app, [greenlane.listen(("127.0.0.1", 8000))])
    srv.serve_forever()          # blocks; Ctrl-C or srv.stop() ends it gracefully

    srv.start()                  # or: run the accept loops in the background ...
    ...
    srv.shutdown(timeout=10)     # ... and stop from a green thread: True if nothing was cut

``shutdown(timeout)`` closes the listeners, closes IDLE connections that have no request
waiting, tells ACTIVE ones to close after their current response (with ``Connection: close``),
gives NEW ones a few seconds to send the request they connected for (see "Graceful stop" in
``_conn``: no request a client sent on an accepted connection is lost), shuts down the sockets
of hijacked (websocket) connections and of requests that called ``eventlet.set_idle``, waits
for the rest up to ``timeout``, and only then force-closes what is left. ``stop()`` asks for the
same from anywhere: a signal handler, another OS thread, or a green thread that must not block;
it reaches the server's hub through ``hub.call_threadsafe``.

Capacity: at most ``max_connections`` connections are served at once (default 16384;
eventlet's pool stopped at 1024). At the limit the accept loops stop accepting until a
connection closes, so new clients wait in the kernel's listen backlog: back-pressure, not
errors. Accept loops at the limit park in one wait queue and all look again when a connection
closes; with several listeners a loop accepts only after its listener has a client waiting, so
a free slot goes to whichever has one and the limit is never exceeded (their listening sockets
are put in non-blocking mode for that). On start the soft
RLIMIT_NOFILE is raised towards the hard limit (as Go's runtime does) so that the default
capacity is reachable.

Deployment features (for ``greenlane serve`` and the Gunicorn worker): trusted proxy headers
(``proxy_headers``, ``forwarded_allow_ips``, ``secure_scheme_headers``; see ``_proxy``),
request hooks (``before_request``, ``after_request``), ``max_requests``, and a separate
``access_log`` destination.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import warnings
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional, Union

from greenlet import getcurrent, greenlet

from greenlane import _originals as real
from greenlane._http1 import Limits
from greenlane.event import Event
from greenlane.greenio import GreenSocket
from greenlane.greenthread import sleep, spawn_n
from greenlane.hubs import READ, HubError, WaitQueue, get_hub
from greenlane.wsgi._conn import Connection, ConnectionInfo, ConnState, _Abort
from greenlane.wsgi._environ import EnvironBuilder, is_wildcard
from greenlane.wsgi._log import DEFAULT_LOG_FORMAT, AccessLog, ServerLog
from greenlane.wsgi._proxy import DEFAULT_FORWARDED_ALLOW_IPS, ProxyPolicy
from greenlane.wsgi._response import FileWrapper, HeaderPolicy, Response

__all__ = ["DEFAULT_MAX_CONNECTIONS", "ROOT_WARNING", "Server", "warn_running_as_root"]

DEFAULT_MAX_CONNECTIONS = 16384
"""Default ``max_connections``: comfortably above the 10,000 concurrent keep-alive connections
greenlane is built to hold in one process (about 10 KiB each when idle)."""

# Defaults: each is a production server's default for the same knob.
DEFAULT_READ_HEADER_TIMEOUT = 20.0  # Apache mod_reqtimeout: header=20-40
DEFAULT_IDLE_TIMEOUT = 75.0  # nginx keepalive_timeout
DEFAULT_BODY_TIMEOUT = 60.0  # nginx client_body_timeout (between two reads)
DEFAULT_WRITE_TIMEOUT = 60.0  # nginx send_timeout (between two writes)
DEFAULT_SHUTDOWN_TIMEOUT = 20.0  # below Kubernetes' default 30 s grace period
DEFAULT_MAX_DRAIN_BYTES = 256 * 1024  # Go: maxPostHandlerReadBytes

# accept() failing for lack of resources: wait, as Go's net/http does (5 ms doubling to 1 s).
_RESOURCE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")
    if hasattr(errno, name))
# The listening socket itself is unusable: stop that accept loop.
_FATAL_ERRNOS = frozenset([errno.EBADF, errno.EINVAL, errno.ENOTSOCK])
_FIRST_PAUSE = 0.005
_MAX_PAUSE = 1.0


class _ListenerInfo:
    """What the server knows about one listening socket (immutable after start)."""

    __slots__ = ("can_sendfile", "environ", "is_tcp", "sock", "tls", "url", "wildcard")

    def __init__(self, sock: Any, extra_environ: Optional[dict[str, Any]]) -> None:
        self.sock = sock
        self.tls = hasattr(sock, "do_handshake")
        family = sock.family
        self.is_tcp = family in (socket.AF_INET, socket.AF_INET6)
        # TLS encrypts in user space; sendfile would bypass it.
        self.can_sendfile = not self.tls and hasattr(os, "sendfile")
        addr = sock.getsockname()
        self.wildcard = is_wildcard(addr)
        self.environ = EnvironBuilder(addr, "https" if self.tls else "http", extra_environ,
                                      FileWrapper)
        self.url = _socket_url(sock, addr, self.tls)

    def env_base_for(self, conn_sock: Any) -> dict[str, Any]:
        """The environ base of a connection accepted on this listener."""
        if self.wildcard:
            try:
                return self.environ.for_connection(conn_sock.getsockname())
            except OSError:
                pass
        return self.environ.base


def _socket_url(sock: Any, addr: Any, tls: bool) -> str:
    scheme = "https" if tls else "http"
    family = sock.family
    if family == socket.AF_INET:
        return f"{scheme}://{addr[0]}:{addr[1]}"
    if family == socket.AF_INET6:
        return f"{scheme}://[{addr[0]}]:{addr[1]}"
    if isinstance(addr, bytes):
        addr = addr.decode("utf-8", "replace")
    # A Unix socket, named as greenlane serve's --bind takes it.
    return f"unix:{addr}" if not tls else f"https+unix:{addr}"


ROOT_WARNING = (
    "greenlane.wsgi is running as root, so the application runs as root too: run it under a "
    "non-root account (behind a reverse proxy for ports below 1024), or bind as root with "
    "greenlane serve --user NAME, which drops privileges once the sockets are bound")
"""The text of the RuntimeWarning a server started as root gives (see ``Server``)."""


@functools.cache
def warn_running_as_root() -> None:
    """Warn (``RuntimeWarning``, through ``warnings``) that the server runs as root.

    Once per process, whatever the warnings filters say (the cache is the "once"), and not
    through the server's log, so that request logs stay as the application expects them.
    """
    warnings.warn(ROOT_WARNING, RuntimeWarning, stacklevel=3)


def _is_listening(sock: Any) -> Optional[bool]:
    """Whether ``sock`` is listening; None where the system cannot say."""
    option = getattr(socket, "SO_ACCEPTCONN", None)
    if option is None:
        return None
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, option))
    except (OSError, AttributeError):
        return None


def _raise_nofile_limit(wanted: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass


BeforeRequest = Callable[[dict[str, Any]], Any]
"""``before_request(environ)``: see ``Server``."""
AfterRequest = Callable[[dict[str, Any], str, list[tuple[str, str]], int, float], Any]
"""``after_request(environ, status, headers, body_bytes, seconds)``: see ``Server``."""


class _RequestHooks:
    """The per-request extras: before/after hooks and the ``max_requests`` count.

    Exists only when one of them is configured, so a plain server pays one ``is None`` test
    per request for all of them.
    """

    __slots__ = ("after_request", "before_request", "count", "max_requests", "server")

    def __init__(self, server: Server, before_request: Optional[BeforeRequest],
                 after_request: Optional[AfterRequest], max_requests: Optional[int]) -> None:
        self.server = server
        self.before_request = before_request
        self.after_request = after_request
        self.max_requests = max_requests
        self.count = 0

    def before(self, env: dict[str, Any], conn: Connection) -> None:
        """Count the request, then call ``before_request`` (whose exception fails it)."""
        limit = self.max_requests
        if limit is not None:
            self.count += 1
            if self.count >= limit:
                # This response, and every later one, closes its connection (as Gunicorn's
                # force_close); the server stops accepting.
                conn.close_after_response()
                if self.count == limit:
                    self.server._max_requests_reached()
        hook = self.before_request
        if hook is not None:
            hook(env)

    def after(self, env: dict[str, Any], response: Response, seconds: float) -> None:
        """Call ``after_request``; its exceptions are logged, never raised."""
        hook = self.after_request
        if hook is None:
            return
        try:
            hook(env, response.status, list(response.headers or ()), response.body_bytes,
                 seconds)
        except Exception:
            self.server.log.error("error in the after_request hook", exc_info=True)


class Server:
    """A WSGI server on green threads: one green thread per connection.

    The defaults are a safe, valid configuration. Every argument is keyword-only except
    ``app`` and ``listeners``. Not in eventlet, whose ``server()`` function (kept, in
    ``greenlane.wsgi``) builds one of these.

    Args:
        app: the WSGI application.
        listeners: listening sockets (``greenlane.listen(...)``, for TCP or a Unix socket
            path, optionally TLS-wrapped with ``greenlane.wrap_ssl(..., server_side=True)``);
            more can be added with ``add_listener`` before ``start``. Plain stdlib sockets are
            wrapped. The server closes them when it stops.
        max_connections: connections served at once; at the limit accepting pauses.
        read_header_timeout: seconds to receive a whole request head, counted from accept
            (first request) or from its first byte (later requests). Defends against
            slow-loris clients. None disables it (not recommended).
        idle_timeout: seconds a keep-alive connection may wait for its next request,
            counted from the end of the previous response.
        body_timeout: seconds without a request-body byte while the application reads it;
            the application's read raises ``socket.timeout`` (``BodyTimeout``).
        write_timeout: seconds a single write of the response may make no progress.
        keepalive: False answers one request per connection.
        max_request_line: longest request line; longer gets 414.
        max_header_bytes: largest header section; larger gets 431.
        max_header_count: most header fields; more gets 431.
        max_header_field_size: longest single header field line (``name: value``, without
            CRLF), as Gunicorn's ``limit_request_field_size``; longer gets 431. Default None:
            only the whole section is bounded (``max_header_bytes``).
        require_host: whether an HTTP/1.1 request without ``Host`` gets 400 (RFC 9112
            section 3.2). Default None: ``Server.require_host_default``, True unless the
            eventlet alias set eventlet's defaults (``greenlane.compat``; eventlet served such
            requests).
        max_drain_bytes: how much unread request body is read and dropped after a response
            so the connection can be reused; a bigger rest closes the connection instead.
        minimum_chunk_size: buffer the response iterable's pieces until this many bytes
            (eventlet's default was 4096, which delays streamed responses; here None: off).
        http10_only: behave as an HTTP/1.0 server (eventlet's ``max_http_version="HTTP/1.0"``):
            no keep-alive.
        environ: entries added to every environ.
        debug: put tracebacks into 500 responses and log debug lines. Default False.
        capitalize_response_headers: emit ``Content-Type`` however the application spelled
            it (eventlet's default, kept).
        log: a logger, a file, or None for the ``"greenlane.wsgi"`` logger (see ``_log``).
        log_output: False silences startup lines and the access log (not errors).
        log_format: access-log format, eventlet's by default.
        log_x_forwarded_for: prefix the client address with X-Forwarded-For in the log.
        access_log: where access-log lines go: True (default) with the server's other lines
            (``log``); False or None: nowhere; a file (anything with ``write``) or a logger
            (its ``info``). ``log_output=False`` silences it in any case.
        custom_pool: an object with ``spawn`` (e.g. a ``GreenPool``) to run connections in;
            its own size limit then applies too.
        shutdown_timeout: how long ``serve_forever`` lets requests finish after Ctrl-C or
            ``stop()`` without a timeout.
        on_state: ``callback(info, ConnState)`` on every state change (Go's
            ``Server.ConnState``), with the connection's read-only :class:`ConnectionInfo`
            (the same object for every call about one connection); it runs in the
            connection's green thread and must not block.
        proxy_headers: take the client's address, scheme and host from ``X-Forwarded-For``,
            ``X-Forwarded-Proto``, ``X-Forwarded-Host`` and ``Forwarded`` when the peer is in
            ``forwarded_allow_ips``; from other peers they are ordinary ``HTTP_*`` keys.
            Default False. See ``greenlane.wsgi._proxy`` for the exact rules.
        forwarded_allow_ips: the trusted proxies: addresses and networks (CIDR), a
            comma-separated string or a list; default ``"127.0.0.1,::1"``. ``"*"`` trusts
            every peer: dangerous unless nothing but the proxy can reach the server, since
            any client could then set its own ``REMOTE_ADDR``. Unix-socket peers are trusted.
        secure_scheme_headers: Gunicorn's setting: ``{header: value meaning https}``; from a
            trusted peer these decide ``wsgi.url_scheme`` (even without ``proxy_headers``),
            and conflicting ones get a 400. Default None (not used).
        before_request: ``before_request(environ)``, called in the connection's green thread
            just before the application (Gunicorn's ``pre_request``); an exception fails the
            request as an application error would (500).
        after_request: ``after_request(environ, status, headers, body_bytes, seconds)``,
            called once for every request that reached ``before_request``/the application,
            when its response is complete or the request ended otherwise (client gone,
            timeout, shutdown): ``status`` is what was sent (``"200 OK"``, ``"500 Internal
            Server Error"`` when the server answered for a failed application, ``""`` if no
            response went out), ``headers`` the application's response headers (without the
            ones the server adds), ``body_bytes`` the body bytes sent, ``seconds`` the time
            since the request's head was parsed. For Gunicorn's ``post_request`` and access
            log; exceptions are logged.
        max_requests: after this many requests (counted as the application is called) the
            server stops accepting and shuts down gracefully: that request and those in
            flight are answered with ``Connection: close``. Default None (no limit).
        on_max_requests: called (in a green thread) instead of the graceful stop when
            ``max_requests`` is reached; the Gunicorn worker uses it to end its run loop,
            which then calls ``stop()`` itself.
        accept_backlog_on_stop: on a graceful stop, accept the connections still waiting in
            the kernel's queue before closing each listener, and answer their first request
            (with ``Connection: close``); closing a listener resets them otherwise. Default
            True, for a server that owns its listeners; False where other processes keep
            serving the same listening socket (the Gunicorn worker: its master keeps it open).
        warn_if_root: warn at start when running as root (default True): a
            ``RuntimeWarning`` through ``warnings``, once per process, not a line in the
            server's log (eventlet logged nothing). False for callers that warn themselves or
            drop privileges (``greenlane serve``, Gunicorn).
    """

    require_host_default: ClassVar[bool] = True
    """The ``require_host`` of servers built without one: a documented process-wide setting,
    which ``greenlane.compat.install()`` sets False with eventlet's defaults (eventlet's
    behaviour) and ``uninstall()`` puts back."""

    def __init__(
        self,
        app: Callable[..., Any],
        listeners: Iterable[Any] = (),
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        read_header_timeout: Optional[float] = DEFAULT_READ_HEADER_TIMEOUT,
        idle_timeout: Optional[float] = DEFAULT_IDLE_TIMEOUT,
        body_timeout: Optional[float] = DEFAULT_BODY_TIMEOUT,
        write_timeout: Optional[float] = DEFAULT_WRITE_TIMEOUT,
        keepalive: bool = True,
        max_request_line: int = 8192,
        max_header_bytes: int = 65536,
        max_header_count: int = 100,
        max_header_field_size: Optional[int] = None,
        require_host: Optional[bool] = None,
        max_drain_bytes: int = DEFAULT_MAX_DRAIN_BYTES,
        minimum_chunk_size: Optional[int] = None,
        http10_only: bool = False,
        environ: Optional[dict[str, Any]] = None,
        debug: bool = False,
        capitalize_response_headers: bool = True,
        log: Any = None,
        log_output: bool = True,
        log_format: str = DEFAULT_LOG_FORMAT,
        log_x_forwarded_for: bool = True,
        access_log: Any = True,
        custom_pool: Any = None,
        shutdown_timeout: Optional[float] = DEFAULT_SHUTDOWN_TIMEOUT,
        on_state: Optional[Callable[[ConnectionInfo, ConnState], Any]] = None,
        proxy_headers: bool = False,
        forwarded_allow_ips: Union[str, Iterable[str]] = DEFAULT_FORWARDED_ALLOW_IPS,
        secure_scheme_headers: Optional[Mapping[str, str]] = None,
        before_request: Optional[BeforeRequest] = None,
        after_request: Optional[AfterRequest] = None,
        max_requests: Optional[int] = None,
        on_max_requests: Optional[Callable[[], Any]] = None,
        accept_backlog_on_stop: bool = True,
        warn_if_root: bool = True,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        timeouts = {"read_header_timeout": read_header_timeout, "idle_timeout": idle_timeout,
                    "body_timeout": body_timeout, "write_timeout": write_timeout}
        for name, value in timeouts.items():
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None, not {value!r}")
        if shutdown_timeout is not None and shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout must be >= 0 or None, not {shutdown_timeout!r}")
        if max_header_field_size is not None and max_header_field_size < 1:
            raise ValueError("max_header_field_size must be at least 1 or None, not "
                             f"{max_header_field_size!r}")
        if max_requests is not None and max_requests < 1:
            raise ValueError(f"max_requests must be at least 1 or None, not {max_requests!r}")
        if custom_pool is not None and not callable(getattr(custom_pool, "spawn", None)):
            raise TypeError("custom_pool must have a spawn() method (a GreenPool, say)")
        for name, fn in (("on_state", on_state), ("before_request", before_request),
                         ("after_request", after_request), ("on_max_requests", on_max_requests)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, not {fn!r}")
        self.app = app
        self.max_connections = max_connections
        self.read_header_timeout = read_header_timeout
        self.idle_timeout = idle_timeout
        self.body_timeout = body_timeout
        self.write_timeout = write_timeout
        enabled = [t for t in timeouts.values() if t is not None]
        # The cadence of each connection's deadline timer: never later than any new deadline.
        self.timer_period = min(enabled) if enabled else 3600.0
        self.keepalive = keepalive and not http10_only
        if require_host is None:
            require_host = type(self).require_host_default
        self.limits = Limits(max_request_line=max_request_line,
                             max_header_bytes=max_header_bytes,
                             max_header_count=max_header_count,
                             require_host=bool(require_host))
        self.max_header_field_size = max_header_field_size
        self.max_drain_bytes = max_drain_bytes
        self.accept_backlog_on_stop = accept_backlog_on_stop
        self.minimum_chunk_size = minimum_chunk_size or 0
        self.http10_only = http10_only
        self.debug = debug
        self.header_policy = HeaderPolicy(capitalize_response_headers)
        self.log = ServerLog(log, log_output, debug)
        self.access_log: Optional[AccessLog] = None
        if log_output and access_log is not False and access_log is not None:
            writer = (self.log.access_writer() if access_log is True
                      else _line_writer(access_log))
            self.access_log = AccessLog(writer, log_format, log_x_forwarded_for)
        self.custom_pool = custom_pool
        self.shutdown_timeout = shutdown_timeout
        self.on_state = on_state
        # Built (so checked) even when unused: a bad allow list is a configuration error.
        policy = ProxyPolicy(forwarded_allow_ips, proxy_headers, secure_scheme_headers)
        self.proxy_policy: Optional[ProxyPolicy] = (
            policy if proxy_headers or secure_scheme_headers else None)
        self.request_hooks: Optional[_RequestHooks] = None
        if before_request is not None or after_request is not None or max_requests:
            self.request_hooks = _RequestHooks(self, before_request, after_request,
                                               max_requests)
        self.max_requests = max_requests
        self._on_max_requests = on_max_requests
        self._warn_if_root = warn_if_root
        self._environ = environ
        self._listeners: list[_ListenerInfo] = []
        # Set by start(); the server then belongs to that OS thread's hub.
        self.hub: Any = None
        self.clock: Callable[[], float] = get_hub().clock
        # One receive buffer for every connection: bytes are copied out of it before the
        # receiving green thread can switch away (see Connection._recv).
        self.recv_buffer = bytearray(65536)
        self.recv_view = memoryview(self.recv_buffer)
        self._conns: dict[Connection, None] = {}
        self._accepting: list[greenlet] = []
        # Accept loops waiting for a free connection slot.
        self._capacity = WaitQueue()
        self._on_shutdown: list[Callable[[], Any]] = []
        self.closing = False
        self._started = False
        self._cut_off = False
        self._stopped: Event[bool] = Event()
        self._drained: Optional[Event[None]] = None
        # The latest stop() request: (timeout,), from any thread; read on the hub.
        self._stop_requested: Optional[tuple[Optional[float]]] = None
        for sock in listeners:
            self.add_listener(sock)

    # -- configuration ------------------------------------------------------------------------

    def add_listener(self, sock: Any) -> None:
        """Serve connections accepted on ``sock`` too (before ``start``).

        Raises:
            TypeError: ``sock`` is not a socket (a stdlib or green socket, possibly
                TLS-wrapped).
            ValueError: ``sock`` is not listening (``listen()`` was not called).
        """
        if self._started:
            raise RuntimeError("add_listener() after start()")
        # The real base class (before any patching): stdlib, TLS and green sockets all are
        # one, or wrap one (GreenSocket).
        if not isinstance(sock, (real.socket_class, GreenSocket)):
            raise TypeError(f"listener sock must be a listening socket (greenlane.listen(...)),"
                            f" not {type(sock).__name__}: {sock!r}")
        if isinstance(sock, real.socket_class) and not hasattr(sock, "do_handshake"):
            sock = GreenSocket(sock)
        accepting = _is_listening(sock)
        if accepting is False:
            raise ValueError(f"listener sock {sock!r} is not listening: accept() on it fails "
                             "with EINVAL (Invalid argument); call its listen() first, or use "
                             "greenlane.listen(...)")
        self._listeners.append(_ListenerInfo(sock, self._environ))

    def register_on_shutdown(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when a graceful shutdown starts (to close websockets, say)."""
        self._on_shutdown.append(callback)

    @property
    def listeners(self) -> list[Any]:
        """The listening sockets."""
        return [info.sock for info in self._listeners]

    @property
    def urls(self) -> list[str]:
        """``http://host:port`` of each listener, as in the startup line."""
        return [info.url for info in self._listeners]

    def connections(self) -> list[ConnectionInfo]:
        """Read-only views of the live connections (a snapshot)."""
        return [conn.info for conn in self._conns]

    def statistics(self) -> dict[str, int]:
        """Live connections per state, plus ``"total"``."""
        counts = {state.value: 0 for state in ConnState if state is not ConnState.CLOSED}
        for conn in self._conns:
            counts[conn.state.value] += 1
        counts["total"] = len(self._conns)
        return counts

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start accepting in background green threads; returns at once."""
        if self._started:
            return
        if not self._listeners:
            raise RuntimeError("the server has no listening socket")
        self._started = True
        hub = get_hub()
        self.clock = hub.clock
        _raise_nofile_limit(self.max_connections + 64)
        if self._warn_if_root and hasattr(os, "geteuid") and os.geteuid() == 0:
            warn_running_as_root()
        pid = os.getpid()
        several = len(self._listeners) > 1
        for info in self._listeners:
            if several:
                # Their accept loops wait for readiness themselves (see _accept_loop).
                info.sock.settimeout(0.0)
            self.log.info(f"({pid}) wsgi starting up on {info.url}")
            self._accepting.append(spawn_n(self._accept_loop, info))
        # Published last: a stop() from another thread that sees the hub finds the server
        # ready to be stopped; one that does not is picked up just below.
        self.hub = hub
        if self._stop_requested is not None:
            hub.call_threadsafe(self._begin_stop)

    def serve_forever(self, stop_signals: bool = False) -> None:
        """Serve until shut down; returns once every connection is closed.

        Ctrl-C (KeyboardInterrupt) and SystemExit start a graceful shutdown of
        ``shutdown_timeout`` seconds (a second Ctrl-C closes everything at once) and then
        return, as eventlet's ``wsgi.server`` does.

        Args:
            stop_signals: while serving, SIGTERM and SIGINT stop the server gracefully and a
                second SIGINT cuts requests in flight off (main thread only; handlers set by
                the application are left alone; see ``_signals``).
        """
        restore = None
        if stop_signals:
            from greenlane.wsgi._signals import install_stop_signals

            restore = install_stop_signals(self)
        try:
            self._serve_forever()
        finally:
            if restore is not None:
                restore()

    def _serve_forever(self) -> None:
        self.start()
        try:
            self._stopped.wait()
        except (KeyboardInterrupt, SystemExit):
            if self.closing:
                # Interrupted again while a stop (SIGTERM, a first SIGINT) is under way.
                self._abort_all("second interrupt during shutdown")
                self._stopped.wait()
                return
            self.log.info("wsgi exiting")
            try:
                self.shutdown(self.shutdown_timeout)
            except (KeyboardInterrupt, SystemExit):
                self._abort_all("second interrupt during shutdown")
                self._stopped.wait()
            except BaseException:
                self._stop_now()
                raise
        except BaseException:
            # The serving green thread was killed (GreenThread.kill, greenlet.throw, a
            # Timeout): eventlet's way of stopping its server() (its tests' tearDown does).
            self._stop_now()
            raise

    def _stop_now(self) -> None:
        """Stop at once without blocking: close the listeners and every connection's socket.

        For a serving green thread that was killed and must die now: nothing here switches
        green threads. Closing a socket takes it off the hub at once, so nothing of the server
        is left waiting on a descriptor; each connection's green thread ends (without a
        response) the next time it runs, and an application still running when its
        connection was closed fails at its next write.
        """
        self.closing = True
        self._cut_off = True
        self._stop_accepting()
        for conn in list(self._conns):
            conn.close_now()
        if not self._stopped.ready():
            self._stopped.send(False)

    def _abort_all(self, reason: str) -> None:
        # The graceful shutdown in progress wakes once the aborted connections are gone.
        self._cut_off = True
        self._abort_conns(reason)

    def _abort_conns(self, reason: str) -> None:
        for conn in list(self._conns):
            conn.abort(_Abort(reason))

    def stop(self, timeout: Optional[float] = None) -> None:
        """Ask for a graceful shutdown and return at once (``timeout`` as for ``shutdown``,
        default ``shutdown_timeout``).

        Safe to call from a signal handler, from another OS thread (any number at once), and
        from any green thread; ``serve_forever`` returns when the shutdown is complete.
        Before ``start`` the request is kept and honoured when the server starts. During a
        graceful stop, ``stop(0)`` cuts the requests still in flight off at once.
        """
        self._stop_requested = (self.shutdown_timeout if timeout is None else timeout,)
        hub = self.hub
        if hub is not None and not self._stopped.ready():
            try:
                hub.call_threadsafe(self._begin_stop)
            except HubError:
                pass  # the hub's thread has ended: the server is gone with it

    def _begin_stop(self) -> None:
        # On the server's hub, as a callback: must not block, so the shutdown gets its own
        # green thread. Many stop() calls may queue this many times: only the first counts,
        # except that a later stop(0) cuts a graceful stop short.
        request = self._stop_requested
        if request is None or self._stopped.ready():
            return
        if self.closing:
            if request[0] == 0:
                self._abort_all("server stop(0) during shutdown")
            return
        self.closing = True  # taken by this stop: a second callback must not spawn again
        spawn_n(self._shutdown, request[0])

    def shutdown(self, timeout: Optional[float] = None) -> bool:
        """Stop gracefully: no new connections; let in-flight requests finish.

        Blocks the calling green thread until every connection is closed. Requests still
        running after ``timeout`` seconds (None: wait as long as they take) are cut off.

        Returns:
            True if no request was cut off.
        """
        if not self._started:
            self._started = True
            self.closing = True
            self._finish_stop(True)
            return True
        if self.closing:
            return bool(self._stopped.wait())
        self.closing = True
        return self._shutdown(timeout)

    def _shutdown(self, timeout: Optional[float]) -> bool:
        self._drained = Event()
        for callback in self._on_shutdown:
            try:
                callback()
            except Exception:
                self.log.error("error in a register_on_shutdown() callback", exc_info=True)
        # No switch to another green thread from here to the end of the loop below: no
        # connection is accepted after the listeners are closed, and each connection is told
        # while what the server knows about it (its state, the bytes waiting) is current.
        self._stop_accepting()
        for conn in list(self._conns):
            conn.begin_shutdown()
        graceful = True
        if self._conns:
            if timeout is None or timeout > 0:
                self._wait_drained(timeout)
            if self._conns:
                # Connections still waiting for a first request lose nothing when closed.
                graceful = all(conn.state is ConnState.NEW for conn in self._conns)
                self.log.info(f"({os.getpid()}) wsgi shutdown timed out: closing "
                              f"{len(self._conns)} connection(s)")
                self._abort_conns("server shutdown deadline passed")
                # Connections that had not started yet end on their first run.
                turns = 0
                while self._conns and turns < 100:
                    sleep(0)
                    turns += 1
        self._finish_stop(graceful and not self._cut_off)
        return graceful and not self._cut_off

    def close(self) -> None:
        """Stop at once: close the listeners and every connection."""
        self.shutdown(0)

    def _wait_drained(self, timeout: Optional[float]) -> None:
        """Wait until no connection is left, or ``timeout`` seconds (None: no limit)."""
        deadline = None if timeout is None else self.clock() + timeout
        while self._conns:
            drained = self._drained
            if drained is None or drained.ready():
                # Empty for a moment earlier, yet a connection is here: wait for it too.
                drained = self._drained = Event()
            remaining = None if deadline is None else deadline - self.clock()
            if remaining is not None and remaining <= 0:
                return
            drained.wait(remaining)

    def _stop_accepting(self) -> None:
        """Close the listeners; the accept loops end on their own. Never switches green
        threads: a loop parked in accept() gets IOClosed, one about to run finds the socket
        closed, one waiting for capacity is woken, and each then sees ``closing``."""
        self._accepting = []
        for info in self._listeners:
            if self.accept_backlog_on_stop:
                self._accept_backlog(info)
            try:
                info.sock.close()
            except OSError:
                pass
        if self._capacity:
            self._capacity.wake_all()

    def _finish_stop(self, graceful: bool) -> None:
        self.log.info(f"({os.getpid()}) wsgi exited")
        if not self._stopped.ready():
            self._stopped.send(graceful)

    def wait(self) -> bool:
        """Block the calling green thread until the server has stopped; return
        ``shutdown``'s result."""
        return bool(self._stopped.wait())

    def _max_requests_reached(self) -> None:
        self.log.info(f"({os.getpid()}) wsgi served max_requests={self.max_requests}: "
                      "stopping after the requests in flight")
        callback = self._on_max_requests
        if callback is None:
            self.stop()
        else:
            # In a green thread of its own: the callback may block (call shutdown()), and
            # must not run inside the request that reached the limit.
            spawn_n(self._call_on_max_requests, callback)

    def _call_on_max_requests(self, callback: Callable[[], Any]) -> None:
        try:
            callback()
        except Exception:
            self.log.error("error in the on_max_requests callback", exc_info=True)

    # -- accepting ----------------------------------------------------------------------------

    def _accept_loop(self, info: _ListenerInfo) -> None:
        # With several listeners each listening socket is non-blocking: accept() raises
        # BlockingIOError when no client waits, and the loop then parks until one does and
        # looks at the capacity again before accepting; otherwise a loop parked in accept()
        # on a quiet listener could take a client after the others filled every slot. A lone
        # listener has no rival: its accept() blocks (the cheaper path, with no exception).
        accept = info.sock.accept
        fileno = info.sock.fileno()
        park_on_fd = get_hub().park_on_fd
        current = getcurrent()
        conns = self._conns
        pause = 0.0
        take = self._take
        try:
            while not self.closing:
                if len(conns) >= self.max_connections:
                    self._capacity.park()
                    continue
                try:
                    sock, addr = accept()
                except BlockingIOError:
                    try:
                        park_on_fd(READ, fileno, current)
                    except OSError as exc:  # IOClosed: the listener was closed under us
                        if not self.closing:
                            self._listener_failed(info, exc)
                        return
                    continue
                except OSError as exc:
                    if self.closing:
                        return
                    if exc.errno in _RESOURCE_ERRNOS:
                        pause = min(pause * 2, _MAX_PAUSE) if pause else _FIRST_PAUSE
                        self.log.error(f"accept() failed: {exc}; retrying in {pause:g} s")
                        sleep(pause)
                    elif exc.errno in _FATAL_ERRNOS:
                        self._listener_failed(info, exc)
                        return
                    # Anything else concerns one pending connection (reset, aborted, TLS):
                    # skip it and keep accepting.
                    continue
                pause = 0.0
                take(info, sock, addr)
        except _Abort:
            return

    def _accept_backlog(self, info: _ListenerInfo) -> None:
        # Closing a listening socket resets every connection still in its accept queue: a
        # client that connected a moment before the stop would lose its request. Take them
        # now, without waiting (the shutdown must not switch green threads here); each then
        # starts as a new connection of a stopping server, so its first request is answered
        # with Connection: close. The queue is bounded by the listen() backlog.
        sock = info.sock
        try:
            sock.setblocking(False)
            while True:
                try:
                    client, addr = sock.accept()
                except BlockingIOError:
                    return
                except OSError as exc:
                    if exc.errno in _RESOURCE_ERRNOS or exc.errno in _FATAL_ERRNOS:
                        return
                    continue  # that one connection failed (reset, aborted): the next
                self._take(info, client, addr)
        except OSError:
            return  # the listener is already closed or broken: nothing to take

    def _take(self, info: _ListenerInfo, sock: Any, addr: Any) -> None:
        if info.is_tcp:
            try:
                # Head and body already go out in one write; Nagle would only delay the next
                # response on a kept-alive connection (gevent's 40 ms stall).
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._start_connection(info, sock, addr)

    def _listener_failed(self, info: _ListenerInfo, exc: OSError) -> None:
        """A listening socket became unusable (closed or shut down under the server): log
        it; when it was the last one, stop gracefully, as eventlet's server did."""
        self.log.error(f"listening socket {info.url} failed: {exc}")
        current = getcurrent()
        self._accepting = [g for g in self._accepting if g is not current]
        if not self._accepting and not self.closing:
            self.stop()

    def _start_connection(self, info: _ListenerInfo, sock: Any, addr: Any) -> None:
        conn = Connection(self, info, sock, addr)
        self._conns[conn] = None
        self.log.debug(f"({os.getpid()}) accepted {addr!r}")
        try:
            conn.start(spawn_n if self.custom_pool is None else self.custom_pool.spawn)
        except BaseException:
            self._conns.pop(conn, None)
            sock.close()
            raise

    def _forget(self, conn: Connection) -> None:
        """A connection closed (called from its green thread)."""
        conns = self._conns
        conns.pop(conn, None)
        if self._capacity and len(conns) < self.max_connections:
            # Every parked loop looks again: the slot goes to a listener that has a client.
            self._capacity.wake_all()
        drained = self._drained
        if drained is not None and not conns and not drained.ready():
            drained.send(None)


def _line_writer(target: Any) -> Callable[[str], None]:
    """A callable writing one access-log line to a logger (``info``) or a file."""
    info = getattr(target, "info", None)
    if callable(info):
        return info  # type: ignore[no-any-return]
    write = getattr(target, "write", None)
    if not callable(write):
        raise TypeError(f"access_log must be True, False, a file or a logger, not {target!r}")

    def write_line(line: str) -> None:
        write(line + "\n")

    return write_line
