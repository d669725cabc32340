"""One client connection: the loop recv -> parse -> application -> send, in one green thread.

Read this file top to bottom to see what happens to a request. ``Connection.run`` is the green
thread's body; ``_serve`` is the per-connection loop::

    wait for a request head (header timeout; idle timeout between requests)
      -> malformed: error response from _errors, lingering close, end
    build the environ (trusted proxy headers applied), before-request hook, call the
    application, send its response (write timeout per write)
    posthooks, access log, after-request hook
    reuse the connection? (_should_reuse: not hijacked, neither side asked to close, body
      fully read or drained, server not shutting down) -> loop; otherwise close

Cost per request on the fast path: one ``recv_into`` into the server's shared buffer (the
data is copied into the parser before anything can switch green threads, so one buffer serves
every connection), one environ ``dict.copy()``, one ``send`` of head and body together, and
no timer or green-thread creation.

Batching: a connection yields to the hub twice per request, once when the application has
returned (before its response goes out) and once after the response (before reading the next
request). Under load, with many connections ready, the hub then runs the applications of all
of them one after another, then their responses, then their next requests, instead of
alternating an application's code with the server's for every request. Python code that
alternates between two large code paths runs much slower than the same code in runs (the
CPU's caches and branch predictors keep being refilled): measured on Flask hello with 50
keep-alive connections, the two yields cut the server process's CPU time per request by about
15-20% on CPython and PyPy, far more than the two switches cost. The yield after the response
also saves a syscall: the client sends its next request only after reading the response, so
reading at once would mostly fail with EAGAIN, while after the other connections' turn the
request is usually there. A connection alone pays two switches to the hub and back.

Timeouts are deadlines, not timers: arming one stores ``clock() + seconds`` in
``self._deadline``. A single per-connection hub timer checks it lazily; it is created when a
deadline is first armed and then re-scheduled only when it fires, at most every
``timer_period`` seconds (the shortest configured timeout), so it can never fire later than a
newly armed deadline. When a deadline has passed, the timer throws into the green thread,
which at that moment is parked in the read or write the deadline guards:

* reading a request head, waiting idle, lingering, writing: :class:`_Abort`, a
  ``BaseException`` that applications cannot swallow with ``except Exception``;
* reading the body on behalf of the application: :class:`BodyTimeout`, a ``socket.timeout``,
  as eventlet's ``socket_timeout`` raised.

States (``ConnState``): NEW until the first byte, ACTIVE while a request is read or answered,
IDLE while waiting for the next request, HIJACKED once the application took the socket,
CLOSED at the end. The ``on_state`` hook and ``Server.connections()`` see a connection only
through :class:`ConnectionInfo`, a read-only view.

Graceful stop (``Connection.begin_shutdown``) never loses a request the client has sent, or
is sending, on a connection the server accepted; every request it answers says
``Connection: close``:

* NEW (accepted, no byte read yet): the client connected to send a request, which may still
  be on the wire (a client sends right after its handshake; the server accepts before the
  bytes arrive). A request already waiting is answered; otherwise the connection has until
  ``NEW_CONNECTION_GRACE`` seconds after its accept to send its request head, and is closed
  if it stays silent. A connection accepted but not started yet when the stop begins is
  treated the same way when it starts. Closing a silent one does not make the stop count as
  cut short.
* IDLE: closed at once when no byte is waiting on it; when the next request is already there
  (in the socket or the parser's buffer), it is answered first.
* ACTIVE: finishes its request. If its response head had already gone out promising
  keep-alive, the client may have sent its next request meanwhile: after the response the
  connection is treated as IDLE (answered if bytes are waiting, else closed).
* HIJACKED, or marked with ``eventlet.set_idle``: the socket is shut down, so the application
  holding it sees EOF.

Closing an idle connection while the client starts a request on it is the race every
keep-alive client must handle (RFC 9112 §9.3.1: retry an idempotent request on a new
connection); closing only when nothing is waiting keeps it to that window.
"""

from __future__ import annotations

import enum
import errno
import os
import select
import socket
import traceback
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from greenlet import GreenletExit, getcurrent, greenlet

