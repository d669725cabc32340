"""Trusted proxy headers: the client's address, scheme and host as a reverse proxy saw them.

Behind nginx the server's peer is nginx, so ``REMOTE_ADDR`` is ``127.0.0.1`` and the scheme is
``http`` even for an ``https://`` request. The proxy reports the truth in request headers, and
anybody can send those headers too; so they are believed only when the *peer* (the address the
TCP connection comes from) is in ``forwarded_allow_ips``. From any other peer they stay plain
``HTTP_*`` keys and change nothing else.

From a trusted peer, with ``proxy_headers=True``:

* ``X-Forwarded-For`` (or, without it, the ``for=`` parameters of RFC 7239 ``Forwarded``): a
  list of addresses, each proxy appending the one it received the request from. The client is
  the right-most address that is *not* a trusted proxy: everything to its left was written by
  the client or by proxies nobody vouches for. It becomes ``REMOTE_ADDR``, and its port (when
  the entry has one, else ``"0"``) ``REMOTE_PORT``. An entry that is not an IP address
  (``unknown``, an obfuscated ``_name``) leaves both as they were.
* ``X-Forwarded-Proto`` (or ``Forwarded``'s ``proto=``): ``http`` or ``https`` sets
  ``wsgi.url_scheme`` and ``HTTPS``; anything else is ignored.
* ``X-Forwarded-Host`` (or ``Forwarded``'s ``host=``): a valid ``host[:port]`` sets
  ``HTTP_HOST``, ``SERVER_NAME`` and ``SERVER_PORT`` (the scheme's default port when it has
  none).

A list in ``X-Forwarded-Proto``/``-Host`` with as many entries as ``X-Forwarded-For`` is read
at the chosen client's position, otherwise its right-most entry counts (the one the nearest
proxy wrote). For ``Forwarded`` the element of the chosen client gives ``proto`` and ``host``
(RFC 7239 §4: each element describes the connection its proxy received). When both header
families are present the ``X-Forwarded-*`` ones win: nginx, the usual proxy, writes those and
passes a client's ``Forwarded`` through unchanged.

The proxy must *set* (overwrite) each header it forwards, or strip it: a header the proxy does
not touch reaches the server as the client wrote it, from a trusted peer. nginx:
``proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;``, ``X-Forwarded-Proto
$scheme``, ``X-Forwarded-Host $host``.

``secure_scheme_headers`` (Gunicorn's setting of that name, for its worker): a mapping of
header name to the value that means https, e.g. ``{"X-Forwarded-Proto": "https",
"X-Forwarded-Ssl": "on"}``. From a trusted peer each of these headers that is present decides
the scheme (https if its value matches exactly, else http), whether or not ``proxy_headers``
is on, and they must agree: conflicting ones get a 400, as in Gunicorn.

Peers on a Unix socket are trusted (only local processes that may open the socket file can
connect), as in Gunicorn. ``"*"`` trusts every peer: only for a server that nothing but the
proxy can reach, since any client could then claim any address.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Mapping, Optional, Union

from greenlane._http1 import RemoteProtocolError
from greenlane._http1.abnf import HOST

__all__ = ["DEFAULT_FORWARDED_ALLOW_IPS", "ProxyPolicy"]

DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
"""The peers trusted by default: a proxy on the same machine (Gunicorn's default too)."""

# Distinct peer addresses whose verdict is remembered; past this many each is parsed again.
_MAX_CACHED = 4096

_IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_HOST_MATCH = HOST.fullmatch


def parse_allow_ips(spec: Union[str, Iterable[str]]) -> tuple[bool, tuple[_IPNetwork, ...]]:
    """``"127.0.0.1,::1,10.0.0.0/8"`` (or a list of such entries) -> (trust all, networks).

    Raises:
        ValueError: an entry is neither ``*`` nor an IP address or network.
    """
    entries = spec.split(",") if isinstance(spec, str) else list(spec)
    networks = []
    trust_all = False
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            continue
        if entry == "*":
            trust_all = True
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"forwarded_allow_ips: {entry!r} is not an IP address, a network "
                             "(10.0.0.0/8) or '*'") from None
    return trust_all, tuple(networks)


