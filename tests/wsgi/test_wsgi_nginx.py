"""Behind nginx, the deployment the docs recommend: a real nginx proxying to greenlane.

nginx runs in the foreground (``daemon off``, ``master_process off``) with a throw-away
configuration and prefix directory, listening on a free loopback port, and proxies with HTTP/1.1
and upstream keep-alive to a greenlane server on loopback. Without nginx the test is skipped,
unless ``CI=true``, where a missing nginx is a failure.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests._services import free_port, run_nginx, stop_nginx

from ._wsgi_support import TIMEOUT

StartResponse = Callable[..., Any]

NGINX_SITE = """
upstream greenlane {{
    server 127.0.0.1:{upstream};
    keepalive 8;
}}
server {{
    listen 127.0.0.1:{port};
    location / {{
        proxy_pass http://greenlane;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_request_buffering off;
        proxy_buffering off;
    }}
}}
"""


def start_nginx(prefix: Path, upstream: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    site = NGINX_SITE.format(upstream=upstream, port=port)
    return run_nginx(prefix, site, port), port


@pytest.fixture
def nginx(serve: Any, tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(nginx port, remote ports seen by the application)``."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        seen.append(environ["REMOTE_PORT"])
        path = environ["PATH_INFO"]
        if path == "/stream":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return (b"part %d;" % i for i in range(5))
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        info = (f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']} "
                f"xff={environ.get('HTTP_X_FORWARDED_FOR')} "
                f"cl={environ.get('CONTENT_LENGTH')} len={len(body)}|")
        return [info.encode(), body]

    srv = serve(app)
    proc, port = start_nginx(tmp_path, srv.port)
    try:
        yield port, seen
    finally:
        stop_nginx(proc)


def test_keep_alive_and_chunked_through_nginx(nginx: tuple[int, list[str]]) -> None:
    port, seen = nginx
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    # Keep-alive on both hops.
    for i in range(5):
        c.request("GET", f"/get/{i}")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200
        assert body.startswith(f"GET /get/{i} HTTP/1.1 xff=127.0.0.1 cl=None len=0|".encode())
    assert len(set(seen)) < len(seen), f"nginx never reused an upstream connection: {seen}"
    # A chunked upload, streamed through (proxy_request_buffering off).
    payload = [b"x" * 1000, b"y" * 3000, b"z"]
    c.request("POST", "/upload", body=iter(payload), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200
    # nginx streams the upload chunked, unless the whole body arrived with the head: then it
    # knows the length and sends Content-Length. Either way the application gets every byte.
    head, _, echoed = body.partition(b"|")
    assert head in (b"POST /upload HTTP/1.1 xff=127.0.0.1 cl=None len=4001",
                    b"POST /upload HTTP/1.1 xff=127.0.0.1 cl=4001 len=4001")
    assert echoed == b"".join(payload)
    # A body with Content-Length.
    c.request("PUT", "/put", body=b"hello")
    r = c.getresponse()
    assert r.read() == b"PUT /put HTTP/1.1 xff=127.0.0.1 cl=5 len=5|hello"
    # A streamed (chunked) response from the application.
    c.request("GET", "/stream")
    r = c.getresponse()
    assert r.status == 200
    assert r.read() == b"".join(b"part %d;" % i for i in range(5))
    c.close()


def test_pipelined_raw_requests_through_nginx(nginx: tuple[int, list[str]]) -> None:
    port, _ = nginx
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\n\r\n"
                  b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3
    a, b, c = data.index(b"GET /a "), data.index(b"POST /b "), data.index(b"GET /c ")
    assert a < b < c
    assert b"len=3|abc" in data
