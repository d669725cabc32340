"""Servers and clients in a line: ``listen``, ``connect``, ``serve``, ``StopServe``, ``wrap_ssl``.

Same names and signatures as eventlet's convenience functions. Differences:

* ``listen`` binds exactly the address it is given (choosing a safe default address is the
  caller's business; greenlane's WSGI server defaults to 127.0.0.1) and sets SO_REUSEPORT only
  when ``reuse_port=True``. eventlet sets it by default, which lets any other process of the
  same user bind the same port and silently receive a share of the connections, and turns "a
  server is already running there" from an error into a quiet split of the traffic.
  SO_REUSEADDR (on by default, as in eventlet) only allows rebinding a port whose old
  connections are in TIME_WAIT. As in eventlet, ``reuse_port=True`` with port 0 warns
  (``ReuseRandomPortWarning``: the port picked could be one another process shares), and a
  kernel that defines SO_REUSEPORT but refuses it (EINVAL, ENOPROTOOPT) gets
  ``ReusePortUnavailableWarning`` and a socket bound without it; where the platform does not
  define SO_REUSEPORT at all, ``reuse_port=True`` raises ``ValueError``.
* ``listen`` and ``connect`` take the family from the address when ``family`` is left at
  AF_INET: a ``str``/``bytes`` path means AF_UNIX, a host with a colon (``"::1"``) AF_INET6.
* ``serve`` keeps accepting whatever happens to one connection: a handler's exception is
  reported (``greenlane.debug.hub_exceptions`` controls it) instead of stopping the server; an
  accept failing for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is
  retried after a pause growing from 5 ms to 1 s; network errors of one pending connection are
  skipped; a TLS client whose handshake fails or resets is dropped without calling the handler.
  Handlers raising ``StopServe`` still stop it, as in eventlet.
"""

from __future__ import annotations

import errno
import socket
import sys
import warnings
from typing import Any, Callable, Optional

from greenlet import getcurrent, greenlet

from greenlane.greenio._socket import GreenSocket
from greenlane.greenthread import sleep, spawn_n
from greenlane.hubs import WaitQueue, get_hub

__all__ = [
    "ReusePortUnavailableWarning",
    "ReuseRandomPortWarning",
    "StopServe",
    "connect",
    "listen",
    "serve",
    "wrap_ssl",
]

# accept() failing for lack of resources: waiting may help, spinning cannot.
_RESOURCE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")
    if hasattr(errno, name))
# accept() reporting a network error of one pending connection; the accept(2) man page says to
# treat these like EAGAIN on Linux (plus ECONNABORTED, EPERM from a firewall, and ECONNRESET).
_CLIENT_ERRNOS = frozenset(
    getattr(errno, name) for name in (
        "ECONNABORTED", "ECONNRESET", "EPROTO", "EPERM", "ENETDOWN", "ENOPROTOOPT", "EHOSTDOWN",
        "ENONET", "EHOSTUNREACH", "EOPNOTSUPP", "ENETUNREACH", "ETIMEDOUT")
    if hasattr(errno, name))
# Backoff after a resource error (Go's net/http server uses the same bounds).
_FIRST_PAUSE = 0.005
_MAX_PAUSE = 1.0


class ReuseRandomPortWarning(Warning):
    """``listen(..., reuse_port=True)`` on port 0: the kernel may pick a port that another
    process listening with SO_REUSEPORT holds, and the two would then share its connections
    (eventlet's name)."""


class ReusePortUnavailableWarning(Warning):
    """``listen(..., reuse_port=True)``: the kernel defines SO_REUSEPORT but refused it; the
    socket was bound without it (eventlet's name)."""


# What a kernel answers when it knows SO_REUSEPORT's number but not the option (WSL 1 and
# some others): EINVAL or ENOPROTOOPT.
_REUSEPORT_REFUSED = frozenset((errno.EINVAL, errno.ENOPROTOOPT))


class StopServe(Exception):
    """Raise from a ``serve`` handler (or throw into the serving green thread) to stop serving."""


def _family_for(addr: Any, family: int) -> int:
    if family != socket.AF_INET:
        return family
    if isinstance(addr, (str, bytes)) and hasattr(socket, "AF_UNIX"):
        return socket.AF_UNIX
    if isinstance(addr, tuple) and (len(addr) == 4 or (
            addr and isinstance(addr[0], str) and ":" in addr[0])):
        return socket.AF_INET6
    return family


