"""The ``socket`` module with cooperative sockets: ``greenlane.green.socket``.

Everything in the stdlib ``socket`` module is here; these names are replaced:

* ``socket`` and ``SocketType`` are ``greenlane.greenio.GreenSocket`` (so ``SocketType`` is
  not ``_socket.socket`` here, unlike the stdlib: GreenSocket wraps a real socket rather than
  being one);
* ``socketpair``, ``fromfd``, ``create_connection`` and ``create_server`` return GreenSockets;
* name resolution (``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``,
  ``gethostbyaddr``, ``getnameinfo``, ``getfqdn``) is ``greenlane.green._dns``: the system
  resolver run in the thread pool, so only the calling green thread waits for it, and
  ``create_connection`` resolves through it.
"""

from __future__ import annotations

import _socket
import builtins
import os as _os
import socket as _stdsocket
from socket import *  # noqa: F403
from typing import Any, Optional

from greenlane import _originals as real
from greenlane.green._dns import getaddrinfo as getaddrinfo
from greenlane.green._dns import getfqdn as getfqdn
from greenlane.green._dns import gethostbyaddr as gethostbyaddr
from greenlane.green._dns import gethostbyname as gethostbyname
from greenlane.green._dns import gethostbyname_ex as gethostbyname_ex
from greenlane.green._dns import getnameinfo as getnameinfo
from greenlane.greenio._socket import GreenSocket

__all__ = list(_stdsocket.__all__)

# create_connection and create_server are not patched: the stdlib's own build their sockets
# with, and resolve through, this module's socket and getaddrinfo once those are patched in, so
# they stay exactly what each Python version's are (and honour a socket.socket replaced later,
# as tests do with mocks).
__patches__ = (("socket", "socket", (
    "socket", "SocketType", "socketpair", "fromfd",
    "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo",
    "getfqdn")),)

socket = GreenSocket  # type: ignore[misc,assignment]
SocketType = GreenSocket  # type: ignore[misc,assignment]

_GLOBAL_DEFAULT_TIMEOUT: Any = getattr(_stdsocket, "_GLOBAL_DEFAULT_TIMEOUT", object())
_SOCK_NONBLOCK = int(getattr(_stdsocket, "SOCK_NONBLOCK", 0))


def socketpair(family: Optional[int] = None,  # type: ignore[no-redef]
               type: int = SOCK_STREAM,  # noqa: F405
               proto: int = 0) -> tuple[GreenSocket, GreenSocket]:
    """A pair of connected GreenSockets (AF_UNIX by default), like ``socket.socketpair``."""
    if family is None:
        family = getattr(_stdsocket, "AF_UNIX", AF_INET)  # noqa: F405
    # The C function: the stdlib's socketpair() builds whatever socket.socket is at call time.
    a, b = _socket.socketpair(family, type, proto)
    ga = real.socket(family, type, proto, a.detach())
    gb = real.socket(family, type, proto, b.detach())
    timeout = 0.0 if type & _SOCK_NONBLOCK else getdefaulttimeout()  # noqa: F405
    return GreenSocket.from_new_socket(ga, timeout), GreenSocket.from_new_socket(gb, timeout)


def fromfd(fd: Any, family: int, type: int,  # type: ignore[no-redef]
           proto: int = 0) -> GreenSocket:
    """A GreenSocket on a duplicate of descriptor ``fd`` (``fd`` itself stays open)."""
    fileno = fd if isinstance(fd, int) else fd.fileno()
    sock = real.socket(family, type, proto, _os.dup(fileno))
    return GreenSocket.from_new_socket(sock, getdefaulttimeout())  # noqa: F405


def create_connection(address: tuple[Any, int],  # type: ignore[no-redef]
                      timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
                      source_address: Optional[tuple[Any, int]] = None, *,
                      all_errors: bool = False) -> GreenSocket:
    """Connect to ``(host, port)``, trying each address ``getaddrinfo`` returns in turn.

    The name is resolved by the green ``getaddrinfo``. Same contract as
    ``socket.create_connection``: ``timeout`` (when given) is set on the
    socket before connecting; the error for the last address tried is raised if all fail, or
    an ``ExceptionGroup`` of all of them with ``all_errors=True`` (Python 3.11+).
    """
    host, port = address
    errors: list[OSError] = []
    for family, kind, proto, _canonname, sockaddr in getaddrinfo(
            host, port, 0, SOCK_STREAM):  # noqa: F405
        sock = None
        try:
            sock = GreenSocket(family, kind, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            errors.append(exc)
            if sock is not None:
                sock.close()
    if not errors:
        raise OSError("getaddrinfo returns an empty list")
    group = getattr(builtins, "ExceptionGroup", None)
    if all_errors and group is not None:
        raise group("create_connection failed", errors)
    try:
        raise errors[-1]
    finally:
        errors.clear()  # break the traceback <-> frame reference cycle


def create_server(address: Any, *,  # type: ignore[no-redef]
                  family: int = AF_INET,  # noqa: F405
                  backlog: Optional[int] = None, reuse_port: bool = False,
                  dualstack_ipv6: bool = False) -> GreenSocket:
    """A listening GreenSocket bound to ``address``, like ``socket.create_server``.

    SO_REUSEADDR is set (POSIX); SO_REUSEPORT only with ``reuse_port=True``; AF_INET6 sockets
    are IPv6-only unless ``dualstack_ipv6=True``.
    """
    if reuse_port and not hasattr(_stdsocket, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6:
        if not has_dualstack_ipv6():  # noqa: F405
            raise ValueError("dualstack_ipv6 not supported on this platform")
        if family != AF_INET6:  # noqa: F405
            raise ValueError("dualstack_ipv6 requires AF_INET6 family")
    sock = GreenSocket(family, SOCK_STREAM)  # noqa: F405
    try:
        if _os.name not in ("nt", "cygwin"):
            try:
                sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)  # noqa: F405
            except OSError:
                pass  # some families (AF_UNIX on a few systems) refuse it; harmless
        if reuse_port:
            sock.setsockopt(SOL_SOCKET, _stdsocket.SO_REUSEPORT, 1)  # noqa: F405
        if has_ipv6 and family == AF_INET6:  # noqa: F405
            sock.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0 if dualstack_ipv6 else 1)  # noqa: F405
        try:
            sock.bind(address)
        except OSError as err:
            raise OSError(err.errno, f"{err.strerror} (while attempting to bind on address "
                                     f"{address!r})") from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except BaseException:
        sock.close()
        raise
