"""GreenSocket: a ``socket.socket`` whose blocking calls suspend only the calling green thread.

Built from the green I/O toolkit (``_io.py``): the real socket is always non-blocking, every
operation makes the syscall first and, only after EAGAIN, waits through ``io_retry`` with the
socket's green timeout (``SocketTimeouts``); closing goes through ``notify_close``, and every
descriptor fresh from the kernel through ``notify_opened``. The hottest methods (``recv``,
``recv_into``, ``send``, the first send of ``sendall``, ``accept``) spell the optimistic try
out themselves, on bound methods of the real socket cached in slots, so the common case costs
one C call and no Python frame more; the rest share ``_op``. ``green_connect`` is the connect
shared with TLS sockets.

For code that must arm its own deadline before it waits (the WSGI server), GreenSocket offers
the optimistic step and the wait as public members: ``recv_into_nowait``/``send_nowait`` (the
real socket's calls, which raise ``BlockingIOError`` instead of waiting) and
``wait_and_retry`` (the wait after EAGAIN).
"""

from __future__ import annotations

import _socket
import errno
import io
import os
import socket
import stat
from typing import Any, Callable, Optional
from warnings import warn as _warn

from greenlane import _originals as real
from greenlane.greenio._io import (
    SocketTimeouts,
    byte_view,
    deadline,
    io_retry,
    notify_close,
    notify_opened,
    remaining,
    send_all,
    text_file,
)
from greenlane.hubs.hub import READ, WRITE

__all__ = [
    "CONNECT_ERR",
    "CONNECT_SUCCESS",
    "SOCKET_BLOCKING",
    "SOCKET_CLOSED",
    "GreenSocket",
    "green_connect",
    "io_retry",  # re-exported for wsgi/_conn.py until it uses GreenSocket's public halves
    "set_nonblocking",
    "shutdown_safe",
    "socket_timeout",
]

# The C socket type: its methods work on any subclass (socket.socket, ssl.SSLSocket).
_CSocket: Any = real.socket_class

# Plain-int attribute getters: socket.socket's properties build enum members, which costs
# ten times more on every accept.
_get_family = _CSocket.family.__get__
_get_type = _CSocket.type.__get__
_get_proto = _CSocket.proto.__get__

# From the C module, which patching never touches.
_getdefaulttimeout = _socket.getdefaulttimeout
_SocketIO = socket.SocketIO
# What socket.socket.sendfile raises internally to fall back on send(); CPython's own tests
# expect it from _sendfile_use_sendfile.
_GiveupOnSendfile: type[Exception] = getattr(socket, "_GiveupOnSendfile", RuntimeError)
_os_sendfile: Optional[Callable[[int, int, int, int], int]] = getattr(os, "sendfile", None)

#: eventlet's name for the exception raised when a socket operation times out.
socket_timeout = socket.timeout

#: errnos meaning "would block" (eventlet compatibility).
SOCKET_BLOCKING = frozenset((errno.EAGAIN, errno.EWOULDBLOCK))
#: errnos meaning the peer went away (eventlet compatibility).
SOCKET_CLOSED = frozenset((errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN, errno.EPIPE))
#: errnos of a non-blocking connect that is still under way (eventlet compatibility).
CONNECT_ERR = frozenset((errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK))
# connect_ex results meaning "under way, wait"; EINTR too: the connection goes on
# asynchronously after an interrupted connect(2).
_CONNECT_WAIT = frozenset((errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EAGAIN,
                           errno.EINTR))
#: errnos of a connect that has completed (eventlet compatibility).
CONNECT_SUCCESS = frozenset((0, errno.EISCONN))

# socket() flag creating the socket non-blocking (Linux); 0 elsewhere, where settimeout does it.
# Plain ints: the module's are enum members, whose operators run Python code (MsgFlag's "&"
# cost a tenth of an echo round trip).
_SOCK_NONBLOCK = int(getattr(socket, "SOCK_NONBLOCK", 0))
# A per-call "do not block" flag: the call must then raise BlockingIOError, never wait.
_MSG_DONTWAIT = int(getattr(socket, "MSG_DONTWAIT", 0))