from greenlane import _originals as real
from greenlane._http1 import (
    DONE,
    ERROR,
    NEED_DATA,
    SEND_BODY,
    SEND_RESPONSE,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    ServerConnection,
)
from greenlane.greenio._socket import GreenSocket, io_retry
from greenlane.greenthread import kill, sleep
from greenlane.hubs import READ, trampoline
from greenlane.timeout import Timeout
from greenlane.wsgi import _errors
from greenlane.wsgi._input import Input
from greenlane.wsgi._response import WRITE_SLICE, FileWrapper, Response

if TYPE_CHECKING:
    from greenlane.hubs.timer import Timer
    from greenlane.wsgi._proxy import ProxyPolicy
    from greenlane.wsgi._server import Server, _ListenerInfo

__all__ = ["NEW_CONNECTION_GRACE", "BodyTimeout", "ConnState", "Connection", "ConnectionInfo"]


class ConnState(enum.Enum):
    """The life cycle of a connection, as Go's ``http.ConnState``.

    NEW -> ACTIVE -> (IDLE -> ACTIVE)* -> CLOSED, with HIJACKED possible from ACTIVE.
    """

    NEW = "new"
    """Accepted; no byte of a request received yet."""
    ACTIVE = "active"
    """A request is being read, handled or answered."""
    IDLE = "idle"
    """Between requests on a keep-alive connection."""
    HIJACKED = "hijacked"
    """The application took the socket (``wsgi.input.get_socket()``); the server no longer
    speaks HTTP on it."""
    CLOSED = "closed"
    """Closed; the connection is no longer tracked."""


_NEW = ConnState.NEW
_ACTIVE = ConnState.ACTIVE
_IDLE = ConnState.IDLE
_HIJACKED = ConnState.HIJACKED
_CLOSED = ConnState.CLOSED

# What an expired deadline throws.
_KIND_ABORT = 0
_KIND_BODY = 1

# After an error response: how long, and how many bytes, to keep reading (and discarding) what
# the client still sends before closing, so that closing with unread data does not make the
# kernel send a RST that destroys the response in flight. Apache lingers up to 2 s
# (SECONDS_TO_LINGER); Go reads up to 256 KiB.
LINGER_SECONDS = 2.0
LINGER_BYTES = 256 * 1024

# A graceful stop gives a connection that has not sent a byte yet this long after its accept
# to send its request head (Go's Server.Shutdown counts a new connection silent for 5 s as
# idle). A client sends its request right after its TCP (or TLS) handshake, so this only
# delays a stop when a client connected without sending anything (a speculative preconnect).
NEW_CONNECTION_GRACE = 5.0

# The most one os.sendfile() call is asked for: the write timeout is re-armed per call, so it
# bounds the time without progress, as WRITE_SLICE does for send().
_SENDFILE_SLICE = 1 << 24

_POLLIN = getattr(select, "POLLIN", 1)  # a constant: patching does not replace it

# Errors that only mean the client went away; not worth a log line.
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
_GONE_ERRNOS = frozenset([errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN,
                          errno.EBADF, errno.ETIMEDOUT])


class _Abort(BaseException):
    """Ends a connection quietly: timeout, client gone, server shutdown.

    A BaseException so that an application's ``except Exception`` around ``write()`` cannot
    keep a dead connection going.
    """


class BodyTimeout(socket.timeout):
    """No request-body bytes arrived within ``body_timeout`` (seen by the application)."""


class ConnectionInfo:
    """A read-only view of one connection: what ``on_state`` hooks and
    ``Server.connections()`` get.

    The same object stands for the connection during its whole life (it can be a dict key);
    its attributes read the connection's current values. It gives no access to the socket or
    to the server's internals. Not in eventlet.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def state(self) -> ConnState:
        """The connection's current ConnState."""
        return self._conn.state

    @property
    def remote_addr(self) -> str:
        """The peer's address as the socket reports it (``"unix"`` for a Unix socket).

        With trusted proxy headers this stays the proxy's address; the client's is in each
        request's ``REMOTE_ADDR``.
        """
        return self._conn.remote_addr

    @property
    def remote_port(self) -> str:
        """The peer's port (``""`` for a Unix socket)."""
        return self._conn.remote_port

    @property
    def request_count(self) -> int:
        """Requests started on this connection so far."""
        return self._conn.request_count

    @property
    def listener_url(self) -> str:
        """The listener it was accepted on, as in the startup line (``http://127.0.0.1:8000``)."""
        return self._conn._listener.url

    def __repr__(self) -> str:
        conn = self._conn
        return (f"<greenlane.wsgi.ConnectionInfo {conn.remote_addr}:{conn.remote_port} "
                f"{conn.state.value} requests={conn.request_count}>")


