"""Name resolution that never blocks the hub: the system resolver, run in the thread pool.

``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr``, ``getnameinfo`` and
``getfqdn`` take the arguments of the ``socket`` functions of the same names and return (or
raise) exactly what they do, because they *are* those functions, called in a
``greenlane.tpool`` worker thread while only the calling green thread waits. So ``/etc/hosts``,
``nsswitch.conf`` (mDNS, LDAP, systemd-resolved, ...), ``resolv.conf`` search domains and
timeouts, and the C library's caching are honoured exactly as without greenlane, and errors are
the same ``socket.gaierror``/``socket.herror`` objects.

A call skips the pool when it provably cannot block: a numeric host (an IPv4 or IPv6 literal,
or ``AI_NUMERICHOST``/``NI_NUMERICHOST``) with a numeric port (an int, a string of digits, or
``AI_NUMERICSERV``/``NI_NUMERICSERV``) never reaches a resolver or the services database, so it
is answered in the calling thread (``AI_CANONNAME`` excepted). So is every call from a thread
that has no hub (a plain thread running no green threads has nothing to keep running). Names,
``localhost`` included, always go to the pool: only the resolver knows what ``/etc/hosts`` and
nsswitch say about them.

Differs from eventlet, which resolved names itself with a patched copy of dnspython (its hosts
file parser, no nsswitch, its own timeouts and error mapping): dnspython is not used and not
needed. ``greenlane.support.greendns`` keeps eventlet's extra names on top of these functions.
"""

from __future__ import annotations

import socket as _stdsocket
from typing import Any, Callable

from greenlane import _originals as real
from greenlane import tpool
from greenlane.hubs import _context

__all__ = ["getaddrinfo", "getfqdn", "gethostbyaddr", "gethostbyname", "gethostbyname_ex",
           "getnameinfo"]

__patches__ = (("socket", "socket", ("getaddrinfo", "gethostbyname", "gethostbyname_ex",
                                     "gethostbyaddr", "getnameinfo", "getfqdn")),)

# socket.getfqdn is pure Python over gethostbyaddr and gethostname; this is the stdlib's own
# (taken before patching, which replaces the module attribute with ours).
_real_getfqdn: Callable[[str], str] = _stdsocket.getfqdn

_AI_NUMERICHOST: int = getattr(_stdsocket, "AI_NUMERICHOST", 0)
_AI_NUMERICSERV: int = getattr(_stdsocket, "AI_NUMERICSERV", 0)
_AI_CANONNAME: int = getattr(_stdsocket, "AI_CANONNAME", 0)
_NI_NUMERICHOST: int = getattr(_stdsocket, "NI_NUMERICHOST", 0)
_NI_NUMERICSERV: int = getattr(_stdsocket, "NI_NUMERICSERV", 0)
_inet_pton = _stdsocket.inet_pton
_AF_INET = _stdsocket.AF_INET
_AF_INET6 = _stdsocket.AF_INET6


def _is_ip_literal(host: Any) -> bool:
    # Only the canonical literal forms: inet_aton's shorthands ("127.1") and scoped IPv6
    # addresses ("fe80::1%eth0", whose scope is an interface name) go to the resolver path.
    if not isinstance(host, str) or not host:
        return False
    try:
        _inet_pton(_AF_INET6 if ":" in host else _AF_INET, host)
    except (OSError, ValueError):
        return False
    return True


def _is_numeric_port(port: Any) -> bool:
    if port is None or (isinstance(port, int) and not isinstance(port, bool)):
        return True
    if isinstance(port, bytes):
        return port.isdigit()
    return isinstance(port, str) and port.isascii() and port.isdigit()


def _no_hub() -> bool:
    # A thread without a hub runs no green threads: blocking it is what it would do anyway.
    return _context.current.hub is None


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                flags: int = 0) -> list[tuple[Any, Any, int, str, Any]]:
    """``socket.getaddrinfo``, suspending only the calling green thread while it resolves."""
    # AI_CANONNAME is left to the pool even for numeric hosts: the C library may look the
    # canonical name up.
    if _no_hub() or (
            not flags & _AI_CANONNAME
            and (host is None or flags & _AI_NUMERICHOST or _is_ip_literal(host))
            and (flags & _AI_NUMERICSERV or _is_numeric_port(port))):
        return real.getaddrinfo(host, port, family, type, proto, flags)
    return tpool.execute(real.getaddrinfo, host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """``socket.gethostbyname``, suspending only the calling green thread while it resolves."""
    if _no_hub() or (_is_ip_literal(hostname) and ":" not in hostname):
        return real.gethostbyname(hostname)
    return tpool.execute(real.gethostbyname, hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """``socket.gethostbyname_ex``, suspending only the calling green thread meanwhile."""
    if _no_hub() or (_is_ip_literal(hostname) and ":" not in hostname):
        return real.gethostbyname_ex(hostname)
    return tpool.execute(real.gethostbyname_ex, hostname)


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """``socket.gethostbyaddr``: a reverse look-up, always made in the thread pool."""
    if _no_hub():
        return real.gethostbyaddr(ip_address)
    return tpool.execute(real.gethostbyaddr, ip_address)


def getnameinfo(sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
    """``socket.getnameinfo``; in the calling thread when both parts are asked numeric.

    A ``sockaddr`` that is not a tuple is refused in the calling thread, with the stdlib's own
    ``TypeError``, and without holding on to it: raised in the pool, the error's traceback
    would keep the arguments alive for as long as the caller handles it (CPython's
    ``testRefCountGetNameInfo`` checks that a refused call leaves its argument's reference
    count alone).
    """
    if not isinstance(sockaddr, (tuple, list)):  # PyPy takes a list too
        # The real function raises the stdlib's TypeError without resolving anything; the
        # argument is let go first, or this frame, in the error's traceback, would hold it.
        try:
            return real.getnameinfo(sockaddr, flags)
        finally:
            del sockaddr
    numeric = _NI_NUMERICHOST | _NI_NUMERICSERV
    if _no_hub() or (numeric and flags & numeric == numeric):
        return real.getnameinfo(sockaddr, flags)
    return tpool.execute(real.getnameinfo, sockaddr, flags)


def getfqdn(name: str = "") -> str:
    """``socket.getfqdn``: the stdlib's own function, run in the thread pool."""
    if _no_hub():
        return _real_getfqdn(name)
    return tpool.execute(_real_getfqdn, name)
