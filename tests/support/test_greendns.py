"""greenlane.support.greendns: what works without dnspython, and the hosts file.

Without dnspython the module's functions are its system-resolver ones (``_system_resolve``,
...; with dnspython installed, as in the development environment, the public names are the
dnspython ones, tested in ``test_greendns_dnspython.py``). The system functions are tested
here directly, and a subprocess with dnspython hidden checks that the public names are bound
to them. Look-ups of names go through ``greenlane.green.socket``; the tests that need a
specific resolver answer (a miss, a canonical name) put a recording stand-in there, which also
checks that contract. Everything else uses loopback addresses, which resolve without network.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from greenlane.green import socket as green_socket
from greenlane.support import greendns


def test_ip_address_predicates() -> None:
    assert greendns.is_ipv4_addr("127.0.0.1")
    assert not greendns.is_ipv4_addr("127.0.1")
    assert not greendns.is_ipv4_addr("::1")
    assert not greendns.is_ipv4_addr(b"127.0.0.1")
    assert greendns.is_ipv6_addr("::1")
    assert greendns.is_ipv6_addr("fe80::1%eth0")
    assert not greendns.is_ipv6_addr("127.0.0.1")
    assert not greendns.is_ipv6_addr(":::")
    assert not greendns.is_ipv6_addr(None)
    assert greendns.is_ip_addr("10.1.2.3") and greendns.is_ip_addr("2001:db8::1")
    assert not greendns.is_ip_addr("localhost")


def test_resolve_numeric_address_through_the_system_resolver() -> None:
    answer = greendns._system_resolve("127.0.0.1")
    assert [r.address for r in answer] == ["127.0.0.1"]
    assert str(answer[0]) == "127.0.0.1"
    assert answer.rrset is answer
    assert answer.qname == "127.0.0.1"
    assert answer[0].family == socket.AF_INET


def test_resolve_bytes_name_and_ipv6() -> None:
    assert [r.address for r in greendns._system_resolve(b"::1", socket.AF_INET6)] == ["::1"]


def test_resolve_rejects_other_families() -> None:
    with pytest.raises(socket.gaierror) as info:
        greendns._system_resolve("localhost", socket.AF_UNIX)
    assert info.value.errno == socket.EAI_FAMILY


class _Recorder:
    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.result, self.error = result, error

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        if self.error is not None:
            raise self.error
        return self.result


def test_lookups_go_through_green_socket_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    infos = [(socket.AF_INET, socket.SOCK_STREAM, 6, "real.example", ("192.0.2.7", 0)),
             (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.8", 0)),
             (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 0))]
    recorder = _Recorder(infos)
    monkeypatch.setattr(green_socket, "getaddrinfo", recorder)
    answer = greendns._system_resolve("alias.example")
    assert [r.address for r in answer] == ["192.0.2.7", "192.0.2.8"]  # de-duplicated, in order
    assert answer.canonical_name == "real.example"
    assert recorder.calls[0][:3] == ("alias.example", None, socket.AF_INET)
    assert greendns._system_resolve_cname("alias.example") == "real.example"


def test_resolve_cname_without_a_canonical_name_is_the_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(green_socket, "getaddrinfo", _Recorder(
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 0))]))
    assert greendns._system_resolve_cname("plain.example") == "plain.example"


def test_a_miss_is_an_empty_answer_only_with_raises_false(
        monkeypatch: pytest.MonkeyPatch) -> None:
    miss = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(green_socket, "getaddrinfo", _Recorder(error=miss))
    empty = greendns._system_resolve("nowhere.example", raises=False)
    assert len(empty) == 0 and empty.rrset is None and empty.qname == "nowhere.example"
    with pytest.raises(socket.gaierror) as info:
        greendns._system_resolve("nowhere.example")
    assert info.value.errno == socket.EAI_NONAME


def test_a_timeout_raises_even_with_raises_false(monkeypatch: pytest.MonkeyPatch) -> None:
    again = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    monkeypatch.setattr(green_socket, "getaddrinfo", _Recorder(error=again))
    with pytest.raises(socket.gaierror) as info:
        greendns._system_resolve("slow.example", raises=False)
    assert info.value.errno == socket.EAI_AGAIN


def test_getaliases_is_the_alias_list_of_gethostbyname_ex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(green_socket, "gethostbyname_ex",
                        _Recorder(("real.example", ["www.example"], ["192.0.2.1"])))
    assert greendns._system_getaliases("www.example") == ["www.example"]


HOSTS = """\
# comment line
127.0.0.1   localhost
10.0.0.5    Db.Internal db   # the database
10.0.0.6    db
2001:db8::5 db
fe80::5     linklocal
not-an-ip   ignored
192.0.2.9
"""


def test_hosts_resolver_parses_families_case_and_comments(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS)
    resolver = greendns.HostsResolver(str(hosts))
    # eventlet's attribute names and shapes (code written for it reads them).
    assert resolver._v4 == {"localhost": "127.0.0.1", "db.internal": "10.0.0.5",
                            "db": "10.0.0.5"}
    assert resolver._v6 == {"db": "2001:db8::5"}  # link-local addresses are skipped
    assert resolver._aliases == {"db": "db.internal"}
    assert resolver.lookup("db") == ["10.0.0.5"]  # the first line listing it wins
    assert resolver.lookup("DB.internal.") == ["10.0.0.5"]
    assert resolver.lookup(b"db", socket.AF_INET6) == ["2001:db8::5"]
    assert resolver.lookup("linklocal", socket.AF_INET6) == []
    assert resolver.lookup("ignored") == []
    assert resolver.canonical_name("db") == "db.internal"
    assert resolver.canonical_name("localhost") == "localhost"
    assert resolver.canonical_name("nothing") is None
    assert resolver.getaliases("db") == ["db.internal"]
    assert resolver.getaliases("db.internal") == ["db"]
    assert resolver.getaliases("nothing") == []
    with pytest.raises(socket.gaierror):
        resolver.lookup("db", socket.AF_UNIX)


def test_hosts_resolver_line_endings_and_comments(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_bytes(b"\naa\r\nbb\r  cc  \n\n\tdd ee # x\n#only a comment\n\xff ff")
    assert greendns.HostsResolver(str(hosts))._readlines() == ["aa", "bb", "cc", "dd ee", "ff"]


def test_hosts_resolver_rereads_after_its_interval(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.1 a\n")
    cached = greendns.HostsResolver(str(hosts), interval=3600)
    fresh = greendns.HostsResolver(str(hosts), interval=0)
    assert cached.lookup("a") == fresh.lookup("a") == ["10.0.0.1"]
    hosts.write_text("10.0.0.2 a\n")
    assert cached.lookup("a") == ["10.0.0.1"]
    assert fresh.lookup("a") == ["10.0.0.2"]


def test_hosts_resolver_without_a_file_misses(tmp_path: Path) -> None:
    resolver = greendns.HostsResolver(str(tmp_path / "absent"))
    assert resolver._readlines() == []
    assert resolver.lookup("localhost") == []


def test_resolve_from_the_hosts_file_only() -> None:
    if "127.0.0.1" not in greendns.HostsResolver().lookup("localhost"):
        pytest.skip("this machine's hosts file does not list localhost as 127.0.0.1")
    answer = greendns._system_resolve("localhost", use_network=False)
    assert "127.0.0.1" in [r.address for r in answer]
    with pytest.raises(socket.gaierror):
        greendns._system_resolve("surely-not-in-hosts.invalid", use_network=False)
    assert len(greendns._system_resolve("surely-not-in-hosts.invalid", raises=False,
                                        use_network=False)) == 0


def test_new_errors_are_raised_from_the_templates() -> None:
    # A fresh exception each time: raising the template would pin a traceback on it.
    for _ in range(2):
        with pytest.raises(socket.gaierror) as info:
            greendns._raise_new_error(greendns.EAI_EAGAIN_ERROR)
        assert info.value is not greendns.EAI_EAGAIN_ERROR
        assert info.value.errno == socket.EAI_AGAIN
    assert greendns.EAI_EAGAIN_ERROR.__traceback__ is None


_WITHOUT_DNSPYTHON = textwrap.dedent("""
    import socket, sys
    sys.modules["dns"] = None  # as if dnspython were not installed
    from greenlane.green import socket as green_socket
    from greenlane.support import greendns

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "getnameinfo"):
        assert getattr(greendns, name) is getattr(green_socket, name), name
    assert greendns.resolve is greendns._system_resolve
    assert greendns.resolve_cname is greendns._system_resolve_cname
    assert greendns.getaliases is greendns._system_getaliases
    assert [r.address for r in greendns.resolve("127.0.0.1")] == ["127.0.0.1"]
    assert greendns.gethostbyname("127.0.0.1") == "127.0.0.1"
    assert not hasattr(greendns, "dns") and not hasattr(greendns, "resolver")
    try:
        greendns.dns
    except AttributeError as exc:
        assert "needs dnspython" in str(exc), exc
    for call in (lambda: greendns.ResolverProxy(), lambda: greendns.udp(None, "127.0.0.1"),
                 lambda: greendns.tcp(None, "127.0.0.1"), greendns.reset,
                 lambda: greendns.HostsResolver().query("localhost")):
        try:
            call()
        except ImportError as exc:
            assert "needs dnspython" in str(exc), exc
        else:
            raise AssertionError("no ImportError")
    assert "dns" not in greendns.__all__ and "resolver" not in greendns.__all__
    print("ok")
""")


def test_without_dnspython_the_system_resolver_answers() -> None:
    result = subprocess.run([sys.executable, "-c", _WITHOUT_DNSPYTHON], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
