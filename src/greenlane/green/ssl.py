"""The ``ssl`` module with cooperative TLS sockets: ``greenlane.green.ssl``.

Everything in the stdlib ``ssl`` module is here, with ``SSLContext`` (``GreenSSLContext``) and
``SSLSocket`` (``GreenSSLSocket``) replaced: handshake, read, write, sendall, unwrap, connect
and accept suspend only the calling green thread. ``create_default_context()`` returns a
``GreenSSLContext``. Any ``ssl.SSLContext`` works with ``wrap_socket(sock, context=ctx)``.

Differences from eventlet:

* A server socket's ``accept()`` does not run the TLS handshake: the accepted socket runs it on
  its first read, write or certificate/ALPN query (or an explicit ``do_handshake()``), in the
  green thread that handles the connection. A client that connects and stalls, or resets during
  the handshake, therefore cannot hold up or break the accept loop.
* ``wrap_socket()`` keeps eventlet's (and Python 3.11's removed) signature, but without a
  ``context`` it builds a TLS client or server context (``ssl_version`` defaults to None, meaning
  ``PROTOCOL_TLS_CLIENT``/``PROTOCOL_TLS_SERVER``); as before, clients then verify nothing
  (``cert_reqs=CERT_NONE``): pass ``context=create_default_context()`` to verify.
* ``GreenSSLSocket`` has no public constructor (the stdlib's rule); use ``wrap_socket`` or
  ``SSLContext.wrap_socket``. ``get_server_certificate`` is the stdlib's and blocks.
"""

from __future__ import annotations

import ssl as _stdssl
import sys
import types
import weakref
from ssl import *  # noqa: F403
from ssl import SSLWantReadError, SSLWantWriteError
from typing import Any, Callable, Optional

from greenlane import _originals as real
from greenlane.greenio._io import (
    SocketTimeouts,
    byte_view,
    deadline,
    io_retry,
    notify_close,
    send_all,
)
from greenlane.greenio._socket import green_connect
from greenlane.hubs.hub import READ, WRITE

_EXTRA = ["GreenSSLContext", "GreenSSLSocket", "wrap_socket"]
__all__ = sorted({name for name, value in vars(_stdssl).items()
                  if not name.startswith("_") and not isinstance(value, types.ModuleType)}
                 | set(_EXTRA))

# What monkey patching replaces: contexts the stdlib builds (create_default_context, ...) and
# those users build make GreenSSLSockets, whatever the SSLContext class they are.
__patches__ = (("socket", "ssl", ("SSLContext.sslsocket_class",)),)

# The C socket type: its methods work on SSLSocket too, bypassing SSLSocket's overrides.
_CSocket: Any = real.socket_class

# In io_retry's order: "again" (same direction), then "want read", "want write".
_WOULD_BLOCK = (BlockingIOError, SSLWantReadError, SSLWantWriteError)
_SSLSocket: Any = _stdssl.SSLSocket


