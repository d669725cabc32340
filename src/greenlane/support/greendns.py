"""eventlet's ``greendns``: DNS look-ups that suspend only the calling green thread.

The names of ``eventlet.support.greendns`` are here: ``resolve``, ``resolve_cname``,
``getaliases``, ``getaddrinfo``, ``gethostbyname``, ``gethostbyname_ex``, ``getnameinfo``,
``is_ipv4_addr``/``is_ipv6_addr``/``is_ip_addr``, ``HostsResolver``, ``ResolverProxy``,
``HostsAnswer``, ``resolver``, ``udp``, ``tcp``, ``reset``, ``dns``, ``DNS_QUERY_TIMEOUT``,
``HOSTS_TTL`` and the ``EAI_*_ERROR`` templates. What answers depends on whether dnspython is
installed; it is optional (``pip install dnspython``, or greenlane's ``compat`` extra):

**With dnspython**, the functions behave as eventlet's: ``resolve()`` consults the hosts file
first (``HostsResolver``, reloaded every ``HOSTS_TTL`` seconds), then the nameservers of
``/etc/resolv.conf`` through a dnspython ``Resolver`` (the module's ``resolver``, a
``ResolverProxy``), and returns a dnspython ``Answer``; ``getaddrinfo`` resolves A/AAAA that
way, then asks the C library with ``AI_NUMERICHOST`` for the socket tuples; DNS errors become
``socket.gaierror`` (EAI_AGAIN on timeout, else EAI_NONAME, or EAI_NODATA when
``EVENTLET_DEPRECATED_EAI_NODATA`` is ``1``/``y``/``yes``, read at import). ``dns`` is the
dnspython package itself, with the submodules greendns uses imported. How the network I/O
stays cooperative:

* the resolver's look-ups (``Resolver.resolve``) run in ``greenlane.tpool``: dnspython's
  own code, unmodified, in a pool thread, while only the calling green thread waits.
  dnspython's resolver loop also sleeps between retries and can use DoH/DoT transports with
  their own sockets; a thread covers all of it with dnspython's public API, without patching
  dnspython or importing private copies of it (eventlet re-imports the whole ``dns`` package
  with green modules injected, about 150 ms of its import time, and replaces
  ``dns.query.udp``/``tcp`` in that copy). ``ResolverProxy`` asks with ``resolve(...,
  search=True)`` rather than dnspython's deprecated ``Resolver.query`` (a warning on each
  call), unless ``query`` was replaced, as code stubbing eventlet's resolver does;
* ``udp()`` and ``tcp()``, eventlet's query functions, send a ``dns.message`` over a green
  socket (``greendns.socket.socket``) and parse the reply with dnspython: no thread. They
  keep eventlet's signatures; a socket passed as ``sock`` is not closed, and a connected one
  is used as it is by ``tcp()``;
* the hosts file is read with a plain (blocking) read: it is small and local.

**Without dnspython**, the module still imports, and the functions answer from the system
resolver (``/etc/hosts``, nsswitch, mDNS, ... as configured) through
``greenlane.green.socket``, itself run in ``greenlane.tpool``: ``getaddrinfo``,
``gethostbyname``, ``gethostbyname_ex`` and ``getnameinfo`` *are* green socket's functions;
``resolve()`` returns an ``Answer`` (a tuple of ``Record``, with ``qname``,
``canonical_name`` and ``rrset``), names without a trailing dot, errors with the resolver's
own ``socket.gaierror`` codes. ``ResolverProxy``, ``udp``, ``tcp``, ``reset`` and
``HostsResolver.query`` raise ``ImportError`` naming dnspython; ``dns`` and ``resolver`` are
missing attributes.

Either way, greenlane's green ``socket`` module (and so ``monkey_patch()``) keeps the system
resolver in the thread pool: greenlane does not replace ``socket.getaddrinfo`` and friends by
these functions as eventlet does, so ``/etc/nsswitch.conf`` and the C library's behaviour are
kept; this module is used by code that calls it. Other differences from eventlet:

* ``HostsResolver`` keeps the first address a name is given in the file (eventlet: the last),
  skips link-local IPv6 addresses as eventlet does, and also offers ``lookup(name, family)``,
  ``canonical_name(name)``; names match case-insensitively.
* ``resolve_cname``, ``getaliases`` and the canonical name of ``getaddrinfo(...,
  AI_CANONNAME)`` give names without the trailing dot; a CNAME chain is followed for at most
  16 links. A name that exists without a record of the type asked is ``NoAnswer`` in
  ``ResolverProxy.query`` (eventlet said NXDOMAIN, so its ``resolve_cname`` of a name without
  a CNAME failed instead of returning the name).
* ``getnameinfo`` also answers IPv6 addresses (eventlet's refused them) and returns the port as
  a string, as ``socket.getnameinfo`` does.
* ``getaddrinfo(..., AF_INET6, flags=AI_V4MAPPED | AI_ALL)`` returns the IPv6 addresses as
  well as the mapped IPv4 ones (eventlet dropped the IPv6 ones).
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import os
import re
import socket as _stdsocket
import struct
import time
from collections.abc import Iterable
from typing import Any, NoReturn, Optional, Union

from greenlane import tpool
from greenlane.green import socket

__all__ = [
    "DNS_QUERY_TIMEOUT",
    "EAI_EAGAIN_ERROR",
    "EAI_NODATA_ERROR",
    "EAI_NONAME_ERROR",
    "HOSTS_TTL",
    "Answer",
    "HostsAnswer",
    "HostsResolver",
    "Record",
    "ResolverProxy",
    "getaddrinfo",
    "getaliases",
    "gethostbyname",
    "gethostbyname_ex",
    "getnameinfo",
    "is_ip_addr",
    "is_ipv4_addr",
    "is_ipv6_addr",
    "reset",
    "resolve",
    "resolve_cname",
    "tcp",
    "udp",
]

HOSTS_TTL = 10.0
"""Seconds a ``HostsResolver`` keeps a parsed hosts file before reading it again."""

DNS_QUERY_TIMEOUT = 10.0
"""Default timeout, in seconds, of ``udp()`` and ``tcp()``."""

# CNAME chains longer than this are cut (real ones have a handful of links; a loop has none).
_MAX_CNAME_LINKS = 16

_AF_INET = _stdsocket.AF_INET
_AF_INET6 = _stdsocket.AF_INET6
# "No such name" and "name has no address of this family": a miss, not a failure, for
# resolve(raises=False) on the system resolver. EAI_NODATA and EAI_ADDRFAMILY are glibc's.
_MISS_CODES = frozenset(
    code for code in (getattr(_stdsocket, name, None)
                      for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY"))
    if code is not None)


def _load_dnspython() -> Any:
    # Imported by name, so that the module (and mypy) works without dnspython installed.
    try:
        dns = importlib.import_module("dns")
        for name in ("exception", "flags", "inet", "message", "name", "query", "rcode",
                     "rdataclass", "rdatatype", "resolver", "reversename", "rrset",
                     "rdtypes.IN.A", "rdtypes.IN.AAAA", "rdtypes.ANY.CNAME", "rdtypes.ANY.PTR"):
            importlib.import_module(f"dns.{name}")
    except ImportError:
        return None
    return dns


_dns: Any = _load_dnspython()

EAI_EAGAIN_ERROR = _stdsocket.gaierror(_stdsocket.EAI_AGAIN, "Lookup timed out")
"""The error a DNS timeout becomes (a template: each raise makes a new instance)."""
EAI_NONAME_ERROR = _stdsocket.gaierror(_stdsocket.EAI_NONAME, "Name or service not known")
"""The error a missing name becomes (a template: each raise makes a new instance)."""
EAI_NODATA_ERROR = EAI_NONAME_ERROR
"""The error other DNS failures become: EAI_NONAME (EAI_NODATA was dropped by RFC 3493)."""
if (os.environ.get("EVENTLET_DEPRECATED_EAI_NODATA", "").lower() in ("1", "y", "yes")
        and hasattr(_stdsocket, "EAI_NODATA")):
    EAI_NODATA_ERROR = _stdsocket.gaierror(_stdsocket.EAI_NODATA,
                                           "No address associated with hostname")


def _raise_new_error(template: BaseException) -> NoReturn:
    # A fresh instance each time: raising the module's template itself would attach a
    # traceback to it, and with it every frame of the failed look-up, for good.
    raise type(template)(*template.args)


def _requires_dnspython(what: str) -> Any:
    if _dns is None:
        raise ImportError(f"greenlane.support.greendns.{what} needs dnspython, which is not "
                          "installed (pip install dnspython); without it the module answers "
                          "from the system resolver")
    return _dns


def __getattr__(name: str) -> Any:
    """``dns`` and ``resolver`` exist only with dnspython; say so instead of a bare miss."""
    if name in ("dns", "resolver"):
        raise AttributeError(f"greenlane.support.greendns.{name} needs dnspython, which is not "
                             "installed (pip install dnspython)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------- addresses
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


def _is_link_local(address: str) -> bool:
    try:
        return ipaddress.IPv6Address(address.split("%", 1)[0]).is_link_local
    except ValueError:
        return False


def _text(name: Any) -> str:
    if isinstance(name, bytes):
        return name.decode("ascii")
    if isinstance(name, str):
        return name
    to_text = getattr(name, "to_text", None)  # a dns.name.Name
    return str(to_text(omit_final_dot=True)) if to_text is not None else str(name)


def _family_check(family: int) -> None:
    if family not in (_AF_INET, _AF_INET6):
        raise _stdsocket.gaierror(_stdsocket.EAI_FAMILY,
                                  f"resolve() supports AF_INET and AF_INET6, not {family!r}")


# ---------------------------------------------------------------------------- hosts file
class HostsResolver:
    """Look names up in a hosts file (``/etc/hosts`` by default), with no network I/O.

    The file is read when the resolver is made and again, on use, once the last read is older
    than ``interval`` seconds. Reading is an ordinary (blocking) file read: the file is small
    and local. Names match case-insensitively; a name listed more than once keeps its first
    address (eventlet's kept the last); link-local IPv6 addresses are skipped (macOS lists
    them). ``query()`` answers dnspython-style (needs dnspython); ``lookup()``,
    ``canonical_name()`` and ``getaliases()`` work without it.
    """

    def __init__(self, fname: Optional[str] = None, interval: float = HOSTS_TTL) -> None:
        self.fname = fname if fname is not None else _default_hosts_file()
        self.interval = interval
        # eventlet's attribute names, which code written for it (and its tests) reads.
        self._v4: dict[str, str] = {}
        self._v6: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._last_load = 0.0
        if self.fname:
            self._load()

    def _readlines(self) -> list[str]:
        # The file's lines without comments and surrounding blanks, empty ones dropped; any
        # of \r, \n or \r\n ends a line. A file that cannot be read has none.
        try:
            with open(self.fname, "rb") as f:
                data = f.read()
        except OSError:
            return []
        lines = []
        for raw in re.split(r"[\r\n]", data.decode("utf-8", errors="ignore")):
            line = raw.split("#", 1)[0].strip()
            if line:
                lines.append(line)
        return lines

    def _load(self) -> None:
        v4: dict[str, str] = {}
        v6: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for line in self._readlines():
            fields = line.split()
            if len(fields) < 2:
                continue
            address, names = fields[0], [name.lower() for name in fields[1:]]
            if is_ipv4_addr(address):
                table = v4
            elif is_ipv6_addr(address) and not _is_link_local(address):
                table = v6
            else:
                continue
            for name in names:
                table.setdefault(name, address)
            for alias in names[1:]:
                aliases.setdefault(alias, names[0])
        self._v4, self._v6, self._aliases = v4, v6, aliases
        self._last_load = time.monotonic()

    def _fresh(self) -> float:
        # Reload if stale; the seconds the current contents remain valid.
        now = time.monotonic()
        if self._last_load + self.interval < now:
            self._load()
        return max(0.0, self._last_load + self.interval - now)

    def _find(self, table: dict[str, str], name: Any) -> Optional[str]:
        key = _text(name).lower()
        found = table.get(key)
        if found is None and key.endswith("."):
            found = table.get(key[:-1])
        return found

    def lookup(self, name: Union[str, bytes], family: int = _AF_INET) -> list[str]:
        """The address of ``family`` (AF_INET or AF_INET6) listed for ``name``: [] or [one]."""
        _family_check(family)
        self._fresh()
        found = self._find(self._v4 if family == _AF_INET else self._v6, name)
        return [found] if found is not None else []

    def canonical_name(self, name: Union[str, bytes]) -> Optional[str]:
        """The first name on the line that lists ``name``, or None if no line does."""
        self._fresh()
        canonical = self._find(self._aliases, name)
        if canonical is not None:
            return canonical
        if self._find(self._v4, name) is not None or self._find(self._v6, name) is not None:
            return _text(name).lower().rstrip(".")
        return None

    def getaliases(self, hostname: Union[str, bytes]) -> list[str]:
        """The other names of ``hostname``'s entry: its canonical name and its aliases."""
        self._fresh()
        name = _text(hostname).lower()
        canonical = self._aliases.get(name, name)
        names = [canonical] + [alias for alias, target in self._aliases.items()
                               if target == canonical]
        return [other for other in names if other != name]

    def query(self, qname: Any, rdtype: Any = None, rdclass: Any = None, tcp: bool = False,
              source: Any = None, raise_on_no_answer: bool = True) -> Any:
        """Answer an A, AAAA or CNAME question from the file, as a ``HostsAnswer``.

        The signature of dnspython's ``Resolver.query``; ``rdclass`` is taken as IN, ``tcp``
        and ``source`` are ignored. A name the file does not list (or another type) gives an
        empty answer, or ``dns.resolver.NoAnswer`` with ``raise_on_no_answer``. Needs
        dnspython.
        """
        dns = _requires_dnspython("HostsResolver.query")
        if rdtype is None:
            rdtype = dns.rdatatype.A
        ttl = self._fresh()
        rdclass = dns.rdataclass.IN
        name = qname if isinstance(qname, dns.name.Name) else dns.name.from_text(qname)
        rrset = dns.rrset.RRset(name, rdclass, rdtype)
        rrset.ttl = ttl
        if rdtype == dns.rdatatype.A:
            address = self._find(self._v4, qname)
            if address is not None:
                rrset.add(dns.rdtypes.IN.A.A(rdclass, rdtype, address))
        elif rdtype == dns.rdatatype.AAAA:
            address = self._find(self._v6, qname)
            if address is not None:
                rrset.add(dns.rdtypes.IN.AAAA.AAAA(rdclass, rdtype, address))
        elif rdtype == dns.rdatatype.CNAME:
            canonical = self._find(self._aliases, qname)
            if canonical is not None:
                rrset.add(dns.rdtypes.ANY.CNAME.CNAME(rdclass, rdtype,
                                                      dns.name.from_text(canonical)))
        return HostsAnswer(name, rdtype, rdclass, rrset, raise_on_no_answer)


