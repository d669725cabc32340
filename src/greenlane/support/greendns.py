"""eventlet's ``greendns`` functions, answered by the system resolver instead of dnspython.

The public names of ``eventlet.support.greendns`` are here: ``resolve``, ``resolve_cname``,
``getaliases``, ``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``, ``getnameinfo``,
``is_ipv4_addr``, ``is_ipv6_addr``, ``is_ip_addr`` and ``HostsResolver``. Each look-up goes
through the functions of ``greenlane.green.socket``: the system resolver, run in
``greenlane.tpool`` so that only the calling green thread waits. ``getaddrinfo``,
``gethostbyname``, ``gethostbyname_ex`` and ``getnameinfo`` *are* those functions.

Where it differs from eventlet:

* No dnspython, no resolver of its own: answers come from the C library (``/etc/hosts``,
  ``/etc/resolv.conf``, nsswitch, mDNS, ... as configured), with its caching, search domains
  and timeouts. eventlet's ``ResolverProxy``, ``udp``/``tcp`` and ``DNS_QUERY_TIMEOUT`` are
  not offered, and ``EVENTLET_NO_GREENDNS``/``EVENTLET_DEPRECATED_EAI_NODATA`` are not read.
* ``resolve()`` returns an ``Answer``: a tuple of ``Record`` objects (each with ``.address``)
  with ``qname``, ``canonical_name`` and ``rrset`` attributes, not a dnspython ``Answer``;
  names are plain strings without a trailing dot. Errors keep the resolver's own
  ``socket.gaierror`` code (``EAI_NONAME``, ``EAI_AGAIN``, ...).
* ``getnameinfo`` and ``getaliases`` work for IPv6 too (eventlet's are IPv4-only / CNAME-only).
* ``HostsResolver`` parses a hosts file into address lists; it has no dnspython ``query``
  signature. ``resolve(..., use_network=False)`` uses a fresh one each call, so there is no
  module-level cache to reset (no ``reset()``).
"""

from __future__ import annotations

import os
import socket as _stdsocket
import time
from collections.abc import Iterable
from typing import Any, Optional, Union

from greenlane.green import socket as _gsocket

__all__ = [
    "HOSTS_TTL",
    "Answer",
    "HostsResolver",
    "Record",
    "getaddrinfo",
    "getaliases",
    "gethostbyname",
    "gethostbyname_ex",
    "getnameinfo",
    "is_ip_addr",
    "is_ipv4_addr",
    "is_ipv6_addr",
    "resolve",
    "resolve_cname",
]

HOSTS_TTL = 10.0
"""Seconds a ``HostsResolver`` keeps a parsed hosts file before reading it again."""