def _parse_ip(text: str) -> Optional[_IPAddress]:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_node(node: str) -> tuple[str, str]:
    """``1.2.3.4:80``, ``[::1]:80``, ``::1``, ``"[::1]"`` -> (address, port)."""
    node = node.strip().strip('"')
    if node.startswith("["):
        end = node.find("]")
        if end < 0:
            return node, ""
        rest = node[end + 1:]
        return node[1:end], rest[1:] if rest.startswith(":") else ""
    if node.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        host, _, port = node.partition(":")
        return host, port
    return node, ""


class _Hop:
    """One entry of the forwarding chain: where a proxy says the request came from."""

    __slots__ = ("host", "ip", "port", "proto")

    def __init__(self, node: str, proto: Optional[str] = None,
                 host: Optional[str] = None) -> None:
        address, port = _split_node(node)
        self.ip = _parse_ip(address)
        self.port = port if port.isdigit() and port.isascii() else ""
        self.proto = proto
        self.host = host


class ProxyPolicy:
    """Which peers are trusted proxies, and what their headers may change in the environ.

    Args:
        forwarded_allow_ips: trusted peers: addresses and networks, comma-separated or as a
            list; ``"*"`` trusts every peer (dangerous unless only the proxy can connect).
        proxy_headers: apply X-Forwarded-For/-Proto/-Host and ``Forwarded``.
        secure_scheme_headers: Gunicorn's mapping of header name to the value meaning https.

    Raises:
        ValueError: a malformed ``forwarded_allow_ips`` entry or header name.
    """

    __slots__ = ("_cache", "_networks", "_scheme_keys", "proxy_headers", "trust_all")

    def __init__(self, forwarded_allow_ips: Union[str, Iterable[str]] = DEFAULT_FORWARDED_ALLOW_IPS,
                 proxy_headers: bool = True,
                 secure_scheme_headers: Optional[Mapping[str, str]] = None) -> None:
        self.trust_all, self._networks = parse_allow_ips(forwarded_allow_ips)
        self.proxy_headers = proxy_headers
        keys = []
        for name, value in (secure_scheme_headers or {}).items():
            if not isinstance(name, str) or not name or "_" in name or not isinstance(value, str):
                raise ValueError(f"secure_scheme_headers: bad entry {name!r}: {value!r} (a "
                                 "header name without '_' mapped to a str)")
            keys.append(("HTTP_" + name.upper().replace("-", "_"), value))
        self._scheme_keys = tuple(keys)
        self._cache: dict[str, bool] = {}

    def trusts(self, address: str) -> bool:
        """True if ``address`` (an IP address string) is a trusted proxy."""
        if self.trust_all:
            return True
        try:
            return self._cache[address]
        except KeyError:
            pass
        ip = _parse_ip(address)
        verdict = ip is not None and self._trusts_ip(ip)
        if len(self._cache) < _MAX_CACHED:
            self._cache[address] = verdict
        return verdict

    def _trusts_ip(self, ip: _IPAddress) -> bool:
        if self.trust_all:
            return True
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
        for net in self._networks:
            if ip in net or (mapped is not None and mapped in net):
                return True
        return False

    def trusts_peer(self, remote_addr: str, sockaddr: Any) -> bool:
        """True if the connection's peer may set proxy headers (Unix-socket peers may)."""
        if not isinstance(sockaddr, tuple):
            return True
        return self.trusts(remote_addr)

    def apply(self, env: dict[str, Any]) -> None:
        """Rewrite ``env`` (built from a trusted peer's request) from its proxy headers.

        Raises:
            RemoteProtocolError: the ``secure_scheme_headers`` present disagree (400).
        """
        if self.proxy_headers:
            forwarded_for = env.get("HTTP_X_FORWARDED_FOR")
            if forwarded_for is not None:
                hops = [_Hop(node) for node in forwarded_for.split(",")]
                index = self._client_index(hops)
                hop = hops[index]
                hop.proto = _aligned(env.get("HTTP_X_FORWARDED_PROTO"), index, len(hops))
                hop.host = _aligned(env.get("HTTP_X_FORWARDED_HOST"), index, len(hops))
                self._set(env, hop)
            else:
                forwarded = env.get("HTTP_FORWARDED")
                hop = None
                if forwarded is not None:
                    hops = _parse_forwarded(forwarded)
                    if hops:
                        hop = hops[self._client_index(hops)]
                if hop is None:
                    hop = _Hop("")  # no address: only the scheme and host below
                # X-Forwarded-Proto/-Host without X-Forwarded-For, from a proxy that does not
                # report addresses; they win over Forwarded, as above.
                proto = env.get("HTTP_X_FORWARDED_PROTO")
                if proto is not None:
                    hop.proto = proto.rsplit(",", 1)[-1]
                host = env.get("HTTP_X_FORWARDED_HOST")
                if host is not None:
                    hop.host = host.rsplit(",", 1)[-1]
                self._set(env, hop)
        if self._scheme_keys:
            self._apply_secure_scheme(env)

    def _client_index(self, hops: list[_Hop]) -> int:
        # The right-most hop that is not a trusted proxy; the left-most if all are.
        for index in range(len(hops) - 1, 0, -1):
            ip = hops[index].ip
            if ip is None or not self._trusts_ip(ip):
                return index
        return 0

    def _set(self, env: dict[str, Any], hop: _Hop) -> None:
        if hop.ip is not None:
            env["REMOTE_ADDR"] = str(hop.ip)
            env["REMOTE_PORT"] = hop.port or "0"
        proto = hop.proto.strip().lower() if hop.proto is not None else ""
        if proto == "https" or proto == "http":
            _set_scheme(env, proto)
        host = hop.host.strip().strip('"') if hop.host is not None else ""
        if host and _HOST_MATCH(host) is not None:
            env["HTTP_HOST"] = host
            name, port = _split_host(host)
            env["SERVER_NAME"] = name
            env["SERVER_PORT"] = port or ("443" if env["wsgi.url_scheme"] == "https" else "80")

    def _apply_secure_scheme(self, env: dict[str, Any]) -> None:
        scheme = None
        for key, secure_value in self._scheme_keys:
            value = env.get(key)
            if value is None:
                continue
            this = "https" if value == secure_value else "http"
            if scheme is not None and this != scheme:
                raise RemoteProtocolError("conflicting secure scheme headers", 400)
            scheme = this
        if scheme is not None:
            _set_scheme(env, scheme)