def _default_hosts_file() -> str:
    if os.name == "nt":
        root = os.environ.get("SystemRoot", r"C:\Windows")
        return os.path.join(root, "System32", "drivers", "etc", "hosts")
    return "/etc/hosts"


# ---------------------------------------------------------------------------- dnspython
_AnswerBase: Any = _dns.resolver.Answer if _dns is not None else object


class HostsAnswer(_AnswerBase):  # type: ignore[misc]
    """A dnspython ``Answer`` built from an RRset rather than a DNS response.

    ``response`` is None, ``canonical_name`` the name asked for, ``expiration`` the time the
    RRset's ``ttl`` runs out (0 without one). With no records and ``raise_on_no_answer``,
    the constructor raises ``dns.resolver.NoAnswer``. Needs dnspython.
    """

    def __init__(self, qname: Any, rdtype: Any, rdclass: Any, rrset: Any,
                 raise_on_no_answer: bool = True) -> None:
        dns = _requires_dnspython("HostsAnswer")
        self.response = None
        self.nameserver = None
        self.port = None
        self.qname = qname
        self.rdtype = rdtype
        self.rdclass = rdclass
        self.canonical_name = qname
        if not rrset and raise_on_no_answer:
            raise dns.resolver.NoAnswer()
        self.rrset = rrset
        ttl = getattr(rrset, "ttl", None)
        self.expiration = time.time() + ttl if ttl is not None else 0


