"""GreenSocket, and the one helper every green I/O call in greenlane waits through.

The blocking idiom lives in ``io_retry``: the caller makes the non-blocking syscall itself (the
optimistic path: a couple of attribute look-ups and a C call, nothing else) and only when that
raised ``BlockingIOError`` (EAGAIN) hands over to ``io_retry``, which parks the green thread on
the hub until the fd is ready and tries again, until it succeeds. Because the syscall has just
failed with EAGAIN and no other green thread ran since, the hub may use its registration without
re-arming it (``rearm=False``): see ``hubs/epolls.py``. TLS sockets (``green/ssl.py``), pipes
(``_pipe.py``) and ``green.os`` use the same helper.

File descriptor lifetime: every close (and ``detach``) calls ``notify_close`` *before* the
descriptor is released, which wakes any green thread parked on it with ``IOClosed`` (an
``OSError`` with errno EBADF) and drops the poller's registration while the number still refers to
the file. Every descriptor that greenlane receives from the kernel (``socket()``, ``accept``,
``dup``, ``socketpair``, ``fromfd``) goes through ``notify_opened``, so whatever the hub still
remembered about an earlier file with the same number (one closed without greenlane knowing, for
instance by the garbage collector) is forgotten before anyone waits on the new one.
"""

from __future__ import annotations

import _socket
import errno
import io
import os
import socket
import stat
import sys
from typing import Any, Callable, Optional, Union

from greenlet import getcurrent

from greenlane.hubs import _context, get_hub
from greenlane.hubs.hub import READ, WRITE

__all__ = [
    "CONNECT_ERR",
    "CONNECT_SUCCESS",
    "SOCKET_BLOCKING",
    "SOCKET_CLOSED",
    "GreenSocket",
    "io_retry",
    "set_nonblocking",
    "shutdown_safe",
    "socket_timeout",
]

# Captured at import, before any monkey patching can replace them in the socket module.
_original_socket = socket.socket
# The C socket type: its methods work on any subclass (socket.socket, ssl.SSLSocket).
_CSocket: Any = _socket.socket

# Plain-int attribute getters: socket.socket's properties build enum members, which costs
# ten times more on every accept.
_get_family = _CSocket.family.__get__
_get_type = _CSocket.type.__get__
_get_proto = _CSocket.proto.__get__

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

# The most one send() call is offered. PyPy copies the whole buffer it is given into raw memory
# before the syscall, which takes only a few hundred KiB of it: offering the rest of a 64 MiB
# buffer each time made sendall quadratic there. CPython passes the buffer itself: no limit.
_PYPY = sys.implementation.name == "pypy"
_SEND_SLICE = 1 << 20 if _PYPY else sys.maxsize

# socket() flag creating the socket non-blocking (Linux); 0 elsewhere, where settimeout does it.
_SOCK_NONBLOCK: int = getattr(socket, "SOCK_NONBLOCK", 0)

_ExcTypes = Union[type[BaseException], tuple[type[BaseException], ...]]


class _NeverRaised(Exception):
    """Placeholder for an exception kind a caller of ``io_retry`` does not expect."""


def _timeout_error() -> OSError:
    exc = socket.timeout("timed out")
    exc.is_timeout = True  # type: ignore[attr-defined]  # greenlane.is_timeout() on Python 3.9
    return exc


def _throw_timeout(target: Any) -> None:
    # Runs from the hub when a socket timeout expires; the instance is built only then.
    target.throw(_timeout_error())