class _PyPyTimeoutView:
    """What PyPy's ``_ssl`` module sees of a ``GreenSSLSocket``: its fd, and a timeout of 0.

    CPython's ``_ssl`` reads the C-level socket timeout, which is always 0 here, so it raises
    ``SSLWantReadError``/``SSLWantWriteError`` and the green code waits in the hub. PyPy's
    pure-Python ``_ssl`` calls ``gettimeout()`` on the Python object instead, gets the *green*
    timeout (None) and then waits itself with ``poll()``, blocking every green thread.
    """

    __slots__ = ("__weakref__", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def fileno(self) -> int:
        return _CSocket.fileno(self._sock)  # type: ignore[no-any-return]

    def gettimeout(self) -> float:
        return 0.0


def _direction(exc: BaseException, default: str) -> str:
    if isinstance(exc, SSLWantWriteError):
        return WRITE
    if isinstance(exc, SSLWantReadError):
        return READ
    return default


class GreenSSLSocket(SocketTimeouts, _stdssl.SSLSocket):
    """An ``ssl.SSLSocket`` whose blocking calls suspend only the calling green thread.

    The real socket is always non-blocking; ``settimeout``/``setblocking`` set the green
    behaviour, as on ``GreenSocket`` (the same ``SocketTimeouts``: ``socket.timeout`` after a
    timeout, pass-through ``SSLWantReadError``/``SSLWantWriteError`` in non-blocking mode). See
    the module docstring for the deferred server-side handshake.
    """

    # Class defaults: the stdlib's _create() calls methods before any instance state is set.
    _timeout: Optional[float] = None
    act_non_blocking = False
    _handshake_pending = False
    # Set by the stdlib's SSLSocket._create(); declared for the type checker.
    if sys.implementation.name == "pypy":
        # PyPy's _SSLSocket keeps a weak reference to the socket it asks for timeouts; point it
        # at a view that says "non-blocking" (see _PyPyTimeoutView), kept alive by this socket.
        @property
        def _sslobj(self) -> Any:
            return self.__dict__.get("_green_sslobj")

        @_sslobj.setter
        def _sslobj(self, sslobj: Any) -> None:
            if sslobj is not None and hasattr(sslobj, "socket"):
                view = self.__dict__["_green_pypy_view"] = _PyPyTimeoutView(self)
                sslobj.socket = weakref.ref(view)
            self.__dict__["_green_sslobj"] = sslobj
    else:
        _sslobj: Any  # type: ignore[no-redef]
    _connected: bool
    _session: Any
    do_handshake_on_connect: bool
    suppress_ragged_eofs: bool

    @classmethod
    def _create(cls, sock: Any, server_side: bool = False,
                do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                server_hostname: Optional[str] = None, context: Any = None,
                session: Any = None) -> GreenSSLSocket:
        fileno = sock.fileno()
        if fileno >= 0:
            # The descriptor changes owner: anything the hub remembers about it is stale.
            notify_close(fileno)
        return super()._create(  # type: ignore[misc,no-any-return]
            sock, server_side, do_handshake_on_connect, suppress_ragged_eofs, server_hostname,
            context, session)

    # ------------------------------------------------------------------ blocking mode
    def settimeout(self, value: Optional[float]) -> None:
        """None blocks (the green thread), 0 makes calls non-blocking, else a timeout in s."""
        super().settimeout(value)
        # The stdlib's _create() hands the wrapped socket's timeout to the C socket through
        # here: it must stay non-blocking underneath whatever the green timeout is.
        _CSocket.settimeout(self, 0.0)

    # ------------------------------------------------------------------ the one I/O loop
    def _io(self, evtype: str, call: Callable[..., Any], *args: Any) -> Any:
        if self._handshake_pending:
            self.do_handshake()
        try:
            return call(self, *args)
        except _WOULD_BLOCK as exc:
            if self.act_non_blocking:
                raise
            evtype = _direction(exc, evtype)
        return io_retry(_CSocket.fileno(self), evtype, self._timeout, call, (self, *args),
                        *_WOULD_BLOCK)

    def _finish_handshake(self) -> None:
        if self._handshake_pending:
            self.do_handshake()

    def do_handshake(self, block: bool = False) -> None:
        """Run the TLS handshake, suspending only this green thread while it waits."""
        self._check_connected()  # type: ignore[attr-defined]
        self._handshake_pending = False
        timeout = self._timeout
        sslobj = self._sslobj
        if timeout == 0.0:
            if not block:
                sslobj.do_handshake()
                return
            timeout = None
        try:
            sslobj.do_handshake()
            return
        except (SSLWantReadError, SSLWantWriteError) as exc:
            evtype = _direction(exc, READ)
        io_retry(_CSocket.fileno(self), evtype, timeout, sslobj.do_handshake, (), (),
                 SSLWantReadError, SSLWantWriteError)

    # ------------------------------------------------------------------ reading
    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Read up to ``len`` bytes of decrypted data (into ``buffer`` if given)."""
        return self._io(READ, _SSLSocket.read, len, buffer)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Receive up to ``buflen`` bytes of decrypted data."""
        return self._io(READ, _SSLSocket.recv, buflen, flags)  # type: ignore[no-any-return]

    def recv_into(self, buffer: Any, nbytes: Optional[int] = None, flags: int = 0) -> int:
        """Receive decrypted data into ``buffer``; return the count."""
        return self._io(READ, _SSLSocket.recv_into,  # type: ignore[no-any-return]
                        buffer, nbytes, flags)

    def recvfrom(self, buflen: int = 1024, flags: int = 0) -> tuple[bytes, Any]:
        """As ``ssl.SSLSocket.recvfrom`` (refused while TLS is active)."""
        return self._io(READ, _SSLSocket.recvfrom, buflen, flags)  # type: ignore[no-any-return]

    def recvfrom_into(self, buffer: Any, nbytes: Optional[int] = None, flags: int = 0
                      ) -> tuple[int, Any]:
        """As ``ssl.SSLSocket.recvfrom_into`` (refused while TLS is active)."""
        return self._io(READ, _SSLSocket.recvfrom_into,  # type: ignore[no-any-return]
                        buffer, nbytes, flags)

    # ------------------------------------------------------------------ writing
    def write(self, data: Any) -> int:
        """Encrypt and send ``data``; return how much of it was sent."""
        return self._io(WRITE, _SSLSocket.write, data)  # type: ignore[no-any-return]

    def send(self, data: Any, flags: int = 0) -> int:
        """Send what the connection takes at once; return the count."""
        return self._io(WRITE, _SSLSocket.send, data, flags)  # type: ignore[no-any-return]

    def sendto(self, data: Any, flags_or_addr: Any, addr: Any = None) -> int:
        """As ``ssl.SSLSocket.sendto`` (refused while TLS is active)."""
        return self._io(WRITE, _SSLSocket.sendto,  # type: ignore[no-any-return]
                        data, flags_or_addr, addr)

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of ``data``; the timeout bounds the whole call."""
        self._finish_handshake()
        if self._sslobj is not None and flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to sendall() on {type(self)}")
        if self.act_non_blocking:
            _SSLSocket.sendall(self, data, flags)
            return
        with byte_view(data) as view:
            send_all(_CSocket.fileno(self), _SSLSocket.send.__get__(self), view, 0, flags,
                     deadline(self._timeout), *_WOULD_BLOCK)

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """Send a file through ``send`` (TLS cannot use ``os.sendfile``)."""
        return self._sendfile_use_send(file, offset, count)  # type: ignore[attr-defined, no-any-return]

    # ------------------------------------------------------------------ connections
    def _green_connect(self, address: Any, connect_ex: bool) -> Optional[int]:
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._sslobj = self.context._wrap_socket(  # type: ignore[attr-defined]
            self, False, self.server_hostname, owner=self, session=self._session)
        try:
            rc: Optional[int] = None
            try:
                green_connect(self, address, self._timeout, self.act_non_blocking)
            except OSError as exc:
                if not connect_ex or exc.errno is None:
                    raise
                rc = exc.errno
            if rc:
                # As the stdlib: the TLS object stays, so that once a non-blocking connect
                # has completed, do_handshake() can run.
                return rc
            self._connected = True
            if self.do_handshake_on_connect:
                self.do_handshake()
            return 0 if connect_ex else None
        except (OSError, ValueError):
            self._sslobj = None
            raise

    def connect(self, address: Any) -> None:
        """Connect to ``address``, then run the handshake (unless told not to)."""
        self._green_connect(address, False)

    def connect_ex(self, address: Any) -> int:
        """Like ``connect``, but return an errno instead of raising for connection errors."""
        return self._green_connect(address, True) or 0

    def accept(self) -> tuple[GreenSSLSocket, Any]:
        """Accept a connection; its handshake runs on first use (see the module docstring)."""
        try:
            fd, addr = _CSocket._accept(self)
        except BlockingIOError:
            if self.act_non_blocking:
                raise
            fd, addr = io_retry(_CSocket.fileno(self), READ, self._timeout,
                                _CSocket._accept, (self,))
        sock = real.socket(self.family, self.type, self.proto, fd)
        conn = type(self)._create(sock, server_side=True, do_handshake_on_connect=False,
                                  suppress_ragged_eofs=self.suppress_ragged_eofs,
                                  context=self.context)
        conn._handshake_pending = self.do_handshake_on_connect
        return conn, addr

    def unwrap(self) -> Any:
        """Send and await close_notify; return the socket, now speaking plain TCP."""
        self._finish_handshake()
        sslobj = self._sslobj
        if not sslobj:
            raise ValueError("No SSL wrapper around " + str(self))
        try:
            result = sslobj.shutdown()
        except _WOULD_BLOCK as exc:
            if self.act_non_blocking:
                raise
            result = io_retry(_CSocket.fileno(self), _direction(exc, READ), self._timeout,
                              sslobj.shutdown, (), *_WOULD_BLOCK)
        self._sslobj = None
        if isinstance(result, _PyPyTimeoutView):
            return result._sock  # PyPy's _ssl hands back the object it was given
        return result

    # ------------------------------------------------------------------ handshake results
    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate (runs a pending handshake first)."""
        self._finish_handshake()
        return super().getpeercert(binary_form)

    def selected_alpn_protocol(self) -> Optional[str]:
        """The ALPN protocol agreed on (runs a pending handshake first)."""
        self._finish_handshake()
        return super().selected_alpn_protocol()

    def cipher(self) -> Optional[tuple[str, str, int]]:
        """The cipher in use (runs a pending handshake first)."""
        self._finish_handshake()
        return super().cipher()

    def version(self) -> Optional[str]:
        """The TLS version agreed on (runs a pending handshake first)."""
        self._finish_handshake()
        return super().version()

    def get_channel_binding(self, cb_type: str = "tls-unique") -> Optional[bytes]:
        """Channel binding data (runs a pending handshake first)."""
        self._finish_handshake()
        return super().get_channel_binding(cb_type)

    # ------------------------------------------------------------------ lifetime
    def _real_close(self) -> None:
        fileno = _CSocket.fileno(self)
        if fileno >= 0:
            notify_close(fileno)
        super()._real_close()  # type: ignore[misc]

    def detach(self) -> int:
        """Give up the descriptor without closing it; waiters get ``IOClosed``."""
        fileno = _CSocket.fileno(self)
        if fileno >= 0:
            notify_close(fileno)
        return super().detach()


class GreenSSLContext(_stdssl.SSLContext):
    """An ``ssl.SSLContext`` whose ``wrap_socket`` returns ``GreenSSLSocket``s."""

    sslsocket_class = GreenSSLSocket


SSLSocket = GreenSSLSocket  # type: ignore[misc]
SSLContext = GreenSSLContext  # type: ignore[misc]


def create_default_context(  # type: ignore[no-redef]
        purpose: Any = Purpose.SERVER_AUTH,  # noqa: F405
                           *, cafile: Optional[str] = None, capath: Optional[str] = None,
                           cadata: Any = None) -> GreenSSLContext:
    """``ssl.create_default_context()``, returning a ``GreenSSLContext``."""
    context = _stdssl.create_default_context(purpose, cafile=cafile, capath=capath,
                                             cadata=cadata)
    # The stdlib's settings (verification, flags) without repeating them here: the subclass
    # adds no state, so the object can take its class.
    context.__class__ = GreenSSLContext
    return context  # type: ignore[return-value]


_create_default_https_context = create_default_context


def wrap_socket(sock: Any, keyfile: Optional[str] = None,  # type: ignore[no-redef]
                certfile: Optional[str] = None,
                server_side: bool = False, cert_reqs: Any = CERT_NONE,  # noqa: F405
                ssl_version: Optional[int] = None, ca_certs: Optional[str] = None,
                do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                ciphers: Optional[str] = None, *, context: Optional[_stdssl.SSLContext] = None,
                server_hostname: Optional[str] = None) -> GreenSSLSocket:
    """Wrap ``sock`` (a GreenSocket or a real socket) in a ``GreenSSLSocket``.

    With ``context``, the other TLS settings must be left out. Without it, a context is built
    from them, as eventlet's (and the old stdlib) ``wrap_socket`` did; see the module docstring.
    """
    if context is None:
        if server_side and not certfile:
            raise ValueError("certfile must be specified for server-side operations")
        if keyfile and not certfile:
            raise ValueError("certfile must be specified")
        if ssl_version is None:
            ssl_version = PROTOCOL_TLS_SERVER if server_side else PROTOCOL_TLS_CLIENT  # noqa: F405
        context = GreenSSLContext(ssl_version)
        if not server_side:
            context.check_hostname = False
        context.verify_mode = cert_reqs
        if ca_certs:
            context.load_verify_locations(ca_certs)
        if certfile:
            context.load_cert_chain(certfile, keyfile)
        if ciphers:
            context.set_ciphers(ciphers)
    elif keyfile or certfile or ca_certs or ciphers or ssl_version is not None:
        raise ValueError("pass either context or keyfile/certfile/ca_certs/ciphers/ssl_version")
    return GreenSSLSocket._create(sock, server_side=server_side,
                                  do_handshake_on_connect=do_handshake_on_connect,
                                  suppress_ragged_eofs=suppress_ragged_eofs,
                                  server_hostname=server_hostname, context=context)