class _CooperativeResolver(_dns.resolver.Resolver if _dns is not None else object):  # type: ignore[misc]
    # dnspython's Resolver whose look-ups run in greenlane.tpool (the module docstring says
    # why). query() is the base class's, which calls resolve().
    def resolve(self, *args: Any, **kwargs: Any) -> Any:
        return tpool.execute(super().resolve, *args, **kwargs)


class ResolverProxy:
    """A dnspython resolver that consults a ``HostsResolver`` first.

    ``query(qname, rdtype, ...)``: if a hosts resolver is given and the question is an A or
    AAAA one, an answer from the hosts file is returned at once (and, with
    ``use_network=False``, nothing else is tried); otherwise the nameservers of ``filename``
    are asked, through a dnspython ``Resolver`` made on first use (``clear()`` makes a new
    one, with an empty cache). A single-label name is asked as given (the resolver applies the
    search domains) and as a top-level name ("db" and "db."), as the C library does. Needs
    dnspython.
    """

    def __init__(self, hosts_resolver: Optional[HostsResolver] = None,
                 filename: Optional[str] = "/etc/resolv.conf") -> None:
        _requires_dnspython("ResolverProxy")
        self._hosts = hosts_resolver
        self._filename = filename
        # Made on first use: without a resolv.conf, making it fails, and that must not make
        # importing this module fail (eventlet issues 736, 963).
        self._cached_resolver: Any = None

    @property
    def _resolver(self) -> Any:
        if self._cached_resolver is None:
            self.clear()
        return self._cached_resolver

    @_resolver.setter
    def _resolver(self, value: Any) -> None:
        self._cached_resolver = value

    def clear(self) -> None:
        """Start over with a new dnspython resolver: re-read its configuration, empty cache."""
        dns = _requires_dnspython("ResolverProxy.clear")
        resolver = _CooperativeResolver(filename=self._filename)
        resolver.cache = dns.resolver.LRUCache()
        self._cached_resolver = resolver

    def query(self, qname: Any, rdtype: Any = None, rdclass: Any = None, tcp: bool = False,
              source: Any = None, raise_on_no_answer: bool = True,
              _hosts_rdtypes: Optional[Iterable[Any]] = None,
              use_network: bool = True) -> Any:
        """Answer the question from the hosts file or the nameservers (see the class).

        Returns a dnspython ``Answer``; raises ``dns.resolver.NXDOMAIN`` when nothing is
        known of the name, ``NoAnswer`` (with ``raise_on_no_answer``) when the name exists but
        has no record of the type, or the resolver's error (``dns.exception.Timeout``, ...).
        """
        dns = _requires_dnspython("ResolverProxy.query")
        if rdtype is None:
            rdtype = dns.rdatatype.A
        if rdclass is None:
            rdclass = dns.rdataclass.IN
        if _hosts_rdtypes is None:
            _hosts_rdtypes = (dns.rdatatype.A, dns.rdatatype.AAAA)
        if qname is None:
            qname = "0.0.0.0"
        if isinstance(qname, (str, bytes)):
            qname = dns.name.from_text(qname, None)
        found = _Found()
        if (self._hosts is not None and rdclass == dns.rdataclass.IN
                and rdtype in _hosts_rdtypes):
            answered = found.step(self._hosts.query, qname, rdtype, hosts=True,
                                  raise_on_no_answer=False)
            if answered and (found.answer is not None or not use_network):
                return found.end(qname, raise_on_no_answer)
        ask = _asker(self._resolver)
        found.step(ask, qname, rdtype, rdclass, tcp, source, raise_on_no_answer=False)
        if len(qname) == 1:
            # "db": the C library also tries the top-level name "db." (nameko issue 392).
            found.step(ask, qname.concatenate(dns.name.root), rdtype, rdclass, tcp, source,
                       raise_on_no_answer=False)
        return found.end(qname, raise_on_no_answer)

    def getaliases(self, hostname: Any) -> list[str]:
        """The hosts file's other names for ``hostname``, then its CNAME chain (targets)."""
        dns = _requires_dnspython("ResolverProxy.getaliases")
        aliases = self._hosts.getaliases(hostname) if self._hosts is not None else []
        name = hostname
        for _ in range(_MAX_CNAME_LINKS):
            try:
                answer = _asker(self._resolver)(name, dns.rdatatype.CNAME)
            except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                break
            aliases.extend(_text(record.target) for record in answer.rrset)
            name = answer[0].target
        return aliases