class Connection:
    """One accepted socket and the green thread serving it (internal to the server).

    Public attributes are the ones :class:`~greenlane.wsgi._response.ResponseChannel` and
    :class:`~greenlane.wsgi._input.BodyChannel` promise, plus:

    Attributes:
        server: the owning Server (immutable).
        state: the ConnState; written only by this connection's green thread, except
            CLOSED transitions through ``abort``.
        request_count: requests started on this connection.
        remote_addr, remote_port: the peer's address, as strings.
    """

    __slots__ = (
        "_accepted_at",
        "_build_env",
        "_deadline",
        "_deadline_kind",
        "_doomed",
        "_env_base",
        "_greenlet",
        "_hook",
        "_idle_ok",
        "_info",
        "_listener",
        "_parser",
        "_proxy",
        "_raw",
        "_sock",
        "_timer",
        "can_sendfile",
        "header_policy",
        "http10_only",
        "peer_closed",
        "remote_addr",
        "remote_port",
        "request_count",
        "server",
        "state",
    )

    def __init__(self, server: Server, listener: _ListenerInfo, sock: Any, addr: Any) -> None:
        self.server = server
        self._listener = listener
        self._sock = sock
        if isinstance(addr, tuple) and len(addr) >= 2:
            self.remote_addr = str(addr[0])
            self.remote_port = str(addr[1])
        else:
            self.remote_addr = str(addr) if addr else "unix"
            self.remote_port = ""
        self._env_base = listener.env_base_for(sock)
        # Bound once per connection rather than once per request.
        self._build_env = listener.environ.build
        self._raw = _plain_socket(sock)
        self._parser = ServerConnection(server.limits, server.idle_timeout)
        self.state = _NEW
        self._greenlet: Optional[greenlet] = None
        self._deadline = 0.0
        self._deadline_kind = _KIND_ABORT
        self._timer: Optional[Timer] = None
        self._accepted_at = 0.0  # set when the green thread starts
        self.request_count = 0
        self.peer_closed = False
        self._idle_ok = False
        self._doomed: Optional[BaseException] = None
        self.can_sendfile = listener.can_sendfile
        self.header_policy = server.header_policy
        self.http10_only = server.http10_only
        policy = server.proxy_policy
        self._proxy: Optional[ProxyPolicy] = (
            policy if policy is not None and policy.trusts_peer(self.remote_addr, addr)
            else None)
        hook = server.on_state
        self._hook: Optional[Callable[[ConnectionInfo, ConnState], Any]] = hook
        # The view exists from the start when a hook will see it, so that every call gets the
        # same object.
        self._info: Optional[ConnectionInfo] = ConnectionInfo(self) if hook is not None else None

    def __repr__(self) -> str:
        return (f"<greenlane.wsgi.Connection {self.remote_addr}:{self.remote_port} "
                f"{self.state.value} requests={self.request_count}>")

    @property
    def info(self) -> ConnectionInfo:
        """The read-only view of this connection."""
        info = self._info
        if info is None:
            info = self._info = ConnectionInfo(self)
        return info

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None:
        """Run the connection in a green thread made by ``spawn`` (spawn_n, or a pool's)."""
        self._greenlet = spawn(self.run)

    def run(self) -> None:
        """The green thread's body: serve requests until the connection ends."""
        try:
            if self._doomed is None:
                if self._hook is not None:
                    self._hook(self.info, _NEW)
                self._serve()
        except (_Abort, GreenletExit):
            pass
        except OSError as exc:
            if not _is_gone(exc) and self._doomed is None:
                self.server.log.error(f"connection from {self.remote_addr} failed: {exc!r}")
        except Exception:
            self.server.log.error(f"internal error serving {self.remote_addr}", exc_info=True)
        finally:
            self._close()

    def _close(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._deadline = 0.0
        try:
            self._sock.close()
        except OSError:
            pass
        self._set_state(_CLOSED)
        self.server._forget(self)

    def _set_state(self, state: ConnState) -> None:
        self.state = state
        if self._hook is not None:
            self._hook(self.info, state)

    def abort(self, exc: Optional[BaseException] = None) -> None:
        """End the connection from outside its green thread (shutdown, force close).

        The green thread gets ``exc`` (default :class:`_Abort`) wherever it is parked and
        closes the socket itself; one that has not started yet ends as soon as it starts.
        """
        if exc is None:
            exc = _Abort("connection closed by the server")
        g = self._greenlet
        if g is None or not g:
            if g is None or not g.dead:
                self._doomed = exc
            return
        if g is getcurrent():
            raise exc
        kill(g, exc)

    def close_now(self) -> None:
        """Close the socket at once, from outside the connection's green thread, without
        switching (the server's serving green thread was killed): the green thread ends
        quietly the next time it runs."""
        if self._doomed is None:
            self._doomed = _Abort("server stopped")
        try:
            self._sock.close()
        except OSError:
            pass

    def begin_shutdown(self) -> None:
        """The server is stopping gracefully: end this connection as soon as no request the
        client sent or is sending can be lost (see "Graceful stop" in the module docstring).

        Called by ``Server`` in its shutdown green thread, once per connection, after
        ``server.closing`` was set.
        """
        g = self._greenlet
        if g is None or not g:
            # Not started yet: it sees server.closing when it starts (_serve).
            return
        state = self.state
        if state is _NEW:
            self._shutdown_new()
        elif state is _IDLE:
            if self._input_pending():
                self.close_after_response()  # the next request is already here: answer it
            else:
                self.abort()
        elif state is _HIJACKED or self._idle_ok:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif state is _ACTIVE:
            parser = self._parser
            our = parser.our_state
            if (our is SEND_BODY or our is DONE) and not parser.our_must_close:
                # The head went out promising keep-alive: the client may send its next request
                # before it sees the close. _handle answers one already waiting, then closes.
                return
            self.close_after_response()

    def _shutdown_new(self) -> None:
        """A graceful stop found this connection NEW: give its first request time to arrive."""
        self._parser.close_after_response()
        if self._input_pending():
            return  # arriving now: it is read and answered as usual
        deadline = self._accepted_at + NEW_CONNECTION_GRACE
        if self._deadline and self._deadline <= deadline:
            return  # the header deadline comes first anyway
        if deadline <= self.server.clock():
            self.abort()  # silent for the whole grace already
            return
        # Sooner than the timer's cadence: re-schedule it for the new deadline.
        self._deadline = deadline
        self._deadline_kind = _KIND_ABORT
        timer = self._timer
        if timer is not None:
            timer.cancel()
        self._timer = None
        self._start_timer()

    def _input_pending(self) -> bool:
        """True when the client has sent bytes not processed yet (or closed its side):
        buffered in the parser, decrypted by TLS, or waiting in the kernel."""
        if self._parser.has_pending_data:
            return True
        sock = self._sock
        pending = getattr(sock, "pending", None)  # TLS: decrypted bytes already buffered
        if pending is not None and pending():
            return True
        try:
            fd = sock.fileno()
        except OSError:
            return False
        return fd >= 0 and _readable_now(fd)

    def close_after_response(self) -> None:
        """Make the current response the connection's last (``Connection: close`` is added
        if its head has not gone out yet)."""
        self._parser.close_after_response()

    # -- deadlines ----------------------------------------------------------------------------

    def _arm(self, seconds: Optional[float], kind: int = _KIND_ABORT,
             since: float = 0.0) -> None:
        # ``since``: when the timeout started, if earlier than now (the idle timeout runs from
        # the end of the response, not from the read that found nothing yet).
        if seconds is None:
            self._deadline = 0.0
            return
        server = self.server
        now = server.clock()
        if since:
            seconds = max(seconds - (now - since), 0.0)
        self._deadline = now + seconds
        self._deadline_kind = kind
        timer = self._timer
        if timer is None:
            self._timer = server.hub.schedule_call_global(
                min(seconds, server.timer_period), self._on_timer)
        elif seconds < server.timer_period:
            # Shorter than the timer's cadence (lingering, or an idle timeout that is the
            # shortest one): the timer may be due too late.
            timer.cancel()
            self._timer = server.hub.schedule_call_global(seconds, self._on_timer)

    def _start_timer(self) -> None:
        server = self.server
        remaining = self._deadline - server.clock()
        self._timer = server.hub.schedule_call_global(
            min(max(remaining, 0.0), server.timer_period), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if not deadline:
            return  # disarmed since: stop ticking until the next _arm
        server = self.server
        remaining = deadline - server.clock()
        if remaining > 0:
            self._timer = server.hub.schedule_call_global(
                min(remaining, server.timer_period), self._on_timer)
            return
        self._deadline = 0.0
        g = self._greenlet
        if g is None or g.dead or not g:
            return
        if self._deadline_kind == _KIND_BODY:
            kill(g, BodyTimeout("timed out reading the request body"))
        else:
            kill(g, _Abort("timed out"))

    # -- raw socket I/O -----------------------------------------------------------------------
    # The two operations of every request, and the one place that reaches under GreenSocket:
    # try the syscall on the plain non-blocking socket (``_raw``), and arm a deadline and
    # park only on EAGAIN (``_plain_socket``, at the end of the file, finds that socket).
    # They stay inline (no helper call per request) for speed; to move onto greenio's public
    # try/EAGAIN/wait helper when it exists.

    def _wait_for_head(self) -> Any:
        """Receive until the parser has a request head (or EOF); returns the event.

        A deadline is armed only when the green thread is about to park: a head already in
        the socket's buffer costs no clock read and no timer work.
        """
        server = self.server
        parser = self._parser
        hook = self._hook
        state = self.state
        idle_since = 0.0
        if state is _ACTIVE:
            # Between requests: idle until the first byte of the next one. The idle timeout
            # counts from here, before the yield below: the client may start its own clock as
            # soon as it has the response (eventlet's tests sleep exactly the timeout).
            state = self.state = _IDLE
            idle_since = server.clock()
            if hook is not None:
                hook(self.info, _IDLE)
            # Let every other ready green thread run first (see "Batching" in the module
            # docstring): a recv right now would mostly fail with EAGAIN, since the client
            # sends its next request only after reading this response.
            sleep(0)
        raw = self._raw
        while True:
            if raw is not None:
                buffer = server.recv_buffer
                try:
                    n = raw.recv_into(buffer)
                except BlockingIOError:
                    if state is _IDLE:
                        self._arm(server.idle_timeout, _KIND_ABORT, idle_since)
                    elif self._timer is None and self._deadline:
                        # NEW: the header deadline set at accept needs its timer now.
                        self._start_timer()
                    n = io_retry(raw.fileno(), READ, None, raw.recv_into, (buffer,))
                if n:
                    data = server.recv_view[:n].tobytes()
                else:
                    self.peer_closed = True
                    data = b""
            else:
                if state is _IDLE:
                    self._arm(server.idle_timeout, _KIND_ABORT, idle_since)
                data = self._recv()
            was = state
            if state is not _ACTIVE and data:
                state = self.state = _ACTIVE
                if hook is not None:
                    hook(self.info, _ACTIVE)
            parser.receive_data(data)
            event = parser.next_event()
            if event is not NEED_DATA:
                self._deadline = 0.0
                return event
            if was is _IDLE:
                # The header timeout runs from the first byte of the request (for a new
                # connection, from accept: it is armed already).
                self._arm(server.read_header_timeout)

    def send(self, data: Union[bytes, memoryview]) -> None:
        """Write all of ``data``, each slice under the write timeout; _Abort if it fails."""
        if self.state is _HIJACKED:
            return
        raw = self._raw
        if raw is not None and len(data) <= WRITE_SLICE:
            # Fast path: the kernel usually takes a whole response at once; then no write
            # deadline is needed, since the write could not stall.
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise _Abort(f"client gone: {exc}") from None
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        timeout = self.server.write_timeout
        sendall = self._sock.sendall
        try:
            if len(data) <= WRITE_SLICE:
                if timeout is not None:
                    self._arm(timeout)
                sendall(data)
            else:
                view = memoryview(data)
                for start in range(0, len(data), WRITE_SLICE):
                    if timeout is not None:
                        self._arm(timeout)
                    sendall(view[start:start + WRITE_SLICE])
        except OSError as exc:
            raise _Abort(f"client gone: {exc}") from None
        finally:
            self._deadline = 0.0

    # -- I/O ----------------------------------------------------------------------------------

    def _recv(self) -> bytes:
        """One recv into the server's shared buffer; the bytes are copied out at once."""
        server = self.server
        n = self._sock.recv_into(server.recv_buffer)
        if not n:
            self.peer_closed = True
            return b""
        return server.recv_view[:n].tobytes()

    def receive_body_data(self) -> None:
        """Feed the parser more body bytes (for Input), under the body timeout."""
        self._arm(self.server.body_timeout, _KIND_BODY)
        try:
            data = self._recv()
        finally:
            self._deadline = 0.0
        self._parser.receive_data(data)

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        """Send ``count`` bytes of file ``fd`` from ``offset`` with ``os.sendfile``."""
        out = self._sock.fileno()
        timeout = self.server.write_timeout
        try:
            while count > 0:
                if timeout is not None:
                    self._arm(timeout)
                try:
                    sent = os.sendfile(out, fd, offset, min(count, _SENDFILE_SLICE))
                except BlockingIOError:
                    trampoline(out, write=True)
                    continue
                if sent == 0:
                    raise _Abort("file shorter than its size")
                offset += sent
                count -= sent
        except OSError as exc:
            raise _Abort(f"client gone: {exc}") from None
        finally:
            self._deadline = 0.0

    def send_continue(self, headers: Optional[list[tuple[str, str]]]) -> None:
        """Send ``100 Continue`` (with eventlet's optional extra fields)."""
        parser = self._parser
        if headers or not parser.they_are_waiting_for_100_continue:
            # With fields, or again (eventlet's send_hundred_continue_response may send
            # several): any number of 1xx responses may precede the final one.
            data = parser.send_response(100, "Continue", headers or [])
        else:
            data = parser.send_continue()
        self.send(data)

    # -- hijacking (websockets) ---------------------------------------------------------------

    def hijack(self) -> Any:
        """Hand the socket to the application: no more HTTP from the server on it."""
        if self.state is not _HIJACKED:
            self._deadline = 0.0
            self._set_state(_HIJACKED)
        return self._sock

    def set_idle(self) -> None:
        """``environ['eventlet.set_idle']``: a long-lived request (a websocket) that a
        graceful stop should end rather than wait for."""
        self._idle_ok = True

    # -- the loop -----------------------------------------------------------------------------

    def _serve(self) -> None:
        server = self.server
        parser = self._parser
        self._accepted_at = now = server.clock()
        if self._raw is not None:
            # The header deadline runs from accept, but its timer is only started if the
            # connection has to wait (_wait_for_head): a client whose request is already
            # there, as with one request per connection, costs no timer at all.
            seconds = server.read_header_timeout
            if seconds is not None:
                self._deadline = now + seconds
                self._deadline_kind = _KIND_ABORT
            if server.closing:
                # Accepted just before a graceful stop began: its request may be on the way.
                self._shutdown_new()
        else:
            self._arm(server.read_header_timeout)
            if server.closing:
                self._shutdown_new()
            if getattr(self._sock, "_handshake_pending", False):
                # TLS: the handshake runs here, in this connection's green thread, under the
                # header timeout; a client failing it only ends its own connection.
                self._sock.do_handshake()
        while True:
            try:
                # Nothing buffered (no pipelined request): next_event() would say NEED_DATA.
                event = parser.next_event() if parser.has_pending_data else NEED_DATA
                if event is NEED_DATA:
                    event = self._wait_for_head()
            except RemoteProtocolError as exc:
                self._reject(exc)
                return
            if type(event) is not Request:
                return  # ConnectionClosed: the client closed between requests
            self.request_count += 1
            if not self._handle(event):
                return

    def _reject(self, exc: RemoteProtocolError) -> None:
        """Answer a request the parser refused, then close (lingering)."""
        self._deadline = 0.0
        self.server.log.debug(f"rejected request from {self.remote_addr}: {exc} "
                              f"({exc.error_status_hint})")
        if self.peer_closed:
            return  # closed mid-request: nobody to answer
        self.send(_errors.render_protocol_error(exc))
        self._linger()

    def _linger(self) -> None:
        """Half-close, then discard what the client still sends for a while, then close."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        # The response is out, nothing is in flight: a graceful stop ends the lingering (shuts
        # the socket down) instead of waiting up to LINGER_SECONDS for it.
        self._idle_ok = True
        budget = LINGER_BYTES
        self._arm(LINGER_SECONDS)
        try:
            while budget > 0 and not self.peer_closed:
                budget -= len(self._recv())
        except (_Abort, OSError):
            pass
        finally:
            self._deadline = 0.0

    def _handle(self, request: Request) -> bool:
        """Run the application for ``request`` and send its response; True to keep going."""
        server = self.server
        parser = self._parser
        if not server.keepalive:
            parser.close_after_response()  # a shutdown marks the parser too (begin_shutdown)
        field_limit = server.max_header_field_size
        if field_limit is not None:
            for name, value in request.headers:
                if len(name) + len(value) + 2 > field_limit:
                    self._reject(RemoteProtocolError(
                        f"a header field is longer than {field_limit} bytes", 431))
                    return False
        env = self._build_env(self._env_base, request, self.remote_addr, self.remote_port)
        if self._proxy is not None:
            try:
                self._proxy.apply(env)
            except RemoteProtocolError as exc:
                self._reject(exc)
                return False
        body = Input(self, parser, request.chunked or bool(request.content_length))
        env["wsgi.input"] = body
        env["eventlet.input"] = body
        posthooks: Optional[list[Any]] = []
        env["eventlet.posthooks"] = posthooks
        env["eventlet.set_idle"] = self.set_idle
        response = Response(self, parser, request)
        access = server.access_log
        hooks = server.request_hooks
        started = server.clock() if access is not None or hooks is not None else 0.0
        try:
            try:
                if hooks is not None:
                    hooks.before(env, self)
                result = server.app(env, response.start_response)
                try:
                    # Let the other ready connections run their applications before this
                    # response goes out (see "Batching" in the module docstring).
                    sleep(0)
                    if server.closing and parser.our_state is SEND_RESPONSE:
                        # A stop began while the application ran: say so in its response.
                        parser.close_after_response()
                    if self.state is _HIJACKED:
                        pass
                    elif type(result) is list or type(result) is tuple:
                        response.send_list(result)  # type: ignore[arg-type]
                    elif type(result) is FileWrapper and response.send_file(result):
                        pass
                    else:
                        minimum = env.get("eventlet.minimum_write_chunk_size",
                                          server.minimum_chunk_size)
                        response.send_iterable(result, minimum or 0)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            except (Exception, Timeout) as exc:  # noqa: BLE001 - an app's failure is reported
                if not self._app_failed(request, response, exc):
                    return False
            # The application may have replaced the list (eventlet's tests do).
            posthooks = env.get("eventlet.posthooks")
            if posthooks:
                self._run_posthooks(env, posthooks)
            if access is not None:
                access.log(env, f"{request.method} {request.target} HTTP/{request.http_version}",
                           response.code, response.body_bytes, server.clock() - started)
        finally:
            if hooks is not None:
                hooks.after(env, response, server.clock() - started)
        # _should_reuse() and start_next_cycle() in one call, for the common case.
        if self.state is not _HIJACKED and parser.next_cycle_if_done():
            return not server.closing or self._last_if_pending()
        return self._reuse_after_draining()

    def _should_reuse(self) -> bool:
        """Whether this connection may serve another request now (Go's
        ``shouldReuseConnection``): the application did not take the socket, neither side
        asked to close, and the request body was read to its end. (A server that is
        stopping still answers a request already waiting: ``_last_if_pending``.)"""
        parser = self._parser
        return (self.state is not _HIJACKED and not parser.our_must_close
                and parser.their_body_complete)

    def _last_if_pending(self) -> bool:
        """The server is stopping and this response promised keep-alive: answer the next
        request (with ``Connection: close``) only if it is already waiting; True if so."""
        if self._input_pending():
            self._parser.close_after_response()
            return True
        return False

    def _reuse_after_draining(self) -> bool:
        """The slow path after a response: drain an unread body, or close (lingering when
        the client may still be sending). True if the connection can be reused after all."""
        if self.state is _HIJACKED:
            return False
        parser = self._parser
        if not parser.their_body_complete:
            if parser.our_must_close or not self._drain():
                self._linger()
                return False
        if self._should_reuse():
            parser.start_next_cycle()
            return not self.server.closing or self._last_if_pending()
        return False

    def _drain(self) -> bool:
        """Read and drop the unread rest of the request body, up to ``max_drain_bytes``.

        True when the body was consumed and the connection can be reused.
        """
        parser = self._parser
        budget = self.server.max_drain_bytes
        try:
            while budget >= 0:
                chunk = parser.read_body(65536)
                if chunk is None:
                    self.receive_body_data()
                    continue
                if not chunk:
                    return True
                budget -= len(chunk)
        except (RemoteProtocolError, BodyTimeout, OSError):
            return False
        return False

    def _app_failed(self, request: Request, response: Response, exc: BaseException) -> bool:
        """The application (or its response) raised; answer if possible. True to go on."""
        server = self.server
        if isinstance(exc, BodyTimeout):
            server.log.debug(f"body timeout from {self.remote_addr}")
            if not response.headers_sent:
                self._answer_for_app(response, 408, _errors.render_status(408))
            return False
        parser_error = self._parser.their_state is ERROR
        if isinstance(exc, LocalProtocolError):
            server.log.error(f"invalid response from the application to {request.method} "
                             f"{request.target}: {exc}")
        elif not parser_error:
            server.log.error(f"error in the application handling {request.method} "
                             f"{request.target} from {self.remote_addr}", exc_info=True)
        if response.headers_sent:
            return False  # the client must see a broken response, not a truncated one
        if parser_error:
            # The application failed because the request body was malformed: say so.
            try:
                self._parser.next_event()
            except RemoteProtocolError as perr:
                status = perr.error_status_hint
                self._answer_for_app(response, status, _errors.render_protocol_error(perr))
                self._linger()
                return False
        text = ""
        if server.debug:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._answer_for_app(response, 500, _errors.render_app_error(text))
        self._linger()
        return False

    def _answer_for_app(self, response: Response, status: int, data: bytes) -> None:
        # The access log and the after-request hook report what the client got.
        response.code = status if 400 <= status <= 599 else 400
        response.reason = _errors.reason_phrase(response.code)
        response.headers = []
        self.send(data)

    def _run_posthooks(self, env: dict[str, Any],
                       hooks: list[tuple[Callable[..., Any], Any, Any]]) -> None:
        for hook, args, kwargs in hooks:
            try:
                hook(env, *args, **kwargs)
            except Exception:
                self.server.log.error("error in an eventlet.posthooks callback", exc_info=True)


def _plain_socket(sock: Any) -> Optional[socket.socket]:
    """The plain socket under a GreenSocket, for the fast paths of _wait_for_head and send;
    None for TLS and for sockets with a timeout of their own, which take the general path."""
    if type(sock) is GreenSocket and sock.gettimeout() is None:
        return sock.fd
    return None


def _readable_now(fd: int) -> bool:
    """Whether ``fd`` has input waiting (or is at EOF or in error), without blocking."""
    poll = real.poll
    try:
        if poll is not None:
            poller = poll()
            poller.register(fd, _POLLIN)
            return bool(poller.poll(0))
        return bool(real.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _is_gone(exc: OSError) -> bool:
    return isinstance(exc, _GONE) or exc.errno in _GONE_ERRNOS
