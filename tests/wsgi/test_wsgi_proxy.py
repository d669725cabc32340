"""Trusted proxy headers: ``ProxyPolicy`` on environ dicts, then through a real server."""

from __future__ import annotations

import ast
import os
import socket
import tempfile
from typing import Any, Callable, Optional

import pytest

import greenlane
from greenlane._http1 import RemoteProtocolError
from greenlane.wsgi import Server
from greenlane.wsgi._proxy import ProxyPolicy
from tests._support import has_ipv6_loopback

from ._wsgi_support import TIMEOUT, Client, ServerThread

StartResponse = Callable[..., Any]

KEYS = ("REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTPS", "HTTP_HOST", "SERVER_NAME",
        "SERVER_PORT")


def base_env(**headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5555",
                           "wsgi.url_scheme": "http", "HTTP_HOST": "internal:8000",
                           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000"}
    env.update(headers)
    return env


def applied(policy: ProxyPolicy, **headers: str) -> dict[str, Any]:
    env = base_env(**headers)
    policy.apply(env)
    return {key: env.get(key) for key in KEYS}


# -- ProxyPolicy, sans-IO --------------------------------------------------------------------------

def test_x_forwarded_for_gives_the_client() -> None:
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert env["REMOTE_ADDR"] == "203.0.113.7" and env["REMOTE_PORT"] == "0"


@pytest.mark.parametrize(("chain", "allow", "client"), [
    # The right-most untrusted address: what the client wrote to the left is ignored.
    ("6.6.6.6, 203.0.113.7", "127.0.0.1", "203.0.113.7"),
    # Trusted hops are skipped from the right.
    ("203.0.113.7, 10.0.0.5", "127.0.0.1,10.0.0.0/8", "203.0.113.7"),
    ("6.6.6.6, 203.0.113.7, 10.0.0.5, 10.0.0.6", "127.0.0.1,10.0.0.0/8", "203.0.113.7"),
    # All trusted: the left-most.
    ("10.0.0.1, 10.0.0.2", "127.0.0.1,10.0.0.0/8", "10.0.0.1"),
    # "*": every hop is trusted, so the left-most (what the first proxy saw, or a lie).
    ("6.6.6.6, 203.0.113.7", "*", "6.6.6.6"),
    # Ports and brackets are removed; IPv6 is normalised.
    ("203.0.113.7:4711", "127.0.0.1", "203.0.113.7"),
    ("[2001:DB8::1]:4711", "127.0.0.1", "2001:db8::1"),
    ("2001:db8:0::1", "127.0.0.1", "2001:db8::1"),
])
def test_client_is_the_right_most_untrusted_address(chain: str, allow: str,
                                                     client: str) -> None:
    assert applied(ProxyPolicy(allow), HTTP_X_FORWARDED_FOR=chain)["REMOTE_ADDR"] == client


@pytest.mark.parametrize("chain", ["unknown", "_hidden", "", "not an address", "1.2.3.4.5"])
def test_a_client_that_is_no_ip_address_leaves_remote_addr(chain: str) -> None:
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_FOR=chain)
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["REMOTE_PORT"] == "5555"


def test_port_of_the_forwarded_entry() -> None:
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_FOR="203.0.113.7:4711")
    assert env["REMOTE_PORT"] == "4711"


def test_proto_and_host() -> None:
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_FOR="203.0.113.7",
                  HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="example.com")
    assert env["wsgi.url_scheme"] == "https" and env["HTTPS"] == "on"
    assert env["HTTP_HOST"] == "example.com"
    assert env["SERVER_NAME"] == "example.com" and env["SERVER_PORT"] == "443"


def test_host_with_port_and_ipv6_host() -> None:
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_HOST="example.com:8443")
    assert (env["HTTP_HOST"], env["SERVER_NAME"], env["SERVER_PORT"]) == (
        "example.com:8443", "example.com", "8443")
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_HOST="[2001:db8::1]:81")
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("2001:db8::1", "81")


@pytest.mark.parametrize("proto", ["ftp", "HTTPS ", "", "https; evil"])
def test_only_http_and_https_are_believed(proto: str) -> None:
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_PROTO=proto)
    expected = "https" if proto.strip().lower() == "https" else "http"
    assert env["wsgi.url_scheme"] == expected