def _asker(resolver: Any) -> Any:
    # How to put a question to ``resolver``: its ``query`` method, which code written for
    # eventlet replaces or overrides to stub the resolver, except where that is dnspython's
    # own: deprecated since dnspython 2.0 (a DeprecationWarning on each call, an error under
    # ``-W error``), it is resolve(..., search=True), called directly here instead.
    query = getattr(type(resolver), "query", None)
    if query is not None and query is not _DNSPYTHON_QUERY:
        return resolver.query
    return functools.partial(resolver.resolve, search=True)


_DNSPYTHON_QUERY: Any = getattr(_dns.resolver.Resolver, "query", None) if _dns else None


class _Found:
    """What the steps of one ``ResolverProxy.query`` found: answers merged, last error.

    ``empty`` is a nameserver's answer without records: the name exists, with no record of
    the type asked (eventlet turned that into NXDOMAIN, so that ``resolve_cname`` of a name
    without a CNAME failed instead of returning the name). The hosts file not listing a name
    says nothing of the kind, so its empty answers are not kept.
    """

    __slots__ = ("answer", "count", "empty", "error")

    def __init__(self) -> None:
        self.answer: Any = None
        self.empty: Any = None
        self.count = 0
        self.error: Optional[Exception] = None

    def step(self, ask: Any, *args: Any, hosts: bool = False, **kwargs: Any) -> bool:
        # Ask; False if that raised (the error is kept for end()).
        try:
            answer = ask(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - kept, and raised by end() if nothing answers
            self.error = exc
            return False
        rrset = answer.rrset
        if rrset is not None and len(rrset):
            if self.answer is None:
                self.answer = answer
            else:
                self.answer.rrset.union_update(rrset)
            self.count += len(rrset)
        elif not hosts:
            self.empty = answer
        return True

    def end(self, qname: Any, raise_on_no_answer: bool) -> Any:
        dns = _dns
        if self.answer is not None:
            return self.answer
        if self.empty is not None:
            if raise_on_no_answer:
                response = self.empty.response
                if response is None:
                    raise dns.resolver.NoAnswer()
                raise dns.resolver.NoAnswer(response=response)
            return self.empty
        error = self.error
        if error is not None and (raise_on_no_answer
                                  or not isinstance(error, dns.resolver.NoAnswer)):
            raise error
        raise dns.resolver.NXDOMAIN(qnames=(qname,))


def _dns_resolve(name: Union[str, bytes], family: int = _AF_INET, raises: bool = True,
                 _proxy: Any = None, use_network: bool = True) -> Any:
    """The A (``AF_INET``) or AAAA (``AF_INET6``) records of ``name``: a dnspython ``Answer``.

    Asks the module's ``resolver`` (or ``_proxy``): the hosts file, then (unless
    ``use_network`` is false) the nameservers. With ``raises=False`` a name without such
    records gives an answer whose ``rrset`` is empty or None instead of an error. Raises
    ``socket.gaierror``: EAI_FAMILY for another family, EAI_AGAIN on a DNS timeout,
    ``EAI_NODATA_ERROR``'s code for other DNS failures.
    """
    dns = _dns
    if family == _AF_INET:
        rdtype = dns.rdatatype.A
    elif family == _AF_INET6:
        rdtype = dns.rdatatype.AAAA
    else:
        raise _stdsocket.gaierror(_stdsocket.EAI_FAMILY, "Address family not supported")
    proxy = resolver if _proxy is None else _proxy
    try:
        try:
            return proxy.query(name, rdtype, raise_on_no_answer=raises, use_network=use_network)
        except dns.resolver.NXDOMAIN:
            if raises:
                raise
            qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
            return HostsAnswer(qname, rdtype, dns.rdataclass.IN, None, False)
    except dns.exception.Timeout:
        _raise_new_error(EAI_EAGAIN_ERROR)
    except dns.exception.DNSException:
        _raise_new_error(EAI_NODATA_ERROR)


def _dns_resolve_cname(host: Any) -> str:
    """The target of ``host``'s CNAME record, without the final dot (``host`` if none).

    Raises ``socket.gaierror`` (EAI_AGAIN on timeout, else ``EAI_NODATA_ERROR``'s code).
    """
    dns = _dns
    try:
        answer = resolver.query(host, dns.rdatatype.CNAME)
    except dns.resolver.NoAnswer:
        return _text(host)
    except dns.exception.Timeout:
        _raise_new_error(EAI_EAGAIN_ERROR)
    except dns.exception.DNSException:
        _raise_new_error(EAI_NODATA_ERROR)
    return _text(answer[0].target)


def _dns_getaliases(host: Any) -> list[str]:
    """``host``'s other names: hosts-file aliases, then the CNAME chain ([] if none).

    Raises ``socket.gaierror`` on DNS failures (EAI_AGAIN on timeout).
    """
    dns = _dns
    try:
        return list(resolver.getaliases(host))
    except dns.exception.Timeout:
        _raise_new_error(EAI_EAGAIN_ERROR)
    except dns.exception.DNSException:
        _raise_new_error(EAI_NODATA_ERROR)


def _addresses(answer: Any) -> list[str]:
    rrset = answer.rrset
    return [record.address for record in rrset] if rrset else []


def _lookup_addresses(host: str, family: int, flags: int) -> tuple[str, list[str]]:
    # The addresses getaddrinfo() will turn into socket tuples, and the name they belong to.
    if flags & _stdsocket.AI_NUMERICHOST:
        _raise_new_error(EAI_NONAME_ERROR)
    qname: Any = host
    addrs: list[str] = []
    if family == _stdsocket.AF_UNSPEC:
        # The hosts file first, for both families; the nameservers only if it knows nothing.
        error: Optional[OSError] = None
        tolerated = (_stdsocket.EAI_AGAIN, EAI_NONAME_ERROR.errno, EAI_NODATA_ERROR.errno)
        for use_network in (False, True):
            for qfamily in (_AF_INET6, _AF_INET):
                try:
                    answer = resolve(host, qfamily, False, use_network=use_network)
                except _stdsocket.gaierror as exc:
                    if exc.errno not in tolerated:
                        raise
                    error = exc
                    continue
                found = _addresses(answer)
                if found:
                    qname = answer.qname
                    addrs.extend(found)
            if addrs:
                break
        if error is not None and not addrs:
            raise error
    elif family == _AF_INET6 and flags & _stdsocket.AI_V4MAPPED:
        answer = resolve(host, _AF_INET6, False)
        qname = answer.qname
        addrs = _addresses(answer)
        if not addrs or flags & _stdsocket.AI_ALL:
            answer = resolve(host, _AF_INET, False)
            addrs.extend("::ffff:" + address for address in _addresses(answer))
    else:
        answer = resolve(host, family, False)
        qname = answer.qname
        addrs = _addresses(answer)
    return _text(qname).rstrip("."), addrs


def _dns_getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                     flags: int = 0) -> list[tuple[Any, Any, int, str, Any]]:
    """``socket.getaddrinfo`` with the names resolved by ``resolve()`` (hosts file, DNS).

    The addresses found are turned into socket tuples by the C library's ``getaddrinfo``
    with ``AI_NUMERICHOST``, so ``type``, ``proto``, ``port`` and the other flags behave
    as usual; ``AI_CANONNAME`` puts the CNAME target (or the name) in the first tuple.
    Internationalised names are IDNA-encoded first.
    """
    if isinstance(host, bytes):
        host = host.decode("ascii")
    if host is not None and not is_ip_addr(host):
        host = host.encode("idna").decode("ascii")
        qname, addrs = _lookup_addresses(host, family, flags)
    else:
        qname, addrs = host, [host]
    numeric = (flags | _stdsocket.AI_NUMERICHOST) & ~_stdsocket.AI_CANONNAME
    results: list[tuple[Any, Any, int, str, Any]] = []
    error: Optional[OSError] = None
    for address in addrs:
        try:
            results.extend(socket.getaddrinfo(address, port, family, type, proto, numeric))
        except OSError as exc:
            # AI_ADDRCONFIG: an address of a family this host has no interface for is
            # refused; the others still count.
            if not flags & _stdsocket.AI_ADDRCONFIG:
                raise
            error = exc
    if not results:
        if error is not None:
            raise error
        raise _stdsocket.gaierror(_stdsocket.EAI_NONAME, "No address found")
    if flags & _stdsocket.AI_CANONNAME:
        canonical = qname
        if not is_ip_addr(qname):
            canonical = resolve_cname(qname).encode("ascii").decode("idna")
        first = results[0]
        results[0] = (first[0], first[1], first[2], canonical, first[4])
    return results