# Bound the blocks os.sendfile is asked for: some kernels reject counts of 2 GiB and more
# (the stdlib's limit too, bpo-38319).
_SENDFILE_BLOCK = 1 << 30

# Compatibility names for modules that imported them from here (green/os.py).
_notify_close = notify_close
_notify_opened = notify_opened


def green_connect(sock: Any, address: Any, timeout: Optional[float], nonblocking: bool) -> None:
    """Connect the non-blocking real socket ``sock`` cooperatively (shared with TLS sockets).

    The connect is started at once; after EINPROGRESS the green thread waits for writability
    and reads the outcome from SO_ERROR. An AF_UNIX listener whose queue is full answers EAGAIN
    without ever signalling readiness, so that case is retried after growing pauses.
    """
    # connect_ex reports "in progress" as a number: no exception object on the common path.
    code = _CSocket.connect_ex(sock, address)
    if code == 0:
        return
    if nonblocking or code not in _CONNECT_WAIT:
        # OSError(errno, ...) is the errno's subclass (BlockingIOError for EINPROGRESS,
        # ConnectionRefusedError, ...), as connect() raises.
        raise OSError(code, os.strerror(code))
    fileno = _CSocket.fileno(sock)
    if code != errno.EAGAIN:
        err = io_retry(fileno, WRITE, timeout, _CSocket.getsockopt,
                       (sock, socket.SOL_SOCKET, socket.SO_ERROR))
        if err:
            raise OSError(err, os.strerror(err))
        return
    from greenlane.greenthread import sleep

    until = deadline(timeout)
    pause = 0.001
    while True:
        left = remaining(until)
        sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, 0.1)
        try:
            _CSocket.connect(sock, address)
            return
        except BlockingIOError as exc:
            if exc.errno != errno.EAGAIN:
                raise


def _buffer_list(buffers: Any, method: str) -> Any:
    # A retry after EAGAIN passes the buffers again: an iterator would be empty by then.
    if type(buffers) is list or type(buffers) is tuple:
        return buffers
    try:
        return list(buffers)
    except TypeError:
        raise TypeError(f"{method}() argument 1 must be an iterable") from None