@pytest.mark.parametrize("host", ["exa mple.com", "a/b", "x\x7f", "host:port", ""])
def test_a_malformed_forwarded_host_is_ignored(host: str) -> None:
    assert applied(ProxyPolicy(), HTTP_X_FORWARDED_HOST=host)["HTTP_HOST"] == "internal:8000"


def test_lists_aligned_with_x_forwarded_for() -> None:
    policy = ProxyPolicy("127.0.0.1,10.0.0.0/8")
    env = applied(policy, HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.5",
                  HTTP_X_FORWARDED_PROTO="https, http", HTTP_X_FORWARDED_HOST="a.example, b.lan")
    assert (env["REMOTE_ADDR"], env["wsgi.url_scheme"], env["HTTP_HOST"]) == (
        "203.0.113.7", "https", "a.example")
    # Not aligned: the right-most entry (what the nearest proxy wrote).
    env = applied(policy, HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.5",
                  HTTP_X_FORWARDED_PROTO="http, http, https")
    assert env["wsgi.url_scheme"] == "https"


def test_rfc7239_forwarded() -> None:
    env = applied(ProxyPolicy("127.0.0.1,10.0.0.0/8"),
                  HTTP_FORWARDED='for="[2001:db8::7]:4711";proto=https;host=example.com, '
                                 "for=10.0.0.5;proto=http;host=inner")
    assert env["REMOTE_ADDR"] == "2001:db8::7" and env["REMOTE_PORT"] == "4711"
    # proto and host of the element describing the client's own connection
    assert env["wsgi.url_scheme"] == "https" and env["HTTP_HOST"] == "example.com"


def test_forwarded_parsing_survives_quotes_and_junk() -> None:
    policy = ProxyPolicy()
    env = applied(policy, HTTP_FORWARDED='for="203.0.113.7";by="a,b;c", junk, ;;,for=')
    assert env["REMOTE_ADDR"] == "127.0.0.1"  # right-most element has no usable address
    env = applied(policy, HTTP_FORWARDED='For="203.0.113.7";PROTO="https"')
    assert env["REMOTE_ADDR"] == "203.0.113.7" and env["wsgi.url_scheme"] == "https"


def test_x_forwarded_wins_over_forwarded() -> None:
    # nginx writes X-Forwarded-For and passes a client's own Forwarded header through.
    env = applied(ProxyPolicy(), HTTP_X_FORWARDED_FOR="203.0.113.7",
                  HTTP_FORWARDED="for=6.6.6.6;proto=https")
    assert env["REMOTE_ADDR"] == "203.0.113.7" and env["wsgi.url_scheme"] == "http"


def test_proxy_headers_off_changes_nothing() -> None:
    env = applied(ProxyPolicy(proxy_headers=False), HTTP_X_FORWARDED_FOR="203.0.113.7",
                  HTTP_X_FORWARDED_PROTO="https", HTTP_FORWARDED="for=1.2.3.4")
    assert env == {key: base_env().get(key) for key in KEYS}


def test_secure_scheme_headers_as_gunicorn() -> None:
    policy = ProxyPolicy(proxy_headers=False,
                         secure_scheme_headers={"X-FORWARDED-PROTO": "https",
                                                "X-Forwarded-Ssl": "on"})
    assert applied(policy, HTTP_X_FORWARDED_SSL="on")["wsgi.url_scheme"] == "https"
    assert applied(policy, HTTP_X_FORWARDED_PROTO="http")["wsgi.url_scheme"] == "http"
    assert applied(policy)["wsgi.url_scheme"] == "http"
    env = base_env(HTTPS="on")
    env["wsgi.url_scheme"] = "https"
    env["HTTP_X_FORWARDED_SSL"] = "off"
    policy.apply(env)
    assert env["wsgi.url_scheme"] == "http" and "HTTPS" not in env
    with pytest.raises(RemoteProtocolError) as info:
        policy.apply(base_env(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_SSL="off"))
    assert info.value.error_status_hint == 400


def test_trust_decisions() -> None:
    policy = ProxyPolicy("127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8")
    assert policy.trusts("127.0.0.1") and policy.trusts("10.200.0.1")
    assert policy.trusts("::1") and policy.trusts("fd12::5")
    assert policy.trusts("::ffff:127.0.0.1")  # IPv4-mapped, from a dual-stack socket
    assert not policy.trusts("127.0.0.2") and not policy.trusts("11.0.0.1")
    assert not policy.trusts("garbage") and not policy.trusts("")
    assert ProxyPolicy(["192.0.2.1"]).trusts("192.0.2.1")
    assert ProxyPolicy("*").trusts("198.51.100.1")
    assert policy.trusts_peer("unix", "")  # a Unix-socket peer
    assert not policy.trusts_peer("11.0.0.1", ("11.0.0.1", 80))