def io_retry(
    fileno: int,
    evtype: str,
    timeout: Optional[float],
    call: Callable[..., Any],
    args: tuple[Any, ...],
    again: _ExcTypes = BlockingIOError,
    want_read: _ExcTypes = _NeverRaised,
    want_write: _ExcTypes = _NeverRaised,
) -> Any:
    """Wait until ``fileno`` is ready for ``evtype``, then return ``call(*args)``, retrying.

    Call it only right after ``call`` failed with EAGAIN, with no switch in between: the hub
    then needs no re-arming (see ``hubs/epolls.py``). ``call`` is retried after each wake-up;
    raising ``again`` means "wait for the same direction again", ``want_read``/``want_write``
    switch the direction (TLS needs both). After ``timeout`` seconds in total (None: never)
    ``socket.timeout`` is raised; if the descriptor is closed meanwhile, ``IOClosed``.
    """
    hub = _context.current.hub or get_hub()
    current = getcurrent()
    timer = None
    if timeout is not None:
        timer = hub.schedule_call_global(timeout, _throw_timeout, current)
    park = hub.park_on_fd
    try:
        while True:
            park(evtype, fileno, current)
            try:
                return call(*args)
            except again:
                pass
            except want_read:
                evtype = READ
            except want_write:
                evtype = WRITE
    finally:
        if timer is not None:
            timer.cancel()


def _notify_close(fileno: int) -> None:
    """``hubs.notify_close``, with a fast path for the common case of nobody waiting on it.

    Creating and closing sockets is hot (connect+accept), and most descriptors have no
    listener when they are opened or closed: then only the poller's registration is dropped.
    A secondary listener never exists without a primary one, so the two primary maps suffice.
    """
    hub = _context.current.hub
    if hub is not None:
        listeners = hub.listeners
        if fileno in listeners[READ] or fileno in listeners[WRITE]:
            hub.notify_close(fileno)
        else:
            hub.forget_fd(fileno)


# A descriptor number fresh from the kernel: whatever the hub knew of it belonged to a file that
# is gone, so forgetting it is the same operation (eventlet's notify_opened).
_notify_opened = _notify_close


def _byte_view(data: Any) -> memoryview:
    """``data`` as a flat memoryview of bytes, cast only if it is not one already.

    bytes and bytearray need no cast. PyPy sends from a cast view about forty times
    slower than from a plain one, so there a buffer that needs the cast is copied once instead.
    """
    view = memoryview(data)
    if view.itemsize == 1 and view.ndim == 1 and view.c_contiguous:
        return view
    try:
        if _PYPY and view.c_contiguous:
            return memoryview(view.tobytes())
        return view.cast("B")
    finally:
        view.release()


def _text_file(buffer: Any, mode: str, encoding: Optional[str], errors: Optional[str],
               newline: Optional[str], line_buffering: bool = False) -> io.TextIOWrapper:
    """``buffer`` in a text file, as ``open()`` builds it for ``mode`` (shared with GreenPipe)."""
    if encoding is None and hasattr(io, "text_encoding"):  # Python 3.10+
        encoding = io.text_encoding(encoding)
    text = io.TextIOWrapper(buffer, encoding, errors, newline, line_buffering)
    text.mode = mode  # type: ignore[misc]
    return text


def _check_timeout(value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise TypeError("Timeout value must be int, float or None") from None
    if seconds < 0.0:
        raise ValueError("Timeout value out of range")
    return seconds


def _deadline(timeout: Optional[float]) -> Optional[float]:
    """The hub clock's time at which ``timeout`` (None: never) runs out, for ``_remaining``."""
    return None if timeout is None else get_hub().clock() + timeout


def _remaining(deadline: Optional[float]) -> Optional[float]:
    """The seconds left until ``deadline`` (None: no limit); ``socket.timeout`` if none."""
    if deadline is None:
        return None
    left = deadline - get_hub().clock()
    if left <= 0:
        raise _timeout_error()
    return left


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

    deadline = _deadline(timeout)
    pause = 0.001
    while True:
        left = _remaining(deadline)
        sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, 0.1)
        try:
            _CSocket.connect(sock, address)
            return
        except BlockingIOError as exc:
            if exc.errno != errno.EAGAIN:
                raise


