"""greenlane.green.http.client, .httplib and .urllib.*: green HTTP clients without patching.

The server is greenlane's WSGI server in a thread of its own (its own hub); the clients are
green threads of this thread's hub and use no monkey patching, so they overlap only if these
modules give them green sockets. Each request sleeps 0.2 s in the server.
"""

from __future__ import annotations

import http as stdhttp
import http.client as stdclient
import ssl as stdssl
import time
import urllib.error as stderror
import urllib.parse as stdparse
import urllib.request as stdrequest
import urllib.response as stdresponse
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import greenlane
from greenlane.green import http as green_http
from greenlane.green import httplib
from greenlane.green.http import client
from greenlane.green.ssl import GreenSSLSocket
from greenlane.green.urllib import error, parse, request, response
from greenlane.greenio import GreenSocket
from greenlane.greenthread import sleep, spawn
from tests.green.conftest import Certs
from tests.wsgi._wsgi_support import ServerThread

SERVER_SLEEP = 0.2


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    if environ["PATH_INFO"] == "/missing":
        start_response("404 Not Found", [("Content-Length", "0")])
        return []
    greenlane.sleep(SERVER_SLEEP)
    body = f"{environ['REQUEST_METHOD']} {environ.get('QUERY_STRING', '')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server() -> Iterator[ServerThread]:
    srv = ServerThread(_app, backlog=256)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tls_server(certs: Certs) -> Iterator[ServerThread]:
    srv = ServerThread(_app, backlog=64,
                       tls={"certfile": certs.server_cert, "keyfile": certs.server_key})
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def no_installed_opener() -> Iterator[None]:
    previous = getattr(stdrequest, "_opener", None)
    stdrequest.install_opener(None)  # type: ignore[arg-type]
    try:
        yield
    finally:
        stdrequest.install_opener(previous)  # type: ignore[arg-type]


def _overlapping(function: Callable[[int], Any], count: int) -> tuple[list[Any], float]:
    start = time.monotonic()
    threads = [spawn(function, i) for i in range(count)]
    results = [gt.wait() for gt in threads]
    return results, time.monotonic() - start


# ----------------------------------------------------------------------------- modules
def test_modules_mirror_the_stdlib() -> None:
    for name in stdclient.__all__:
        assert hasattr(client, name), name
        if name not in ("HTTPConnection", "HTTPSConnection"):
            assert getattr(client, name) is getattr(stdclient, name), name
    assert issubclass(client.HTTPConnection, stdclient.HTTPConnection)
    assert issubclass(client.HTTPSConnection, stdclient.HTTPSConnection)
    assert httplib.HTTPConnection is client.HTTPConnection
    assert set(httplib.__all__) == set(client.__all__)
    assert green_http.HTTPStatus is stdhttp.HTTPStatus
    for green, std in ((error, stderror), (parse, stdparse), (response, stdresponse)):
        for name in std.__all__:
            assert getattr(green, name) is getattr(std, name), (green, name)
    for name in stdrequest.__all__:
        assert hasattr(request, name), name
    replaced = {"HTTPHandler", "HTTPSHandler", "build_opener", "urlopen"}
    for name in set(stdrequest.__all__) - replaced:
        assert getattr(request, name) is getattr(stdrequest, name), name
    assert issubclass(request.HTTPSHandler, stdrequest.HTTPSHandler)


# ----------------------------------------------------------------------------- http.client
def test_http_connection_is_green(server: ServerThread) -> None:
    conn = client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        ticks: list[int] = []
        ticker = spawn(lambda: [(ticks.append(1), sleep(0.02)) for _ in range(100)])
        conn.request("GET", "/?a=1")
        assert isinstance(conn.sock, GreenSocket)
        reply = conn.getresponse()
        assert (reply.status, reply.read()) == (200, b"GET a=1")
        assert isinstance(reply, stdclient.HTTPResponse)
        ticker.kill()
        assert len(ticks) >= 5  # ran while the server slept 0.2 s
        conn.request("POST", "/?again", body=b"x")  # keep-alive on the same socket
        assert conn.getresponse().read() == b"POST again"
    finally:
        conn.close()


def test_http_connections_overlap(server: ServerThread) -> None:
    def fetch(i: int) -> bytes:
        conn = client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", f"/?n={i}")
            return bytes(conn.getresponse().read())
        finally:
            conn.close()
    bodies, elapsed = _overlapping(fetch, 50)
    assert bodies == [f"GET n={i}".encode() for i in range(50)]
    assert elapsed < 4.0  # one at a time: 10 s


