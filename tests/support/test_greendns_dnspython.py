"""greenlane.support.greendns with dnspython: eventlet's API against a real nameserver.

The nameserver is a green thread of the test's own hub on 127.0.0.1 (UDP and TCP on one port),
answering from a small zone with messages built by dnspython. A look-up that blocked the OS
thread would stop it from ever answering; the concurrency tests go further: the server holds
its replies until several queries have arrived, which only happens if they are in flight
together.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from greenlane.event import Event
from greenlane.green import socket as green_socket
from greenlane.greenthread import GreenThread, sleep, spawn
from greenlane.timeout import Timeout
from tests._support import unavailable

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.resolver
    import dns.rrset
except ImportError:  # pragma: no cover - the compat and dev environments install it
    unavailable("dnspython is not installed")

from greenlane.support import greendns

# dnspython's deprecated Resolver.query (eventlet's greendns calls it) must not be used.
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

LIMIT = 10  # seconds any one test may take: far more than it needs

ZONE: dict[str, list[tuple[str, str]]] = {
    "www.test.": [("A", "192.0.2.10"), ("AAAA", "2001:db8::10")],
    "two.test.": [("A", "192.0.2.21"), ("A", "192.0.2.22")],
    "alias.test.": [("CNAME", "www.test.")],
    "outer.test.": [("CNAME", "alias.test.")],
    "db.": [("A", "192.0.2.30")],
    "10.2.0.192.in-addr.arpa.": [("PTR", "www.test.")],
    "loop1.test.": [("CNAME", "loop2.test.")],
    "loop2.test.": [("CNAME", "loop1.test.")],
}


class Nameserver:
    """An authoritative-style DNS server for ``ZONE`` on 127.0.0.1, over UDP and TCP.

    Names in ``silent`` get no reply at all. With ``hold = n``, UDP replies are held back
    until ``n`` queries have arrived, then all are sent.
    """

    def __init__(self) -> None:
        self.queries: list[tuple[str, str, str]] = []  # (name, type, transport)
        self.silent: set[str] = set()
        self.hold = 0
        self._held: list[tuple[bytes, Any]] = []
        for _ in range(5):
            self.udp = green_socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = green_socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:  # that TCP port is taken: try another pair
                self.udp.close()
                self.tcp.close()
        self.tcp.listen(16)
        self._threads: list[GreenThread[None]] = [spawn(self._serve_udp),
                                                  spawn(self._serve_tcp)]

    def close(self) -> None:
        for thread in self._threads:
            thread.kill()
        self.udp.close()
        self.tcp.close()

    def reply_to(self, wire: bytes, transport: str) -> Optional[bytes]:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype), transport))
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        if name not in ZONE:
            response.set_rcode(dns.rcode.NXDOMAIN)
        # Like a recursive server: a CNAME chain is followed, each link in the answer.
        for _ in range(8):
            records = ZONE.get(name, [])
            wanted = [value for kind, value in records
                      if dns.rdatatype.from_text(kind) == question.rdtype]
            cnames = [value for kind, value in records if kind == "CNAME"]
            if wanted:
                response.answer.append(dns.rrset.from_text(
                    name, 60, "IN", dns.rdatatype.to_text(question.rdtype), *wanted))
                break
            if not cnames:
                break
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "CNAME", cnames[0]))
            name = cnames[0]
        return bytes(response.to_wire())

    def _serve_udp(self) -> None:
        while True:
            wire, peer = self.udp.recvfrom(65535)
            reply = self.reply_to(wire, "udp")
            if reply is None:
                continue
            if self.hold:
                self._held.append((reply, peer))
                if len(self._held) < self.hold:
                    continue
                held, self._held = self._held, []
                for reply, peer in held:
                    self.udp.sendto(reply, peer)
            else:
                self.udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while True:
            conn, _ = self.tcp.accept()
            self._threads.append(spawn(self._serve_connection, conn))

    def _serve_connection(self, conn: Any) -> None:
        try:
            header = _recv_exactly(conn, 2)
            if len(header) < 2:
                return
            reply = self.reply_to(_recv_exactly(conn, struct.unpack("!H", header)[0]), "tcp")
            if reply is not None:
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        finally:
            conn.close()


def _recv_exactly(conn: Any, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def nameserver() -> Iterator[Nameserver]:
    server = Nameserver()
    try:
        with Timeout(LIMIT):
            yield server
    finally:
        server.close()


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text("192.0.2.99 www.test shadowed.test\n127.0.0.1 localhost\n")
    return path


@pytest.fixture
def proxy(nameserver: Nameserver, tmp_path: Path, hosts_file: Path,
          monkeypatch: pytest.MonkeyPatch) -> greendns.ResolverProxy:
    """A ResolverProxy on the test nameserver, installed as the module's ``resolver``."""
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\n")
    rp = greendns.ResolverProxy(hosts_resolver=greendns.HostsResolver(str(hosts_file)),
                                filename=str(conf))
    resolver = rp._resolver
    resolver.port = nameserver.port
    resolver.timeout = resolver.lifetime = 2.0
    monkeypatch.setattr(greendns, "resolver", rp)
    return rp