class GreenSocket:
    """A ``socket.socket`` whose blocking calls suspend only the calling green thread.

    Construct it like ``socket.socket`` (``GreenSocket(AF_INET6, SOCK_STREAM)``,
    ``GreenSocket(fileno=fd)``), or pass an existing socket object to wrap it; it is also
    ``greenlane.green.socket.socket``. The real socket is ``fd`` and is always in non-blocking
    mode; the green socket emulates ``settimeout``/``setblocking`` on top: with a timeout,
    operations raise ``socket.timeout`` (``TimeoutError``); with ``settimeout(0)`` calls pass
    straight through and raise ``BlockingIOError``. Methods not defined here (``setsockopt``,
    ``getsockname``, ...) are those of the real socket.

    Differences from eventlet's GreenSocket:

    * Closing the socket wakes green threads blocked on it with ``IOClosed`` (errno EBADF), and
      ``close()`` keeps the stdlib rule that the descriptor is released only once every
      ``makefile()`` object is closed too.
    * Wrapping an existing socket keeps a positive timeout and otherwise takes
      ``socket.getdefaulttimeout()``, as eventlet does; the ``set_nonblocking`` keyword is gone
      (the real socket is always non-blocking).
    * ``sendall`` and ``sendfile`` apply the timeout to the whole call (stdlib semantics since
      3.5), other calls to each operation; ``sendfile`` uses ``os.sendfile``.
    * Not a subclass of ``socket.socket`` (neither is eventlet's).
    """

    __slots__ = ("__weakref__", "_accept", "_closed", "_fileno", "_io_refs", "_recv",
                 "_recv_into", "_send", "_timeout", "act_non_blocking", "fd")

    fd: socket.socket
    act_non_blocking: bool

    def __init__(self, family: Any = -1, type: int = -1, proto: int = -1,
                 fileno: Optional[int] = None) -> None:
        if isinstance(family, int):
            if fileno is None:
                # Created non-blocking: saves the ioctl that settimeout(0) would make. A
                # socket whose timeout reads 0 was made non-blocking by the constructor.
                if type == -1:
                    type = socket.SOCK_STREAM
                sock = _original_socket(family, type | _SOCK_NONBLOCK, proto)
                _notify_opened(sock.fileno())
                self._setup(sock, socket.getdefaulttimeout(), sock.gettimeout() == 0.0)
                return
            sock = _original_socket(family, type, proto, fileno)
            timeout = socket.getdefaulttimeout()
        else:
            sock = family.fd if isinstance(family, GreenSocket) else family
            if not isinstance(sock, _CSocket):
                raise TypeError(f"GreenSocket() wraps a socket object, not {sock!r}")
            if hasattr(sock, "_sslobj"):
                raise TypeError("use greenlane.green.ssl (or greenlane.wrap_ssl) for TLS sockets")
            timeout = sock.gettimeout() or socket.getdefaulttimeout()
        self._setup(sock, timeout)

    def _setup(self, sock: socket.socket, timeout: Optional[float],
               nonblocking: bool = False) -> None:
        if not nonblocking:
            sock.settimeout(0.0)
        self.fd = sock
        self._fileno = sock.fileno()
        self._recv = sock.recv
        self._recv_into = sock.recv_into
        self._send = sock.send
        self._accept = sock._accept  # type: ignore[attr-defined]
        self._io_refs = 0
        self._closed = False
        self._timeout = timeout
        self.act_non_blocking = timeout == 0.0

    @classmethod
    def _from_new_socket(cls, sock: socket.socket, timeout: Optional[float]) -> GreenSocket:
        # A descriptor fresh from the kernel: forget what the hub knew of its number.
        _notify_opened(sock.fileno())
        self = cls.__new__(cls)
        self._setup(sock, timeout)
        return self

    def __getattr__(self, name: str) -> Any:
        if name == "fd":  # not set up (a failed constructor): do not recurse
            raise AttributeError(name)
        return getattr(self.fd, name)

    def __repr__(self) -> str:
        closed = " [closed]" if self.fd.fileno() < 0 else ""
        return (f"<greenlane.GreenSocket{closed} fd={self.fd.fileno()} "
                f"family={self.fd.family!r} type={self.fd.type!r} timeout={self._timeout}>")

    def __enter__(self) -> GreenSocket:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ attributes
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

    @property
    def timeout(self) -> Optional[float]:
        """The green timeout, as ``gettimeout()`` returns it."""
        return self._timeout

    def fileno(self) -> int:
        """The descriptor number, or -1 once closed or detached."""
        return self.fd.fileno()

    def settimeout(self, value: Optional[float]) -> None:
        """None blocks (the green thread), 0 makes calls non-blocking, else a timeout in s."""
        self._timeout = _check_timeout(value)
        self.act_non_blocking = self._timeout == 0.0

    def gettimeout(self) -> Optional[float]:
        """The timeout set with ``settimeout`` (None: blocking; 0.0: non-blocking)."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """True: ``settimeout(None)``; False: ``settimeout(0)`` (non-blocking)."""
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        """False only in non-blocking mode (timeout 0)."""
        return self._timeout != 0.0

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
        real = _original_socket(_get_family(sock), _get_type(sock), _get_proto(sock), fd)
        return type(self)._from_new_socket(real, socket.getdefaulttimeout()), addr

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
            if self.act_non_blocking:
                raise
        return io_retry(self._fileno, READ, self._timeout,  # type: ignore[no-any-return]
                        self._recv, (bufsize, flags))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into ``buffer`` (up to ``nbytes``, 0: its size); return the count."""
        try:
            return self._recv_into(buffer, nbytes, flags)
        except BlockingIOError:
            if self.act_non_blocking:
                raise
        return io_retry(self._fileno, READ, self._timeout,  # type: ignore[no-any-return]
                        self._recv_into, (buffer, nbytes, flags))

    def _op(self, evtype: str, call: Callable[..., Any], *args: Any) -> Any:
        # Try, and wait only on EAGAIN. recv, recv_into, send and accept inline this (hot).
        try:
            return call(*args)
        except BlockingIOError:
            if self.act_non_blocking:
                raise
        return io_retry(self._fileno, evtype, self._timeout, call, args)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        """Receive up to ``bufsize`` bytes; return ``(data, address)``."""
        return self._op(READ, self.fd.recvfrom, bufsize, flags)  # type: ignore[no-any-return]

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        """Receive into ``buffer``; return ``(count, address)``."""
        return self._op(READ, self.fd.recvfrom_into,  # type: ignore[no-any-return]
                        buffer, nbytes, flags)

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0) -> Any:
        """Receive data and ancillary data (``socket.socket.recvmsg``)."""
        return self._op(READ, self.fd.recvmsg, bufsize, ancbufsize, flags)

    def recvmsg_into(self, buffers: Any, ancbufsize: int = 0, flags: int = 0) -> Any:
        """Receive into ``buffers`` with ancillary data (``socket.socket.recvmsg_into``)."""
        return self._op(READ, self.fd.recvmsg_into, buffers, ancbufsize, flags)

    # ------------------------------------------------------------------ sending
    def send(self, data: Any, flags: int = 0) -> int:
        """Send what the kernel takes at once (at least one byte); return the count."""
        try:
            return self._send(data, flags)
        except BlockingIOError:
            if self.act_non_blocking:
                raise
        return io_retry(self._fileno, WRITE, self._timeout,  # type: ignore[no-any-return]
                        self._send, (data, flags))

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send all of ``data`` (any bytes-like object), without copying it (but see below).

        The timeout bounds the whole call. In non-blocking mode, as in the stdlib, this raises
        ``BlockingIOError`` when the kernel cannot take everything at once. On PyPy a buffer
        whose items are not bytes (``array('d')``, ...) is copied once first, and at most 1 MiB
        is offered per send(), because PyPy copies whatever it is offered.
        """
        send = self._send
        try:
            sent = send(data, flags)
        except BlockingIOError:
            if self.act_non_blocking:
                raise
            sent = 0
        if type(data) is bytes and sent == len(data):
            return
        with _byte_view(data) as view:
            total = len(view)
            if sent >= total:
                return
            if self.act_non_blocking:
                with view[sent:] as rest:
                    self.fd.sendall(rest, flags)
                return
            self._send_from(view, sent, flags, _deadline(self._timeout))

    def _send_from(self, view: memoryview, sent: int, flags: int, deadline: Optional[float]
                   ) -> None:
        # Send view[sent:], waiting as needed, but not past ``deadline`` (None: no limit).
        send = self._send
        fileno = self._fileno
        total = len(view)
        while sent < total:
            with view[sent:sent + _SEND_SLICE] as rest:
                try:
                    sent += send(rest, flags)
                    continue
                except BlockingIOError:
                    pass
                sent += io_retry(fileno, WRITE, _remaining(deadline), send, (rest, flags))

    def sendto(self, data: Any, flags_or_addr: Any, addr: Any = None) -> int:
        """Send a datagram: ``sendto(data, address)`` or ``sendto(data, flags, address)``."""
        if addr is None:
            return self._op(WRITE, self.fd.sendto, data, flags_or_addr)  # type: ignore[no-any-return]
        return self._op(WRITE, self.fd.sendto,  # type: ignore[no-any-return]
                        data, flags_or_addr, addr)

    def sendmsg(self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None
                ) -> int:
        """Send data and ancillary data (``socket.socket.sendmsg``)."""
        if address is None:
            return self._op(WRITE, self.fd.sendmsg,  # type: ignore[no-any-return]
                            buffers, ancdata, flags)
        return self._op(WRITE, self.fd.sendmsg,  # type: ignore[no-any-return]
                        buffers, ancdata, flags, address)

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """Send a file (opened in binary mode) until EOF or ``count`` bytes; return the count.

        Uses ``os.sendfile`` (no copy through Python) for regular files, else reads and sends
        blocks. As in the stdlib, the file position is left after the last byte sent, and
        non-blocking sockets are refused. The timeout bounds the whole call.
        """
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if self.fd.type != socket.SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")
        if self.act_non_blocking:
            raise ValueError("non-blocking sockets are not supported")
        deadline = _deadline(self._timeout)
        try:
            file_fd = file.fileno()
            regular = stat.S_ISREG(os.fstat(file_fd).st_mode)
        except (AttributeError, io.UnsupportedOperation, OSError):
            regular = False
        if regular and hasattr(os, "sendfile"):
            sent = self._sendfile_zero_copy(file_fd, offset, count, deadline)
            if sent is not None:
                if sent:
                    file.seek(offset + sent)
                return sent
        return self._sendfile_by_send(file, offset, count, deadline)

    def _sendfile_zero_copy(self, file_fd: int, offset: int, count: Optional[int],
                            deadline: Optional[float]) -> Optional[int]:
        # None means os.sendfile cannot handle this pair: fall back to read+send.
        sock_fd = self._fileno
        total = 0
        sendfile = os.sendfile
        while count is None or total < count:
            # 1 GiB per call at most, as the stdlib does (some kernels reject larger counts).
            block = 1 << 30 if count is None else min(count - total, 1 << 30)
            try:
                sent = sendfile(sock_fd, file_fd, offset + total, block)
            except BlockingIOError:
                sent = io_retry(sock_fd, WRITE, _remaining(deadline), sendfile,
                                (sock_fd, file_fd, offset + total, block))
            except OSError as exc:
                if total == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS, errno.ENOTSOCK,
                                                errno.EOPNOTSUPP):
                    return None
                raise
            if sent == 0:
                break
            total += sent
        return total

    def _sendfile_by_send(self, file: Any, offset: int, count: Optional[int],
                          deadline: Optional[float]) -> int:
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            size = 65536 if count is None else min(count - total, 65536)
            data = file.read(size)
            if not data:
                break
            _remaining(deadline)  # time is up: socket.timeout before the next block
            # The deadline is passed down, not set as the socket's timeout: another green
            # thread using the socket meanwhile would see that.
            with _byte_view(data) as view:
                self._send_from(view, 0, 0, deadline)
            total += len(data)
        return total

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
        raw: Any = socket.SocketIO(self, rawmode)  # type: ignore[arg-type]
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
        return _text_file(buffer, mode, encoding, errors, newline)

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
            _notify_close(fileno)
            sock.close()

    def detach(self) -> int:
        """Give up the descriptor without closing it and return it; waiters get ``IOClosed``."""
        self._closed = True
        fileno = self.fd.fileno()
        if fileno >= 0:
            _notify_close(fileno)
        return self.fd.detach()

    def dup(self) -> GreenSocket:
        """A new GreenSocket on a duplicate descriptor, with the same timeout."""
        return type(self)._from_new_socket(self.fd.dup(), self._timeout)

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