@pytest.mark.parametrize("spec", ["localhost", "10.0.0.0/33", "1.2.3", "127.0.0.1;::1"])
def test_bad_allow_list_entries_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="forwarded_allow_ips"):
        ProxyPolicy(spec)


def test_bad_secure_scheme_headers_are_refused() -> None:
    with pytest.raises(ValueError, match="secure_scheme_headers"):
        ProxyPolicy(secure_scheme_headers={"X_Forwarded_Proto": "https"})


# -- through the server --------------------------------------------------------------------------

def env_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [])
    picked = {key: environ.get(key) for key in KEYS + ("HTTP_X_FORWARDED_FOR",
                                                        "HTTP_FORWARDED")}
    return [repr(picked).encode()]


def fetch(port: int, headers: str) -> dict[str, Optional[str]]:
    c = Client(port)
    try:
        r = c.request("/", headers=headers)
        assert r.status == 200, r
        result: dict[str, Optional[str]] = ast.literal_eval(r.body.decode())
        return result
    finally:
        c.close()


HEADERS = ("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
           "X-Forwarded-Host: example.com\r\nForwarded: for=198.51.100.9\r\n")


def test_trusted_peer_sets_client_scheme_and_host(serve: Any) -> None:
    srv = serve(env_app, proxy_headers=True)
    env = fetch(srv.port, HEADERS)
    assert env["REMOTE_ADDR"] == "203.0.113.7"
    assert env["wsgi.url_scheme"] == "https" and env["HTTPS"] == "on"
    assert env["HTTP_HOST"] == "example.com" and env["SERVER_PORT"] == "443"
    # The headers themselves stay visible to the application.
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.7"


def test_untrusted_peer_changes_nothing(serve: Any) -> None:
    srv = serve(env_app, proxy_headers=True, forwarded_allow_ips="10.0.0.0/8")
    env = fetch(srv.port, HEADERS)
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http" and env["HTTPS"] is None
    assert env["HTTP_HOST"] == "x" and env["SERVER_PORT"] == str(srv.port)
    # passed through as plain headers
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.7"
    assert env["HTTP_FORWARDED"] == "for=198.51.100.9"


def test_off_by_default(serve: Any) -> None:
    env = fetch(serve(env_app).port, HEADERS)
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["wsgi.url_scheme"] == "http"


def test_underscored_spoof_is_not_a_forwarding_header(serve: Any) -> None:
    srv = serve(env_app, proxy_headers=True)
    env = fetch(srv.port, "X_Forwarded_For: 6.6.6.6\r\n")
    assert env["REMOTE_ADDR"] == "127.0.0.1"


def test_conflicting_secure_scheme_headers_get_400(serve: Any) -> None:
    srv = serve(env_app, secure_scheme_headers={"X-Forwarded-Proto": "https",
                                                "X-Forwarded-Ssl": "on"})
    assert fetch(srv.port, "X-Forwarded-Ssl: on\r\n")["wsgi.url_scheme"] == "https"
    c = Client(srv.port)
    r = c.request("/", headers="X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n")
    assert r.status == 400 and r.header("Connection") == "close"
    c.close()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_loopback_peer_is_trusted_by_default() -> None:
    srv = ServerThread(env_app, proxy_headers=True,
                       listen=lambda: [greenlane.listen(("::1", 0), family=socket.AF_INET6)])
    try:
        with socket.create_connection(("::1", srv.port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"X-Forwarded-For: 2001:db8::9\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert b"'REMOTE_ADDR': '2001:db8::9'" in data
    finally:
        srv.stop()


def test_unix_socket_peer_is_trusted() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.sock")
        srv = ServerThread(env_app, proxy_headers=True, forwarded_allow_ips="10.0.0.0/8",
                           listen=lambda: [greenlane.listen(path, family=socket.AF_UNIX)])
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(TIMEOUT)
                s.connect(path)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          b"X-Forwarded-For: 203.0.113.7\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            assert b"'REMOTE_ADDR': '203.0.113.7'" in data
        finally:
            srv.stop()


def test_bad_allow_list_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="'nonsense'"):
        Server(env_app, [], proxy_headers=True, forwarded_allow_ips="127.0.0.1,nonsense")