def _query(name: str, rdtype: str = "A") -> Any:
    return dns.message.make_query(name, rdtype)


# ---------------------------------------------------------------------------- module shape
def test_the_dnspython_api_is_offered() -> None:
    assert greendns.dns is dns
    assert isinstance(greendns.resolver, greendns.ResolverProxy)
    assert greendns.resolve is greendns._dns_resolve
    assert greendns.getaddrinfo is greendns._dns_getaddrinfo
    assert {"dns", "resolver"} <= set(greendns.__all__)
    assert issubclass(greendns.HostsAnswer, dns.resolver.Answer)


def test_hosts_resolver_answers_dnspython_questions(hosts_file: Path) -> None:
    hosts = greendns.HostsResolver(str(hosts_file), interval=30)
    answer = hosts.query("WWW.test")
    assert isinstance(answer, dns.resolver.Answer) and answer.response is None
    assert answer.qname == dns.name.from_text("WWW.test")
    assert [r.address for r in answer] == ["192.0.2.99"]
    assert 29 <= answer.rrset.ttl <= 30 and answer.expiration
    assert hosts.query(dns.name.from_text("shadowed.test."), dns.rdatatype.CNAME)[0].target \
        == dns.name.from_text("www.test")
    with pytest.raises(dns.resolver.NoAnswer):
        hosts.query("www.test", dns.rdatatype.AAAA)
    empty = hosts.query("www.test", dns.rdatatype.MX, raise_on_no_answer=False)
    assert len(empty.rrset) == 0 and empty.rdtype == dns.rdatatype.MX


# ---------------------------------------------------------------------------- resolve
def test_resolve_asks_the_nameserver(nameserver: Nameserver, proxy: Any) -> None:
    assert sorted(r.address for r in greendns.resolve("two.test")) == ["192.0.2.21",
                                                                       "192.0.2.22"]
    assert [r.address for r in greendns.resolve("www.test", socket.AF_INET6)] == [
        "2001:db8::10"]
    assert ("two.test.", "A", "udp") in nameserver.queries


def test_the_hosts_file_comes_first(nameserver: Nameserver, proxy: Any) -> None:
    assert [r.address for r in greendns.resolve("www.test")] == ["192.0.2.99"]
    assert nameserver.queries == []
    # Not in the file for AAAA: the nameserver is asked.
    assert [r.address for r in greendns.resolve("www.test", socket.AF_INET6)] == [
        "2001:db8::10"]


def test_use_network_false_stays_in_the_hosts_file(nameserver: Nameserver, proxy: Any) -> None:
    assert not greendns.resolve("two.test", raises=False, use_network=False).rrset
    with pytest.raises(socket.gaierror):
        greendns.resolve("two.test", use_network=False)
    assert nameserver.queries == []


def test_missing_names_and_timeouts_become_gaierror(nameserver: Nameserver, proxy: Any) -> None:
    with pytest.raises(socket.gaierror) as info:
        greendns.resolve("nowhere.test")
    assert info.value.errno == greendns.EAI_NODATA_ERROR.errno
    assert not greendns.resolve("nowhere.test", raises=False).rrset
    nameserver.silent.add("slow.test.")
    proxy._resolver.timeout = proxy._resolver.lifetime = 0.2
    with pytest.raises(socket.gaierror) as info:
        greendns.resolve("slow.test")
    assert info.value.errno == socket.EAI_AGAIN
    with pytest.raises(socket.gaierror) as info:
        greendns.resolve("www.test", socket.AF_UNIX)
    assert info.value.errno == socket.EAI_FAMILY


def test_a_single_label_is_also_asked_as_a_top_level_name(nameserver: Nameserver,
                                                          proxy: Any) -> None:
    assert [r.address for r in greendns.resolve("db")] == ["192.0.2.30"]
    assert ("db.", "A", "udp") in nameserver.queries