class GreenSocket(SocketTimeouts):
    """A ``socket.socket`` whose blocking calls suspend only the calling green thread.

    Construct it like ``socket.socket`` (``GreenSocket(AF_INET6, SOCK_STREAM)``,
    ``GreenSocket(fileno=fd)``), or pass an existing socket object to wrap it; it is also
    ``greenlane.green.socket.socket``. The real socket is ``fd`` and is always in non-blocking
    mode; the green socket emulates ``settimeout``/``setblocking`` on top: with a timeout,
    operations raise ``socket.timeout`` (``TimeoutError``); with ``settimeout(0)``, a type
    including ``SOCK_NONBLOCK``, or the ``MSG_DONTWAIT`` flag, calls pass straight through and
    raise ``BlockingIOError``. Methods not defined here (``getsockopt``, ``ioctl``, ...) are
    those of the real socket.

    Differences from eventlet's GreenSocket:

    * Closing the socket wakes green threads blocked on it with ``IOClosed`` (errno EBADF), and
      ``close()`` keeps the stdlib rule that the descriptor is released only once every
      ``makefile()`` object is closed too.
    * Wrapping an existing socket keeps a positive timeout and otherwise takes
      ``socket.getdefaulttimeout()``, as eventlet does. eventlet's ``set_nonblocking=False``
      keyword (leave the descriptor's mode alone) is accepted and ignored: the real socket is
      always made non-blocking, since a blocking one would stall every green thread.
    * A connection reset raises from ``recv``, ``recv_into`` and ``recvfrom*`` as in the
      stdlib (``ConnectionResetError``; ``OSError`` for ENOTCONN, ESHUTDOWN): eventlet's
      GreenSocket returns ``b""``/0 for those errnos (its ``SOCKET_CLOSED``), which makes a
      reset look like the peer's orderly close.
    * ``recv(0)``, and ``recv_into`` with an empty buffer, do what the interpreter's own
      sockets do, whatever the timeout: on CPython they return at once (``b""``, 0); PyPy's
      wait until the socket is readable, as eventlet's GreenSocket does everywhere (raising
      ``socket.timeout`` if it stays idle).
    * ``sendall`` and ``sendfile`` apply the timeout to the whole call (stdlib semantics since
      3.5), other calls to each operation; ``sendfile`` uses ``os.sendfile``.
    * ``recv_into_nowait``, ``send_nowait`` and ``wait_and_retry`` expose the two halves of
      every call (greenlane's WSGI server uses them to arm its deadlines only when it waits).
    * Not a subclass of ``socket.socket`` (neither is eventlet's); under monkey patching
      ``socket.SocketType`` is this class, not ``_socket.socket``.
    * Instances take new attributes, as eventlet's do and the stdlib's do not: tests replace
      a method on one socket (``sock.send = ...``, ``mock.patch.object(sock, "recv")``). The
      internal halves (``send_nowait``, ``recv_into_nowait``) and ``sendall`` do not go
      through a replaced ``send``/``recv``.
    """

    # __dict__ only for the attributes users add (see above); every attribute of the class's
    # own is a slot, so the dict is never created otherwise.
    __slots__ = ("__dict__", "__weakref__", "_accept", "_closed", "_fileno", "_io_refs", "_recv",
                 "_timeout", "_wrapped", "act_non_blocking", "fd", "recv_into_nowait",
                 "send_nowait")

    fd: socket.socket
    _wrapped: bool
    recv_into_nowait: Callable[..., int]
    """``recv_into(buffer, nbytes=0, flags=0)`` of the real socket: never waits.

    Raises ``BlockingIOError`` when nothing has arrived, whatever the timeout; follow it with
    ``wait_and_retry(READ, sock.recv_into_nowait, (buffer, ...))`` to wait.
    """
    send_nowait: Callable[..., int]
    """``send(data, flags=0)`` of the real socket: never waits (``BlockingIOError`` if full)."""

    def __init__(self, family: Any = -1, type: int = -1, proto: int = -1,
                 fileno: Optional[int] = None, *, set_nonblocking: bool = True) -> None:
        # set_nonblocking: eventlet's keyword, ignored (see the class docstring).
        if isinstance(family, int):
            if fileno is None:
                # Created non-blocking: saves the ioctl that settimeout(0) would make. A
                # socket whose timeout reads 0 was made non-blocking by the constructor.
                if type == -1:
                    type = socket.SOCK_STREAM
                sock = real.socket(family, type | _SOCK_NONBLOCK, proto)
                notify_opened(sock.fileno())
                # SOCK_NONBLOCK asked for by the caller means a non-blocking socket, as in
                # the stdlib (timeout 0.0).
                timeout = 0.0 if type & _SOCK_NONBLOCK else _getdefaulttimeout()
                self._setup(sock, timeout, sock.gettimeout() == 0.0)
                return
            sock = real.socket(family, type, proto, fileno)
            # The descriptor changes owner: whatever the hub knew of its number is stale.
            notify_opened(sock.fileno())
            timeout = 0.0 if type != -1 and type & _SOCK_NONBLOCK else _getdefaulttimeout()
        elif isinstance(family, GreenSocket):
            # Re-wrapping a green socket (eventlet code does GreenSocket(green.socket.socket())):
            # share its real socket and timeout, and take over closing it when collected, so
            # that dropping the first wrapper does not close the descriptor under this one.
            self._setup(family.fd, family.gettimeout(), True)
            self._wrapped = family._wrapped
            family._wrapped = True
            return
        else:
            sock = family
            if not isinstance(sock, _CSocket):
                raise TypeError(f"GreenSocket() wraps a socket object, not {sock!r}")
            if hasattr(sock, "_sslobj"):
                raise TypeError("use greenlane.green.ssl (or greenlane.wrap_ssl) for TLS sockets")
            timeout = sock.gettimeout() or _getdefaulttimeout()
            self._setup(sock, timeout)
            self._wrapped = True  # the caller's socket: not ours to close when collected
            return
        self._setup(sock, timeout)

    def _setup(self, sock: socket.socket, timeout: Optional[float],
               nonblocking: bool = False) -> None:
        if not nonblocking:
            sock.settimeout(0.0)
        self.fd = sock
        self._fileno = sock.fileno()
        self._recv = sock.recv
        self.recv_into_nowait = sock.recv_into
        self.send_nowait = sock.send
        self._accept = sock._accept  # type: ignore[attr-defined]
        self._io_refs = 0
        self._closed = False
        self._wrapped = False
        self._timeout = timeout
        self.act_non_blocking = timeout == 0.0

    @classmethod
    def from_new_socket(cls, sock: socket.socket, timeout: Optional[float]) -> GreenSocket:
        """A GreenSocket taking over ``sock``, a real socket whose descriptor is new.

        For descriptors fresh from the kernel (``socketpair``, ``dup``, ``accept``): whatever
        the hub remembered about the number is forgotten (``notify_opened``) and ``sock`` is
        made non-blocking; ``timeout`` is the green timeout. ``sock`` must not be used
        directly afterwards.
        """
        notify_opened(sock.fileno())
        self = cls.__new__(cls)
        self._setup(sock, timeout)
        return self

    def __getattr__(self, name: str) -> Any:
        if name == "fd":  # not set up (a failed constructor): do not recurse
            raise AttributeError(name)
        return getattr(self.fd, name)

    def __repr__(self) -> str:
        sock = self.fd
        closed = self._closed
        # str() as socket.socket's own repr formats them (enum members print as the stdlib's).
        text = (f"<greenlane.GreenSocket{' [closed]' if closed else ''} fd={sock.fileno()}, "
                f"family={sock.family!s}, type={sock.type!s}, proto={sock.proto}")
        if not closed:
            for label, getter in (("laddr", sock.getsockname), ("raddr", sock.getpeername)):
                try:
                    address = getter()
                except OSError:
                    continue
                if address:
                    text += f", {label}={address}"
        return f"{text}, timeout={self._timeout}>"

    def __del__(self) -> None:
        # The stdlib's warning for a socket left to the garbage collector, naming this object
        # (the real socket would otherwise warn about itself, under another name).
        try:
            sock = self.fd
        except AttributeError:
            return  # the constructor failed
        if not self._closed and not self._wrapped and sock.fileno() >= 0:
            _warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            sock.close()

    def __enter__(self) -> GreenSocket:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ attributes
    def settimeout(self, value: Optional[float]) -> None:
        """None blocks (the green thread), 0 makes calls non-blocking, else a timeout in s.

        As in the stdlib, the descriptor's mode is set on every call (to non-blocking, here),
        so a closed or invalid descriptor raises ``OSError``.
        """
        super().settimeout(value)
        self.fd.settimeout(0.0)

    @property
    def family(self) -> socket.AddressFamily:
        """The socket family (``socket.AF_INET``, ...)."""
        return self.fd.family

    @property
    def type(self) -> socket.SocketKind:
        """The socket type (``socket.SOCK_STREAM``, ...)."""
        return self.fd.type

    @property
    def proto(self) -> int:
        """The socket protocol."""
        return self.fd.proto

    def fileno(self) -> int:
        """The descriptor number, or -1 once closed or detached."""
        return self.fd.fileno()

    # Thin delegates, spelled out for readers and type checkers.
    def bind(self, address: Any) -> None:
        """Bind the socket to ``address``."""
        self.fd.bind(address)

    def listen(self, backlog: int = socket.SOMAXCONN) -> None:
        """Start listening, with a queue of ``backlog`` pending connections."""
        self.fd.listen(backlog)

    def getsockname(self) -> Any:
        """The socket's own address."""
        return self.fd.getsockname()

    def getpeername(self) -> Any:
        """The address of the connected peer."""
        return self.fd.getpeername()

    def setsockopt(self, level: int, optname: int, value: Any, optlen: Optional[int] = None
                   ) -> None:
        """Set a socket option (see ``socket.socket.setsockopt``)."""
        if optlen is None:
            self.fd.setsockopt(level, optname, value)
        else:
            self.fd.setsockopt(level, optname, value, optlen)

    def getsockopt(self, level: int, optname: int, buflen: int = 0) -> Any:
        """Get a socket option (see ``socket.socket.getsockopt``)."""
        if buflen:
            return self.fd.getsockopt(level, optname, buflen)
        return self.fd.getsockopt(level, optname)

    # ------------------------------------------------------------------ the wait, public
    def wait_and_retry(self, evtype: str, call: Callable[..., Any], args: tuple[Any, ...],
                       timeout: Optional[float] = None) -> Any:
        """After ``call(*args)`` raised ``BlockingIOError``: wait, then call again until done.

        ``call`` is an operation on this socket that does not wait itself
        (``recv_into_nowait``, ``send_nowait``, ``os.sendfile`` into ``fileno()``), and
        ``evtype`` the direction it needs (``greenlane.hubs.READ``/``WRITE``). It must have
        failed just now, with no switch since (see ``greenio._io.io_retry``). ``timeout`` bounds
        the whole wait (None: no limit, for callers with a deadline of their own); the
        socket's own timeout is not applied.

        Raises:
            socket.timeout: ``timeout`` passed.
            IOClosed: the socket was closed meanwhile.
        """
        return io_retry(self._fileno, evtype, timeout, call, args)

    # ------------------------------------------------------------------ connections
    def accept(self) -> tuple[GreenSocket, Any]:
        """Wait for a connection; return ``(GreenSocket, address)``.

        The new socket has ``socket.getdefaulttimeout()`` as its timeout (blocking by default).
        """
        try:
            fd, addr = self._accept()
        except BlockingIOError:
            if self.act_non_blocking:
                raise
            fd, addr = io_retry(self._fileno, READ, self._timeout, self._accept, ())
        sock = self.fd
        new = real.socket(_get_family(sock), _get_type(sock), _get_proto(sock), fd)
        return type(self).from_new_socket(new, _getdefaulttimeout()), addr

    def connect(self, address: Any) -> None:
        """Connect to ``address``, suspending only this green thread while it is under way."""
        green_connect(self.fd, address, self._timeout, self.act_non_blocking)

    def connect_ex(self, address: Any) -> int:
        """Like ``connect``, but return an errno (0 on success) instead of raising OSError.

        Address resolution errors still raise, as in the stdlib.
        """
        try:
            green_connect(self.fd, address, self._timeout, self.act_non_blocking)
        except (socket.gaierror, socket.herror):
            raise
        except OSError as exc:
            return exc.errno if exc.errno is not None else errno.EAGAIN
        return 0

    # ------------------------------------------------------------------ receiving
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to ``bufsize`` bytes; b"" means the peer closed its side."""
        try:
            return self._recv(bufsize, flags)
        except BlockingIOError:
            if self.act_non_blocking or flags & _MSG_DONTWAIT:
                raise
        return io_retry(self._fileno, READ, self._timeout,  # type: ignore[no-any-return]
                        self._recv, (bufsize, flags))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into ``buffer`` (up to ``nbytes``, 0: its size); return the count."""
        try:
            return self.recv_into_nowait(buffer, nbytes, flags)
        except BlockingIOError:
            if self.act_non_blocking or flags & _MSG_DONTWAIT:
                raise
        return io_retry(self._fileno, READ, self._timeout,  # type: ignore[no-any-return]
                        self.recv_into_nowait, (buffer, nbytes, flags))

    def _op(self, evtype: str, flags: int, call: Callable[..., Any], *args: Any) -> Any:
        # Try, and wait only on EAGAIN. recv, recv_into, send and accept inline this (hot).
        try:
            return call(*args)
        except BlockingIOError:
            if self.act_non_blocking or flags & _MSG_DONTWAIT:
                raise
        return io_retry(self._fileno, evtype, self._timeout, call, args)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        """Receive up to ``bufsize`` bytes; return ``(data, address)``."""
        return self._op(READ, flags, self.fd.recvfrom,  # type: ignore[no-any-return]
                        bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        """Receive into ``buffer``; return ``(count, address)``."""
        return self._op(READ, flags, self.fd.recvfrom_into,  # type: ignore[no-any-return]
                        buffer, nbytes, flags)

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0) -> Any:
        """Receive data and ancillary data (``socket.socket.recvmsg``)."""
        return self._op(READ, flags, self.fd.recvmsg, bufsize, ancbufsize, flags)

    def recvmsg_into(self, buffers: Any, ancbufsize: int = 0, flags: int = 0) -> Any:
        """Receive into ``buffers`` (any iterable) with ancillary data (``recvmsg_into``)."""
        return self._op(READ, flags, self.fd.recvmsg_into,
                        _buffer_list(buffers, "recvmsg_into"), ancbufsize, flags)

    # ------------------------------------------------------------------ sending
    def send(self, data: Any, flags: int = 0) -> int:
        """Send what the kernel takes at once (at least one byte); return the count."""
        try:
            return self.send_nowait(data, flags)
        except BlockingIOError:
            if self.act_non_blocking or flags & _MSG_DONTWAIT:
                raise
        return io_retry(self._fileno, WRITE, self._timeout,  # type: ignore[no-any-return]
                        self.send_nowait, (data, flags))

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of ``data`` (any bytes-like object), without copying it (but see below).

        The timeout bounds the whole call. In non-blocking mode (or with ``MSG_DONTWAIT``), as
        in the stdlib, this raises ``BlockingIOError`` when the kernel cannot take everything
        at once. On PyPy a buffer whose items are not bytes (``array('d')``, ...) is copied
        once first, and at most 1 MiB is offered per send(), because PyPy copies whatever it
        is offered.
        """
        send = self.send_nowait
        try:
            sent = send(data, flags)
        except BlockingIOError:
            if self.act_non_blocking or flags & _MSG_DONTWAIT:
                raise
            sent = 0
        if type(data) is bytes and sent == len(data):
            return
        with byte_view(data) as view:
            if sent >= len(view):
                return
            if self.act_non_blocking or flags & _MSG_DONTWAIT:
                with view[sent:] as rest:
                    self.fd.sendall(rest, flags)
                return
            send_all(self._fileno, send, view, sent, flags, deadline(self._timeout))

    def sendto(self, data: Any, *args: Any) -> int:
        """Send a datagram: ``sendto(data, address)`` or ``sendto(data, flags, address)``."""
        # The arguments go to the real call as given, so that wrong ones get its errors.
        flags = args[0] if len(args) == 2 else 0
        return self._op(WRITE, flags, self.fd.sendto, data, *args)  # type: ignore[no-any-return]

    def sendmsg(self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None
                ) -> int:
        """Send data and ancillary data (``socket.socket.sendmsg``); iterables are accepted."""
        buffers = _buffer_list(buffers, "sendmsg")
        ancdata = _buffer_list(ancdata, "sendmsg")
        if address is None:
            return self._op(WRITE, flags, self.fd.sendmsg,  # type: ignore[no-any-return]
                            buffers, ancdata, flags)
        return self._op(WRITE, flags, self.fd.sendmsg,  # type: ignore[no-any-return]
                        buffers, ancdata, flags, address)

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """Send a file (opened in binary mode) until EOF or ``count`` bytes; return the count.

        Uses ``os.sendfile`` (no copy through Python) for regular files, else reads and sends
        blocks. As in the stdlib, the file position is left after the last byte sent, and
        non-blocking sockets are refused (``ValueError``). The timeout bounds the whole call.
        """
        try:
            return self._sendfile_use_sendfile(file, offset, count)
        except _GiveupOnSendfile:
            return self._sendfile_use_send(file, offset, count)

    def _check_sendfile_params(self, file: Any, offset: int, count: Optional[int]) -> None:
        # socket.socket's checks, in its order and with its messages.
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if not _get_type(self.fd) & socket.SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")

    def _sendfile_use_sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None
                               ) -> int:
        # socket.socket's first step of sendfile(), under its name (code and CPython's tests
        # call it): os.sendfile only, or _GiveupOnSendfile when the file cannot go that way.
        self._check_sendfile_params(file, offset, count)
        sendfile = _os_sendfile
        if sendfile is None:
            raise _GiveupOnSendfile("os.sendfile() not available on this platform")
        try:
            file_fd = file.fileno()
        except (AttributeError, io.UnsupportedOperation) as err:
            raise _GiveupOnSendfile(err) from None
        try:
            mode = os.fstat(file_fd).st_mode
        except OSError as err:
            raise _GiveupOnSendfile(err) from None
        if not stat.S_ISREG(mode):
            raise _GiveupOnSendfile("not a regular file")
        if self.act_non_blocking:
            raise ValueError("non-blocking sockets are not supported")
        until = deadline(self._timeout)
        sock_fd = self._fileno
        total = 0
        try:
            while count is None or total < count:
                block = _SENDFILE_BLOCK if count is None else min(count - total, _SENDFILE_BLOCK)
                args = (sock_fd, file_fd, offset + total, block)
                try:
                    sent = sendfile(*args)
                except BlockingIOError:
                    sent = io_retry(sock_fd, WRITE, remaining(until), sendfile, args)
                except OSError as exc:
                    if total == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS,
                                                    errno.ENOTSOCK, errno.EOPNOTSUPP):
                        raise _GiveupOnSendfile(exc) from None
                    raise
                if sent == 0:
                    break
                total += sent
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)

    def _sendfile_use_send(self, file: Any, offset: int = 0, count: Optional[int] = None
                           ) -> int:
        # socket.socket's fallback step of sendfile(), under its name: read and send blocks.
        self._check_sendfile_params(file, offset, count)
        if self.act_non_blocking:
            raise ValueError("non-blocking sockets are not supported")
        # The deadline is passed down, not set as the socket's timeout: another green thread
        # using the socket meanwhile would see that.
        until = deadline(self._timeout)
        if offset:
            file.seek(offset)
        total = 0
        try:
            while count is None or total < count:
                data = file.read(65536 if count is None else min(count - total, 65536))
                if not data:
                    break
                remaining(until)  # time is up: socket.timeout before the next block
                with byte_view(data) as view:
                    size = len(view)
                    send_all(self._fileno, self.send_nowait, view, 0, 0, until)
                total += size
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)

    # ------------------------------------------------------------------ files
    def makefile(self, mode: str = "r", buffering: Optional[int] = None, *,
                 encoding: Optional[str] = None, errors: Optional[str] = None,
                 newline: Optional[str] = None) -> Any:
        """A file object over this socket, as ``socket.socket.makefile`` returns.

        Reads and writes cooperate with the hub. As in the stdlib, ``close()`` on the socket
        releases the descriptor only once the file objects are closed too.
        """
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        rawmode = ("r" if reading else "") + ("w" if writing else "")
        raw: Any = _SocketIO(self, rawmode)  # type: ignore[arg-type]
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        binary = "b" in mode
        if buffering == 0:
            if not binary:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: Any
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if binary:
            return buffer
        return text_file(buffer, mode, encoding, errors, newline)

    def _decref_socketios(self) -> None:
        # Called by SocketIO.close(): the last file object closed releases a closed socket.
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the socket; green threads blocked on it get ``IOClosed`` (errno EBADF).

        As in the stdlib, the descriptor stays open while ``makefile()`` objects are open.
        """
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        sock = self.fd
        fileno = sock.fileno()
        if fileno >= 0:
            notify_close(fileno)
            sock.close()

    def detach(self) -> int:
        """Give up the descriptor without closing it and return it; waiters get ``IOClosed``."""
        self._closed = True
        fileno = self.fd.fileno()
        if fileno >= 0:
            notify_close(fileno)
        return self.fd.detach()

    def dup(self) -> GreenSocket:
        """A new GreenSocket on a duplicate descriptor, with the same timeout."""
        return type(self).from_new_socket(self.fd.dup(), self._timeout)

    def shutdown(self, how: int) -> None:
        """Shut down one or both directions; blocked readers see EOF, as with real sockets."""
        self.fd.shutdown(how)


def shutdown_safe(sock: Any) -> None:
    """Shut down both directions of ``sock``, ignoring "not connected" and "already closed"."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        if exc.errno not in (errno.ENOTCONN, errno.EBADF, errno.ENOTSOCK):
            raise


def set_nonblocking(fd: Any) -> None:
    """Put a socket, file object or descriptor number in non-blocking mode (eventlet name)."""
    setblocking = getattr(fd, "setblocking", None)
    if setblocking is not None:
        setblocking(False)
    else:
        os.set_blocking(fd if isinstance(fd, int) else fd.fileno(), False)