def _set_scheme(env: dict[str, Any], scheme: str) -> None:
    env["wsgi.url_scheme"] = scheme
    if scheme == "https":
        env["HTTPS"] = "on"
    else:
        env.pop("HTTPS", None)


def _aligned(value: Optional[str], index: int, count: int) -> Optional[str]:
    """The entry of a comma-separated list for hop ``index`` of ``count``, else its last."""
    if value is None:
        return None
    items = value.split(",")
    if len(items) == count:
        return items[index]
    return items[-1]


def _split_host(host: str) -> tuple[str, str]:
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1:]
        return host[1:end], rest[1:] if rest.startswith(":") else ""
    name, _, port = host.partition(":")
    return name, port


def _parse_forwarded(value: str) -> list[_Hop]:
    """RFC 7239 ``Forwarded``: elements separated by ``,``, pairs by ``;``. An element
    without ``for=`` counts as a hop of unknown address; malformed pairs are skipped."""
    hops = []
    for element in _split_outside_quotes(value, ","):
        params: dict[str, str] = {}
        for pair in _split_outside_quotes(element, ";"):
            name, sep, val = pair.partition("=")
            if not sep:
                continue
            val = val.strip()
            if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
                val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            params.setdefault(name.strip().lower(), val)
        hops.append(_Hop(params.get("for", ""), params.get("proto"), params.get("host")))
    return hops


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]