def test_https_connection_with_a_stdlib_context_is_green(tls_server: ServerThread,
                                                          certs: Certs) -> None:
    context = stdssl.create_default_context(cafile=certs.ca)  # a real ssl.SSLContext

    def fetch(i: int) -> bytes:
        conn = client.HTTPSConnection("localhost", tls_server.port, timeout=30,
                                      context=context)
        try:
            conn.request("GET", f"/?n={i}")
            assert isinstance(conn.sock, GreenSSLSocket)
            return bytes(conn.getresponse().read())
        finally:
            conn.close()
    bodies, elapsed = _overlapping(fetch, 20)
    assert bodies == [f"GET n={i}".encode() for i in range(20)]
    assert elapsed < 4.0  # one at a time: 4 s


def test_https_connection_verifies_the_certificate(tls_server: ServerThread) -> None:
    conn = client.HTTPSConnection("localhost", tls_server.port, timeout=10,
                                  context=stdssl.create_default_context())
    with pytest.raises(stdssl.SSLCertVerificationError):
        conn.request("GET", "/")
    conn.close()


# ----------------------------------------------------------------------------- urllib
def test_urlopen_from_100_green_threads(server: ServerThread,
                                        no_installed_opener: None) -> None:
    def fetch(i: int) -> bytes:
        with request.urlopen(f"{server.url}/?n={i}", timeout=30) as reply:
            return bytes(reply.read())
    bodies, elapsed = _overlapping(fetch, 100)
    assert bodies == [f"GET n={i}".encode() for i in range(100)]
    assert elapsed < 4.0, f"100 requests took {elapsed:.2f}s"  # one at a time: 20 s


def test_urlopen_post_and_errors(server: ServerThread, no_installed_opener: None) -> None:
    with request.urlopen(request.Request(f"{server.url}/?p", data=b"body"), timeout=10) as r:
        assert r.read() == b"POST p"
    with pytest.raises(stderror.HTTPError) as info:
        request.urlopen(f"{server.url}/missing", timeout=10)
    assert info.value.code == 404
    info.value.close()


def test_urlopen_https_with_context(tls_server: ServerThread, certs: Certs) -> None:
    context = stdssl.create_default_context(cafile=certs.ca)
    url = f"https://localhost:{tls_server.port}/?tls"
    with request.urlopen(url, timeout=10, context=context) as reply:
        assert reply.read() == b"GET tls"
    with pytest.raises(stderror.URLError):
        request.urlopen(url, timeout=10, context=stdssl.create_default_context())


def test_build_opener_defaults_and_replacements(certs: Certs) -> None:
    opener = request.build_opener()
    kinds = {type(h) for h in opener.handlers}
    assert request.HTTPHandler in kinds and request.HTTPSHandler in kinds
    assert stdrequest.HTTPHandler not in kinds

    mine = request.HTTPSHandler(context=stdssl.create_default_context(cafile=certs.ca))
    opener = request.build_opener(mine)
    https = [h for h in opener.handlers if isinstance(h, stdrequest.HTTPSHandler)]
    assert https == [mine]  # replaces the default, as in the stdlib


def test_urlopen_ignores_an_opener_that_is_not_green(server: ServerThread,
                                                     no_installed_opener: None) -> None:
    # The stdlib's urlopen caches a plain opener in the module; green urlopen must not use it.
    stdrequest.install_opener(stdrequest.build_opener())
    bodies, elapsed = _overlapping(
        lambda i: request.urlopen(f"{server.url}/?n={i}", timeout=30).read(), 10)
    assert elapsed < 1.5  # a plain opener would block: 10 x 0.2 s


def test_urlopen_uses_an_installed_green_opener(server: ServerThread,
                                                no_installed_opener: None) -> None:
    seen: list[str] = []

    class Recorder(stdrequest.BaseHandler):
        def http_request(self, req: Any) -> Any:
            seen.append(req.full_url)
            return req

    stdrequest.install_opener(request.build_opener(Recorder()))
    with request.urlopen(f"{server.url}/?rec", timeout=10) as reply:
        assert reply.read() == b"GET rec"
    assert seen == [f"{server.url}/?rec"]