def listen(addr: Any, family: int = socket.AF_INET, backlog: int = 50, reuse_addr: bool = True,
           reuse_port: Optional[bool] = None) -> GreenSocket:
    """A listening GreenSocket bound to ``addr``.

    Args:
        addr: ``(host, port)`` (port 0 picks a free one), an IPv6 tuple, or a Unix socket path.
        family: socket family; inferred from ``addr`` when left at AF_INET (see module doc).
        backlog: length of the queue of connections not accepted yet.
        reuse_addr: set SO_REUSEADDR (not applied to Unix sockets).
        reuse_port: set SO_REUSEPORT; off unless True (eventlet turns it on by default).

    Raises:
        OSError: the address is in use or cannot be bound.
        ValueError: ``reuse_port=True`` where SO_REUSEPORT does not exist.

    Warns:
        ReuseRandomPortWarning: ``reuse_port=True`` with port 0.
        ReusePortUnavailableWarning: the kernel refused SO_REUSEPORT (bound without it).
    """
    family = _family_for(addr, family)
    if (reuse_port and family in (socket.AF_INET, socket.AF_INET6)
            and isinstance(addr, tuple) and len(addr) > 1 and addr[1] == 0):
        warnings.warn("listen() on port 0 with reuse_port=True: the port the kernel picks may"
                      " be one another process shares with SO_REUSEPORT", ReuseRandomPortWarning,
                      stacklevel=2)
    sock = GreenSocket(family, socket.SOCK_STREAM)
    try:
        unix = family == getattr(socket, "AF_UNIX", None)
        if reuse_addr and not unix and sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            option = getattr(socket, "SO_REUSEPORT", None)
            if option is None:
                raise ValueError("SO_REUSEPORT is not supported on this platform")
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, 1)
            except OSError as exc:
                if exc.errno not in _REUSEPORT_REFUSED:
                    raise
                warnings.warn(f"SO_REUSEPORT refused by the kernel ({exc}); listening on "
                              f"{addr!r} without it", ReusePortUnavailableWarning,
                              stacklevel=2)
        sock.bind(addr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def connect(addr: Any, family: int = socket.AF_INET, bind: Any = None) -> GreenSocket:
    """A GreenSocket connected to ``addr`` (bound to ``bind`` first if given)."""
    sock = GreenSocket(_family_for(addr, family), socket.SOCK_STREAM)
    try:
        if bind is not None:
            sock.bind(bind)
        sock.connect(addr)
    except BaseException:
        sock.close()
        raise
    return sock


def wrap_ssl(sock: Any, *args: Any, **kwargs: Any) -> Any:
    """Wrap ``sock`` in TLS: ``greenlane.green.ssl.wrap_socket(sock, *args, **kwargs)``.

    For a server: ``wrap_ssl(listen(addr), certfile=..., keyfile=..., server_side=True)``, or
    pass ``context=`` an ``ssl.SSLContext``.
    """
    from greenlane.green.ssl import wrap_socket

    return wrap_socket(sock, *args, **kwargs)


class _Server:
    """The state of one ``serve()`` call: its green thread and the handlers it runs."""

    __slots__ = ("active", "greenlet", "handle", "limit", "sock", "slots", "stopping", "tls")

    def __init__(self, sock: Any, handle: Callable[[Any, Any], Any], limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, got {limit}")
        self.sock = sock
        self.handle = handle
        self.limit = limit
        self.active = 0
        self.greenlet: Optional[greenlet] = None
        self.stopping = False
        self.slots = WaitQueue()
        # TLS listeners hand out sockets whose handshake is deferred (green/ssl.py). Asking a
        # plain GreenSocket would cost a failed attribute look-up (an exception) per connection.
        self.tls = hasattr(type(sock), "_handshake_pending")

    def run(self) -> None:
        self.greenlet = getcurrent()
        accept = self.sock.accept
        pause = 0.0
        try:
            while True:
                if self.active >= self.limit:
                    self._wait_for_slot()
                try:
                    conn, addr = accept()
                except OSError as exc:
                    if exc.errno in _RESOURCE_ERRNOS:
                        pause = min(pause * 2, _MAX_PAUSE) if pause else _FIRST_PAUSE
                        sys.stderr.write(f"greenlane.serve: accept() failed: {exc}; "
                                         f"retrying in {pause:g} s\n")
                        sleep(pause)
                        continue
                    if exc.errno in _CLIENT_ERRNOS:
                        continue
                    raise
                pause = 0.0
                self.active += 1
                spawn_n(self._run_handler, conn, addr)
        except StopServe:
            return
        finally:
            self.greenlet = None

    def _wait_for_slot(self) -> None:
        while self.active >= self.limit:
            self.slots.park()

    def _run_handler(self, conn: Any, addr: Any) -> None:
        try:
            if self.tls and getattr(conn, "_handshake_pending", False):
                try:
                    conn.do_handshake()
                except OSError:
                    return  # a TLS client that failed or reset its handshake: drop only it
            self.handle(conn, addr)
        except StopServe:
            self._stop()
        except Exception:  # noqa: BLE001 - one connection's error must not stop the server
            get_hub().report_exception("serve() handler", self.handle)
        finally:
            try:
                conn.close()
            finally:
                self.active -= 1
                self.slots.wake_one()

    def _stop(self) -> None:
        if self.greenlet is not None and not self.stopping:
            self.stopping = True
            get_hub().schedule_ready(self._throw_stop)

    def _throw_stop(self) -> None:
        # From the hub: the serving green thread is parked (in accept, a pause or a slot wait).
        g = self.greenlet
        if g is not None:
            g.throw(StopServe())


def serve(sock: Any, handle: Callable[[Any, Any], Any], concurrency: int = 1000) -> None:
    """Accept connections on ``sock`` forever, calling ``handle(conn, addr)`` in a green thread.

    At most ``concurrency`` handlers run at once; past that, accepting waits (connections queue
    in the listen backlog). Each connection is closed when its handler returns. Returns when a
    handler raises ``StopServe`` (or it is thrown into the serving green thread); raises the
    accept error when the listening socket itself fails (closed, for instance). See the module
    docstring for how errors of single connections are handled.
    """
    _Server(sock, handle, concurrency).run()