def _dns_gethostbyname(hostname: str) -> str:
    """``socket.gethostbyname`` through ``resolve()``: the first IPv4 address of the name."""
    if is_ipv4_addr(hostname):
        return hostname
    return str(resolve(hostname)[0].address)


def _dns_gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """``socket.gethostbyname_ex`` through ``resolve()`` and ``getaliases()``."""
    if is_ipv4_addr(hostname):
        return hostname, [], [hostname]
    answer = resolve(hostname)
    aliases = getaliases(hostname)
    return _text(answer.qname).rstrip("."), list(aliases), _addresses(answer)


def _dns_getnameinfo(sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
    """``socket.getnameinfo`` through the module's ``resolver`` (PTR records, hosts file).

    An address is looked up in reverse unless ``NI_NUMERICHOST``; a name is resolved and
    must have exactly one address. The port becomes a service name unless
    ``NI_NUMERICSERV`` (its number, as a string, when the services database has none).
    """
    dns = _dns
    if not isinstance(sockaddr, tuple) or len(sockaddr) not in (2, 4):
        raise TypeError("getnameinfo() argument 1 must be a tuple of 2 or 4 items")
    host, port = sockaddr[0], sockaddr[1]
    if flags & _stdsocket.NI_NAMEREQD and flags & _stdsocket.NI_NUMERICHOST:
        _raise_new_error(EAI_NONAME_ERROR)  # conflicting flags
    if is_ip_addr(host):
        if not flags & _stdsocket.NI_NUMERICHOST:
            try:
                answer = resolver.query(dns.reversename.from_address(host.split("%", 1)[0]),
                                        dns.rdatatype.PTR)
                if len(answer) > 1:
                    raise OSError("sockaddr resolved to multiple addresses")
                host = _text(answer[0].target)
            except dns.exception.Timeout:
                if flags & _stdsocket.NI_NAMEREQD:
                    _raise_new_error(EAI_EAGAIN_ERROR)
            except dns.exception.DNSException:
                if flags & _stdsocket.NI_NAMEREQD:
                    _raise_new_error(EAI_NONAME_ERROR)
    else:
        try:
            answer = resolver.query(host)
        except dns.exception.Timeout:
            _raise_new_error(EAI_EAGAIN_ERROR)
        except dns.exception.DNSException:
            _raise_new_error(EAI_NODATA_ERROR)
        if len(answer) > 1:
            raise OSError("sockaddr resolved to multiple addresses")
        if flags & _stdsocket.NI_NUMERICHOST:
            host = answer[0].address
    service = str(port)
    if not flags & _stdsocket.NI_NUMERICSERV:
        try:
            service = _stdsocket.getservbyport(int(port),
                                               "udp" if flags & _stdsocket.NI_DGRAM else "tcp")
        except OSError:
            pass  # no name for it: the number, as socket.getnameinfo gives
    return str(host), service


# ---------------------------------------------------------------------------- udp and tcp
def _endpoints(dns: Any, af: Optional[int], where: str, port: int, source: Optional[str],
               source_port: int) -> tuple[int, tuple[Any, ...], Optional[tuple[Any, ...]]]:
    if af is None:
        try:
            af = int(dns.inet.af_for_address(where))
        except ValueError:
            af = _AF_INET
    if af == _AF_INET6:
        return (af, (where, port, 0, 0),
                (source, source_port, 0, 0) if source is not None else None)
    return af, (where, port), (source, source_port) if source is not None else None


def _same_endpoint(af: int, got: Any, expected: tuple[Any, ...]) -> bool:
    # Compare addresses in binary form, so that "::1" and "0:00::1" are one address.
    try:
        return (_stdsocket.inet_pton(af, str(got[0]).split("%", 1)[0])
                == _stdsocket.inet_pton(af, expected[0].split("%", 1)[0])
                and got[1] == expected[1])
    except (OSError, ValueError, IndexError, TypeError):
        return False


def _time_left(dns: Any, sock: Any, deadline: Optional[float]) -> None:
    # Bound the socket's next operation by what is left until the deadline.
    if deadline is None:
        sock.settimeout(None)
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise dns.exception.Timeout()
    sock.settimeout(left)


def udp(q: Any, where: str, timeout: Optional[float] = DNS_QUERY_TIMEOUT, port: int = 53,
        af: Optional[int] = None, source: Optional[str] = None, source_port: int = 0,
        ignore_unexpected: bool = False, one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False, raise_on_truncation: bool = False, sock: Any = None,
        ignore_errors: bool = False) -> Any:
    """Send the ``dns.message`` ``q`` to the nameserver ``where`` over UDP; return the reply.

    eventlet's signature, ``dns.query.udp``'s meaning, on a green socket: only the calling
    green thread waits. ``timeout`` bounds the whole exchange (``dns.exception.Timeout``);
    a reply from another address raises ``dns.query.UnexpectedSource`` unless
    ``ignore_unexpected``; with ``ignore_errors`` malformed or unrelated replies are skipped.
    ``sock``, if given, is used (and not closed) instead of a new socket, and ``source`` is
    then ignored. Needs dnspython.
    """
    dns = _requires_dnspython("udp")
    wire = q.to_wire()
    af, destination, bind_to = _endpoints(dns, af, where, port, source, source_port)
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    s = sock if sock is not None else socket.socket(af, _stdsocket.SOCK_DGRAM)
    try:
        if sock is None and bind_to is not None:
            s.bind(bind_to)
        try:
            _time_left(dns, s, deadline)
            s.sendto(wire, destination)
            while True:
                _time_left(dns, s, deadline)
                data, peer = s.recvfrom(65535)
                if not _same_endpoint(af, peer, destination):
                    if ignore_unexpected:
                        continue
                    raise dns.query.UnexpectedSource(
                        f"got a response from {peer} instead of {destination}")
                try:
                    reply = dns.message.from_wire(
                        data, keyring=q.keyring, request_mac=q.mac,
                        one_rr_per_rrset=one_rr_per_rrset, ignore_trailing=ignore_trailing,
                        raise_on_truncation=raise_on_truncation)
                except dns.message.Truncated as exc:
                    if ignore_errors and not q.is_response(exc.message()):
                        continue
                    raise
                except Exception:
                    if ignore_errors:
                        continue
                    raise
                if not q.is_response(reply):
                    if ignore_errors:
                        continue
                    raise dns.query.BadResponse()
                reply.time = time.monotonic() - started
                return reply
        except _stdsocket.timeout:
            raise dns.exception.Timeout() from None
    finally:
        if sock is None:
            s.close()


def tcp(q: Any, where: str, timeout: Optional[float] = DNS_QUERY_TIMEOUT, port: int = 53,
        af: Optional[int] = None, source: Optional[str] = None, source_port: int = 0,
        one_rr_per_rrset: bool = False, ignore_trailing: bool = False, sock: Any = None) -> Any:
    """Send the ``dns.message`` ``q`` to the nameserver ``where`` over TCP; return the reply.

    eventlet's signature, ``dns.query.tcp``'s meaning, on a green socket. ``timeout`` bounds
    the whole exchange (``dns.exception.Timeout``); a peer that closes early raises
    ``EOFError``, a reply to another question ``dns.query.BadResponse``. ``sock``, if given,
    is used (and not closed) instead of a new socket: connected to ``where`` first unless it
    is connected already. Needs dnspython.
    """
    dns = _requires_dnspython("tcp")
    wire = q.to_wire()
    af, destination, bind_to = _endpoints(dns, af, where, port, source, source_port)
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    s = sock if sock is not None else socket.socket(af, _stdsocket.SOCK_STREAM)
    try:
        try:
            if sock is None or not _connected(sock):
                if sock is None and bind_to is not None:
                    s.bind(bind_to)
                _time_left(dns, s, deadline)
                s.connect(destination)
            _time_left(dns, s, deadline)
            s.sendall(struct.pack("!H", len(wire)) + wire)
            (length,) = struct.unpack("!H", _read_exactly(dns, s, 2, deadline))
            data = _read_exactly(dns, s, length, deadline)
        except _stdsocket.timeout:
            raise dns.exception.Timeout() from None
    finally:
        if sock is None:
            s.close()
    reply = dns.message.from_wire(data, keyring=q.keyring, request_mac=q.mac,
                                  one_rr_per_rrset=one_rr_per_rrset,
                                  ignore_trailing=ignore_trailing)
    if not q.is_response(reply):
        raise dns.query.BadResponse()
    reply.time = time.monotonic() - started
    return reply


def _connected(sock: Any) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def _read_exactly(dns: Any, sock: Any, count: int, deadline: Optional[float]) -> bytes:
    data = bytearray()
    while len(data) < count:
        _time_left(dns, sock, deadline)
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(f"the nameserver closed the connection after {len(data)} of "
                           f"{count} bytes")
        data += chunk
    return bytes(data)


def reset() -> None:
    """Drop the module resolver's cache and re-read its configuration. Needs dnspython."""
    _requires_dnspython("reset")
    resolver.clear()


# ---------------------------------------------------------------------------- system resolver
class Record:
    """One address of an ``Answer`` (without dnspython): ``.address`` and ``.family``.

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
    """The addresses ``resolve()`` found without dnspython: a tuple of ``Record``.

    ``qname`` is the name asked for, ``canonical_name`` the name the resolver reports as
    canonical (``qname`` when it reports none), ``family`` the address family asked for.
    ``rrset`` is the answer itself, or None when it is empty (so ``if answer.rrset:`` reads as
    it does with dnspython answers).
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


def _system_resolve(name: Union[str, bytes], family: int = _AF_INET, raises: bool = True,
                    _proxy: Any = None, use_network: bool = True) -> Answer:
    """The addresses of ``family`` (AF_INET or AF_INET6) that ``name`` resolves to.

    Returns an ``Answer`` (a tuple of ``Record``), from the system resolver. With
    ``raises=False`` a name that does not exist, or has no address of that family, gives an
    empty answer instead of ``socket.gaierror``; other failures (a timeout: ``EAI_AGAIN``)
    still raise. With ``use_network=False`` only the hosts file is consulted. ``_proxy`` is
    accepted for eventlet's signature and ignored (there is no dnspython resolver).
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
        infos = socket.getaddrinfo(qname, None, family, _stdsocket.SOCK_STREAM, 0,
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


def _system_resolve_cname(host: Union[str, bytes]) -> str:
    """The canonical name the system resolver reports for ``host`` (``host`` if none).

    Raises ``socket.gaierror`` if the name does not resolve.
    """
    name = _text(host)
    infos = socket.getaddrinfo(name, None, 0, _stdsocket.SOCK_STREAM, 0,
                               _stdsocket.AI_CANONNAME)
    for info in infos:
        if info[3]:
            return str(info[3])
    return name


def _system_getaliases(host: Union[str, bytes]) -> list[str]:
    """The aliases of ``host``: the alias list of ``gethostbyname_ex`` ([] if none).

    Raises ``socket.gaierror`` if the name does not resolve.
    """
    return list(socket.gethostbyname_ex(_text(host))[1])


# The functions that answer: dnspython's path when it is installed, else the system
# resolver's (whose stdlib-shaped functions are green socket's own objects).
resolve: Any
resolve_cname: Any
getaliases: Any
getaddrinfo: Any
gethostbyname: Any
gethostbyname_ex: Any
getnameinfo: Any
if _dns is not None:
    dns = _dns
    resolve = _dns_resolve
    resolve_cname = _dns_resolve_cname
    getaliases = _dns_getaliases
    getaddrinfo = _dns_getaddrinfo
    gethostbyname = _dns_gethostbyname
    gethostbyname_ex = _dns_gethostbyname_ex
    getnameinfo = _dns_getnameinfo
    resolver = ResolverProxy(hosts_resolver=HostsResolver())
    __all__ += ["dns", "resolver"]
else:
    resolve = _system_resolve
    resolve_cname = _system_resolve_cname
    getaliases = _system_getaliases
    getaddrinfo = socket.getaddrinfo
    gethostbyname = socket.gethostbyname
    gethostbyname_ex = socket.gethostbyname_ex
    getnameinfo = socket.getnameinfo
