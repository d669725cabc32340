"""Apache httpd in front of greenlane, with examples/deploy/apache.conf as docs/deployment.md
shows it: a real httpd on loopback (mod_proxy_http), greenlane behind it as ``greenlane serve``
and as Gunicorn with greenlane's worker. Without Apache (Debian: ``apt-get install apache2``)
the tests are skipped, and fail when ``CI=true``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._support import write_apps
from tests.gunicorn._gunicorn_support import (
    APPS,
    gunicorn_version,
    ws_connect,
    ws_recv,
    ws_send_text,
)

from ._proxy_support import (
    CLIENT,
    TIMEOUT,
    Apache,
    Backend,
    apache_binary,
    get,
    get_env,
    start_backend,
)
from .test_nginx import read_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_apps(tmp_path_factory, APPS, "apache-apps")


@pytest.fixture(params=["cli", "gunicorn"])
def proxied(request: pytest.FixtureRequest, apps: str,
            tmp_path: Path) -> Iterator[tuple[Backend, Apache]]:
    apache_binary()  # skip (fail in CI) before starting anything
    if request.param == "gunicorn":
        gunicorn_version()
    backend = start_backend(request.param, apps)
    try:
        apache = Apache(tmp_path, backend.port)
        try:
            yield backend, apache
        finally:
            apache.stop()
    finally:
        backend.kill()


def test_client_address_and_scheme(proxied: tuple[Backend, Apache]) -> None:
    _, apache = proxied
    info = get_env(apache.port, headers={"X-Forwarded-For": "203.0.113.9",
                                         "X-Forwarded-Proto": "https", "Host": "example.com"})
    # mod_proxy appends the client's address to a forged X-Forwarded-For; the example
    # overwrites X-Forwarded-Proto; ProxyPreserveHost keeps the Host.
    assert info["REMOTE_ADDR"] == CLIENT
    assert info["wsgi.url_scheme"] == "http"
    assert info["HTTP_HOST"] == "example.com"


def test_server_sent_events_are_not_buffered(proxied: tuple[Backend, Apache]) -> None:
    _, apache = proxied
    with socket.create_connection(("127.0.0.1", apache.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: example.com\r\n\r\n")
        data = read_until(s, b"data: first\n\n")
        assert b"data: second" not in data
        assert get(apache.port, "/release")[2] == b"released"
        read_until(s, b"data: second\n\n", data)


def test_large_upload(proxied: tuple[Backend, Apache]) -> None:
    _, apache = proxied
    payload = bytes(range(256)) * (8 * 1024 * 1024 // 256)
    conn = http.client.HTTPConnection("127.0.0.1", apache.port, timeout=TIMEOUT)
    for chunked in (False, True):
        if chunked:
            body = (payload[i:i + 100_000] for i in range(0, len(payload), 100_000))
            conn.request("POST", "/upload", body=body, encode_chunked=True,
                         headers={"Transfer-Encoding": "chunked"})
        else:
            conn.request("POST", "/upload", body=payload)
        resp = conn.getresponse()
        info = json.loads(resp.read())
        assert resp.status == 200
        assert info["size"] == len(payload)
        assert info["sha256"] == hashlib.sha256(payload).hexdigest()
    conn.close()


def test_websocket_upgrade_passes_through(proxied: tuple[Backend, Apache]) -> None:
    _, apache = proxied
    with socket.create_connection(("127.0.0.1", apache.port), timeout=TIMEOUT) as s:
        ws_connect(s, "example.com")
        for text in ("one", "two"):
            ws_send_text(s, text)
            assert ws_recv(s) == (1, text.encode())