def test_lookups_run_concurrently(nameserver: Nameserver, proxy: Any) -> None:
    # The nameserver answers nobody until four queries are in: sequential look-ups would
    # wait for ever (the Timeout of the fixture fails the test).
    nameserver.hold = 4
    names = ["www.test", "two.test", "db", "alias.test"]
    threads = [spawn(greendns.resolve, name, socket.AF_INET6 if name == "www.test"
                     else socket.AF_INET) for name in names]
    results = [sorted(r.address for r in thread.wait()) for thread in threads]
    assert results == [["2001:db8::10"], ["192.0.2.21", "192.0.2.22"], ["192.0.2.30"],
                       ["192.0.2.10"]]


def test_resolve_cname_and_getaliases_follow_the_chain(nameserver: Nameserver,
                                                       proxy: Any) -> None:
    assert greendns.resolve_cname("alias.test") == "www.test"
    assert greendns.resolve_cname("two.test") == "two.test"  # no CNAME
    assert greendns.getaliases("outer.test") == ["alias.test", "www.test"]
    assert greendns.getaliases("shadowed.test") == ["www.test"]  # from the hosts file
    assert len(greendns.getaliases("loop1.test")) == 16  # a loop is cut


def test_a_stubbed_query_method_is_what_gets_asked(nameserver: Nameserver, proxy: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Code written for eventlet stubs the resolver by replacing Resolver.query.
    asked: list[Any] = []

    def query(self: Any, qname: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(qname)
        raise dns.resolver.NoAnswer()

    monkeypatch.setattr(dns.resolver.Resolver, "query", query)
    assert not greendns.resolve("two.test", raises=False).rrset
    assert asked == [dns.name.from_text("two.test", None)]
    assert nameserver.queries == []


def test_reset_makes_a_fresh_resolver(proxy: Any) -> None:
    before = proxy._resolver
    greendns.reset()
    assert proxy._resolver is not before
    assert isinstance(proxy._resolver.cache, dns.resolver.LRUCache)


# ---------------------------------------------------------------------------- socket functions
def test_getaddrinfo_resolves_then_builds_socket_tuples(nameserver: Nameserver,
                                                        proxy: Any) -> None:
    infos = greendns.getaddrinfo("two.test", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert sorted(info[4] for info in infos) == [("192.0.2.21", 80), ("192.0.2.22", 80)]
    assert all(info[:3] == (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
               for info in infos)
    both = {info[4][0] for info in greendns.getaddrinfo("alias.test", "http",
                                                        type=socket.SOCK_STREAM)}
    assert both == {"192.0.2.10", "2001:db8::10"}
    canonical = greendns.getaddrinfo("alias.test", 80, socket.AF_INET, socket.SOCK_STREAM, 0,
                                     socket.AI_CANONNAME)
    assert canonical[0][3] == "www.test"
    mapped = greendns.getaddrinfo("two.test", 80, socket.AF_INET6, socket.SOCK_STREAM, 0,
                                  socket.AI_V4MAPPED)
    assert {info[4][0] for info in mapped} == {"::ffff:192.0.2.21", "::ffff:192.0.2.22"}
    with pytest.raises(socket.gaierror):
        greendns.getaddrinfo("two.test", 80, 0, 0, 0, socket.AI_NUMERICHOST)
    assert greendns.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM) == \
        socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)


def test_gethostbyname_and_ex(nameserver: Nameserver, proxy: Any) -> None:
    assert greendns.gethostbyname("two.test") in ("192.0.2.21", "192.0.2.22")
    assert greendns.gethostbyname("10.1.2.3") == "10.1.2.3"
    assert greendns.gethostbyname_ex("outer.test") == (
        "outer.test", ["alias.test", "www.test"], ["192.0.2.10"])
    assert greendns.gethostbyname_ex("10.1.2.3") == ("10.1.2.3", [], ["10.1.2.3"])


def test_getnameinfo_looks_addresses_up_in_reverse(nameserver: Nameserver, proxy: Any) -> None:
    assert greendns.getnameinfo(("192.0.2.10", 80), 0) == ("www.test", "http")
    assert greendns.getnameinfo(("192.0.2.10", 80), socket.NI_NUMERICHOST
                                | socket.NI_NUMERICSERV) == ("192.0.2.10", "80")
    assert greendns.getnameinfo(("192.0.2.77", 80), socket.NI_NUMERICSERV) == (
        "192.0.2.77", "80")  # no PTR record: the address
    with pytest.raises(socket.gaierror):
        greendns.getnameinfo(("192.0.2.77", 80), socket.NI_NAMEREQD)
    with pytest.raises(TypeError):
        greendns.getnameinfo("192.0.2.10", 0)  # type: ignore[arg-type]


def test_getnameinfo_of_a_name_needs_one_address(nameserver: Nameserver, proxy: Any) -> None:
    assert greendns.getnameinfo(("db", 53), socket.NI_NUMERICHOST | socket.NI_DGRAM) == (
        "192.0.2.30", "domain")
    with pytest.raises(OSError, match="multiple addresses"):
        greendns.getnameinfo(("two.test", 80), 0)


# ---------------------------------------------------------------------------- udp and tcp
def test_udp_and_tcp_query_the_nameserver(nameserver: Nameserver) -> None:
    reply = greendns.udp(_query("www.test"), "127.0.0.1", timeout=LIMIT, port=nameserver.port)
    assert reply.answer[0].to_text().endswith("192.0.2.10")
    reply = greendns.tcp(_query("www.test", "AAAA"), "127.0.0.1", timeout=LIMIT,
                         port=nameserver.port)
    assert reply.answer[0].to_text().endswith("2001:db8::10")
    assert [q[2] for q in nameserver.queries] == ["udp", "tcp"]


def test_udp_queries_wait_together(nameserver: Nameserver) -> None:
    nameserver.hold = 3
    threads = [spawn(greendns.udp, _query(name), "127.0.0.1", LIMIT, nameserver.port)
               for name in ("www.test.", "two.test.", "db.")]
    replies = [thread.wait() for thread in threads]
    assert [r.question[0].name.to_text() for r in replies] == ["www.test.", "two.test.", "db."]


def test_udp_times_out(nameserver: Nameserver) -> None:
    nameserver.silent.add("www.test.")
    other = spawn(sleep, 0.01)  # runs meanwhile
    with pytest.raises(dns.exception.Timeout):
        greendns.udp(_query("www.test"), "127.0.0.1", timeout=0.1, port=nameserver.port)
    assert other.dead


def _replier_from_elsewhere(listener: Any, sender: Any, replies: int) -> None:
    for _ in range(replies):
        wire, peer = listener.recvfrom(65535)
        sender.sendto(bytes(dns.message.make_response(dns.message.from_wire(wire)).to_wire()),
                      peer)


def test_udp_reply_from_another_address(nameserver: Nameserver) -> None:
    listener = green_socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = green_socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        replier = spawn(_replier_from_elsewhere, listener, sender, 2)
        with pytest.raises(dns.query.UnexpectedSource):
            greendns.udp(_query("www.test"), "127.0.0.1", timeout=LIMIT, port=port)
        with pytest.raises(dns.exception.Timeout):
            greendns.udp(_query("www.test"), "127.0.0.1", timeout=0.1, port=port,
                         ignore_unexpected=True)
        replier.wait()
    finally:
        listener.close()
        sender.close()


def test_udp_with_a_socket_of_ones_own(nameserver: Nameserver) -> None:
    own = green_socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        greendns.udp(_query("db."), "127.0.0.1", timeout=LIMIT, port=nameserver.port, sock=own)
        own.getsockname()  # still open
    finally:
        own.close()


def test_tcp_with_a_connected_socket_and_early_close(nameserver: Nameserver) -> None:
    own = green_socket.create_connection(("127.0.0.1", nameserver.port))
    try:
        reply = greendns.tcp(_query("db."), "127.0.0.1", timeout=LIMIT, sock=own)
        assert reply.answer[0].to_text().endswith("192.0.2.30")
        own.getsockname()  # still open, not closed by tcp()
    finally:
        own.close()
    nameserver.silent.add("www.test.")  # the server closes without a reply
    with pytest.raises(EOFError):
        greendns.tcp(_query("www.test"), "127.0.0.1", timeout=LIMIT, port=nameserver.port)


def test_tcp_times_out() -> None:
    listener = green_socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    accepted = Event()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def accept_and_stay_silent() -> None:
            conn, _ = listener.accept()
            accepted.send(conn)

        acceptor = spawn(accept_and_stay_silent)
        with Timeout(LIMIT), pytest.raises(dns.exception.Timeout):
            greendns.tcp(_query("www.test"), "127.0.0.1", timeout=0.1,
                         port=listener.getsockname()[1])
        acceptor.wait()
        accepted.wait().close()
    finally:
        listener.close()