_AF_INET = _stdsocket.AF_INET
_AF_INET6 = _stdsocket.AF_INET6
# "No such name" and "name has no address of this family": a miss, not a failure, for
# resolve(raises=False). EAI_NODATA and EAI_ADDRFAMILY are glibc extensions.
_MISS_CODES = frozenset(
    code for code in (getattr(_stdsocket, name, None)
                      for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY"))
    if code is not None)


def is_ipv4_addr(host: Any) -> bool:
    """True if ``host`` is a string holding a dotted-quad IPv4 address ("10.0.0.1")."""
    if not isinstance(host, str):
        return False
    try:
        _stdsocket.inet_pton(_AF_INET, host)
    except (OSError, ValueError):
        return False
    return True


def is_ipv6_addr(host: Any) -> bool:
    """True if ``host`` is a string holding an IPv6 address, optionally with a ``%scope``."""
    if not isinstance(host, str):
        return False
    try:
        _stdsocket.inet_pton(_AF_INET6, host.split("%", 1)[0])
    except (OSError, ValueError):
        return False
    return True


def is_ip_addr(host: Any) -> bool:
    """True if ``host`` is an IPv4 or IPv6 address string."""
    return is_ipv4_addr(host) or is_ipv6_addr(host)


class Record:
    """One address of an ``Answer``: ``.address`` (a string) and ``.family``.

    ``str(record)`` is the address, as ``str()`` of a dnspython A/AAAA record is.
    """

    __slots__ = ("address", "family")

    def __init__(self, address: str, family: int) -> None:
        self.address = address
        self.family = family

    def __str__(self) -> str:
        return self.address

    def __repr__(self) -> str:
        return f"Record({self.address!r}, {_stdsocket.AddressFamily(self.family).name})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.address, self.family) == (other.address, other.family)

    def __hash__(self) -> int:
        return hash((self.address, self.family))


class Answer(tuple[Record, ...]):
    """The addresses ``resolve()`` found for a name: a tuple of ``Record``.

    ``qname`` is the name asked for, ``canonical_name`` the name the resolver reports as
    canonical (``qname`` when it reports none), ``family`` the address family asked for.
    ``rrset`` is the answer itself, or None when it is empty (so ``if answer.rrset:`` reads as
    it does with eventlet's dnspython answers).
    """

    qname: str
    canonical_name: str
    family: int

    def __new__(cls, qname: str, family: int, records: Iterable[Record] = (),
                canonical_name: Optional[str] = None) -> Answer:
        self = super().__new__(cls, records)
        self.qname = qname
        self.canonical_name = canonical_name or qname
        self.family = family
        return self

    @property
    def rrset(self) -> Optional[Answer]:
        """The answer when it holds records, else None."""
        return self if self else None

    def __repr__(self) -> str:
        return f"Answer({self.qname!r}, {[r.address for r in self]!r})"


def _family_check(family: int) -> None:
    if family not in (_AF_INET, _AF_INET6):
        raise _stdsocket.gaierror(_stdsocket.EAI_FAMILY,
                                  f"resolve() supports AF_INET and AF_INET6, not {family!r}")


def _text(name: Union[str, bytes]) -> str:
    return name.decode("ascii") if isinstance(name, bytes) else name


class HostsResolver:
    """Look names up in a hosts file (``/etc/hosts`` by default), with no network I/O.

    The file is read on first use and again when the last read is older than ``interval``
    seconds. Reading is an ordinary (blocking) file read: the file is small and local.
    Names match case-insensitively. Differs from eventlet's class, which answers dnspython
    ``query()`` calls: this one has ``lookup(name, family)`` and ``getaliases(name)``.
    """

    def __init__(self, fname: Optional[str] = None, interval: float = HOSTS_TTL) -> None:
        self.fname = fname if fname is not None else _default_hosts_file()
        self.interval = interval
        self._loaded_at: Optional[float] = None
        self._addresses: dict[tuple[str, int], list[str]] = {}
        self._lines: list[list[str]] = []
        self._canonical: dict[str, str] = {}

    def _load(self) -> None:
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self.interval:
            return
        addresses: dict[tuple[str, int], list[str]] = {}
        lines: list[list[str]] = []
        canonical: dict[str, str] = {}
        try:
            with open(self.fname, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""  # no hosts file (some containers): every look-up misses
        for raw in text.splitlines():
            fields = raw.split("#", 1)[0].split()
            if len(fields) < 2:
                continue
            address, names = fields[0], fields[1:]
            if is_ipv4_addr(address):
                family = _AF_INET
            elif is_ipv6_addr(address):
                family = _AF_INET6
            else:
                continue
            lines.append(names)
            for name in names:
                key = name.lower()
                bucket = addresses.setdefault((key, family), [])
                if address not in bucket:
                    bucket.append(address)
                canonical.setdefault(key, names[0])
        self._addresses, self._lines, self._canonical = addresses, lines, canonical
        self._loaded_at = now

    def lookup(self, name: Union[str, bytes], family: int = _AF_INET) -> list[str]:
        """The addresses of ``family`` listed for ``name``, in file order ([] if none)."""
        _family_check(family)
        self._load()
        return list(self._addresses.get((_text(name).lower().rstrip("."), family), ()))

    def canonical_name(self, name: Union[str, bytes]) -> Optional[str]:
        """The first name on the first line that lists ``name``, or None if none does."""
        self._load()
        return self._canonical.get(_text(name).lower().rstrip("."))

    def getaliases(self, name: Union[str, bytes]) -> list[str]:
        """The other names on the lines that list ``name`` (its aliases), without repeats."""
        self._load()
        key = _text(name).lower().rstrip(".")
        aliases: list[str] = []
        for names in self._lines:
            if any(n.lower() == key for n in names):
                aliases.extend(n for n in names if n.lower() != key and n not in aliases)
        return aliases


def _default_hosts_file() -> str:
    if os.name == "nt":
        root = os.environ.get("SystemRoot", r"C:\Windows")
        return os.path.join(root, "System32", "drivers", "etc", "hosts")
    return "/etc/hosts"


def resolve(name: Union[str, bytes], family: int = _AF_INET, raises: bool = True,
            _proxy: Any = None, use_network: bool = True) -> Answer:
    """The addresses of ``family`` (AF_INET or AF_INET6) that ``name`` resolves to.

    Returns an ``Answer`` (a tuple of ``Record``). With ``raises=False`` a name that does not
    exist, or has no address of that family, gives an empty answer instead of
    ``socket.gaierror``; other failures (a timeout: ``EAI_AGAIN``) still raise. With
    ``use_network=False`` only the hosts file is consulted. ``_proxy`` is accepted for
    eventlet's signature and ignored (there is no dnspython resolver to pass).
    """
    _family_check(family)
    qname = _text(name)
    if not use_network:
        hosts = HostsResolver()
        found = hosts.lookup(qname, family)
        if not found and raises:
            raise _stdsocket.gaierror(_stdsocket.EAI_NONAME,
                                      f"{qname!r} is not in {hosts.fname}")
        return Answer(qname, family, (Record(a, family) for a in found),
                      hosts.canonical_name(qname))
    try:
        infos = _gsocket.getaddrinfo(qname, None, family, _stdsocket.SOCK_STREAM, 0,
                                     _stdsocket.AI_CANONNAME)
    except _stdsocket.gaierror as exc:
        if not raises and exc.errno in _MISS_CODES:
            return Answer(qname, family)
        raise
    seen: list[str] = []
    canonical = None
    for _family, _type, _proto, canonname, sockaddr in infos:
        canonical = canonical or canonname or None
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return Answer(qname, family, (Record(a, family) for a in seen), canonical)


def resolve_cname(host: Union[str, bytes]) -> str:
    """The canonical name the resolver reports for ``host`` (``host`` itself if none).

    Raises ``socket.gaierror`` if the name does not resolve.
    """
    name = _text(host)
    infos = _gsocket.getaddrinfo(name, None, 0, _stdsocket.SOCK_STREAM, 0,
                                 _stdsocket.AI_CANONNAME)
    for info in infos:
        if info[3]:
            return str(info[3])
    return name


def getaliases(host: Union[str, bytes]) -> list[str]:
    """The aliases of ``host``: the alias list of ``gethostbyname_ex`` ([] if none).

    Raises ``socket.gaierror`` if the name does not resolve. eventlet reports the CNAME chain;
    the system resolver reports its aliases, which for DNS names are that chain too.
    """
    return list(_gsocket.gethostbyname_ex(_text(host))[1])


# The same function objects as greenlane.green.socket's (eventlet's green socket module also
# exports greendns's functions), so either name works and ``is`` comparisons hold.
getaddrinfo = _gsocket.getaddrinfo
gethostbyname = _gsocket.gethostbyname
gethostbyname_ex = _gsocket.gethostbyname_ex
getnameinfo = _gsocket.getnameinfo
