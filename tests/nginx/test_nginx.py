"""nginx in front of greenlane, with examples/deploy/nginx.conf as docs/deployment.md shows it.

Each test runs the example site in a real nginx on loopback, with greenlane behind it as
``greenlane serve`` and as Gunicorn with greenlane's worker (``backend`` is parametrized).
Without nginx or Gunicorn the tests are skipped, and fail when ``CI=true``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from tests._services import free_port
from tests._support import write_apps
from tests.gunicorn._gunicorn_support import (
    APPS,
    gunicorn_version,
    ws_connect,
    ws_recv,
    ws_send_text,
)
from tests.gunicorn.test_worker import Load

from ._proxy_support import (
    CLIENT,
    DEPLOY,
    TIMEOUT,
    Backend,
    Nginx,
    get,
    get_env,
    make_certificate,
    start_backend,
    unit_command,
    unit_env,
    wait_for_port,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_apps(tmp_path_factory, APPS, "proxy-apps")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(certificate, key, CA) for nginx's TLS listener."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def backends(apps: str) -> Iterator[Callable[..., Backend]]:
    """``backends(kind, port=None)`` starts a backend; all are killed after the test."""
    started: list[Backend] = []

    def start(kind: str, port: Any = None) -> Backend:
        if kind == "gunicorn":
            gunicorn_version()  # skip (fail in CI) without Gunicorn
        backend = start_backend(kind, apps, port)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.kill()


@pytest.fixture
def proxies(tmp_path: Path, tls: tuple[Path, Path, Path]) -> Iterator[Callable[..., Nginx]]:
    """``proxies(upstreams)``: nginx with the example site; stopped after the test."""
    started: list[Nginx] = []

    def start(upstreams: list[str]) -> Nginx:
        prefix = tmp_path / f"nginx{len(started)}"
        prefix.mkdir()
        proxy = Nginx(prefix, upstreams, tls[0], tls[1])
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture(params=["cli", "gunicorn"])
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def proxied(kind: str, backends: Callable[..., Backend],
            proxies: Callable[..., Nginx]) -> tuple[Backend, Nginx]:
    """One backend of each kind, behind nginx (both upstream lines point at it)."""
    backend = backends(kind)
    upstream = f"127.0.0.1:{backend.port}"
    return backend, proxies([upstream, upstream])


def client_context(tls: tuple[Path, Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls[2]))


# -- requests and the trusted-proxy headers ---------------------------------------------------

def test_client_address_and_scheme_reach_the_app_through_nginx(
        proxied: tuple[Backend, Nginx], tls: tuple[Path, Path, Path]) -> None:
    backend, nginx = proxied
    # The client forges X-Forwarded-For; nginx appends the address it really came from, and
    # greenlane takes the right-most address that is not a trusted proxy.
    info = get_env(nginx.port, headers={"X-Forwarded-For": "203.0.113.9",
                                        "X-Forwarded-Proto": "https", "Host": "example.com"})
    assert info["REMOTE_ADDR"] == CLIENT
    assert info["HTTP_X_FORWARDED_FOR"] == f"203.0.113.9, {CLIENT}"
    assert info["wsgi.url_scheme"] == "http"  # nginx overwrites X-Forwarded-Proto
    assert info["HTTP_HOST"] == "example.com"
    info = get_env(nginx.tls_port, context=client_context(tls))
    assert info["REMOTE_ADDR"] == CLIENT and info["wsgi.url_scheme"] == "https"
    # Straight to the backend, the same forged headers change nothing: 127.0.0.2 is not a
    # trusted proxy.
    info = get_env(backend.port, headers={"X-Forwarded-For": "203.0.113.9",
                                          "X-Forwarded-Proto": "https"})
    assert info["REMOTE_ADDR"] == CLIENT and info["wsgi.url_scheme"] == "http"


def test_keep_alive_to_the_upstream(proxied: tuple[Backend, Nginx]) -> None:
    _, nginx = proxied
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=TIMEOUT)
    bodies = []
    for _ in range(5):
        conn.request("GET", "/")
        resp = conn.getresponse()
        assert resp.status == 200
        bodies.append(resp.read())
    conn.close()
    assert len(set(bodies)) == 1  # one backend process answered them all


# -- streamed responses -----------------------------------------------------------------------

def read_until(sock: socket.socket, marker: bytes, data: bytes = b"") -> bytes:
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before {marker!r}: {data!r}")
        data += chunk
    return data


def test_server_sent_events_are_not_buffered(proxied: tuple[Backend, Nginx]) -> None:
    _, nginx = proxied
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: example.com\r\n\r\n")
        # The first event arrives while the application is still waiting to send the second:
        # nginx passed it on at once (if it buffered, this read would time out).
        data = read_until(s, b"data: first\n\n")
        assert b"data: second" not in data
        assert b"text/event-stream" in data
        status, _, body = get(nginx.port, "/release")
        assert status == 200 and body == b"released"
        read_until(s, b"data: second\n\n", data)


# -- uploads ----------------------------------------------------------------------------------

def test_large_uploads_with_length_and_chunked(proxied: tuple[Backend, Nginx]) -> None:
    _, nginx = proxied
    payload = bytes(range(256)) * (8 * 1024 * 1024 // 256)  # 8 MiB
    digest = hashlib.sha256(payload).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=TIMEOUT)
    conn.request("POST", "/upload", body=payload)
    resp = conn.getresponse()
    info = json.loads(resp.read())
    assert resp.status == 200
    assert info["size"] == len(payload) and info["sha256"] == digest
    assert info["content_length"] == str(len(payload))

    pieces = (payload[i:i + 100_000] for i in range(0, len(payload), 100_000))
    conn.request("POST", "/upload", body=pieces, encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    info = json.loads(resp.read())
    assert resp.status == 200
    assert info["size"] == len(payload) and info["sha256"] == digest
    # nginx buffers the upload (proxy_request_buffering is on by default) and passes it on
    # with its length, as docs/deployment.md says.
    assert info["content_length"] == str(len(payload)) and info["chunked"] is None
    conn.close()


# -- WebSockets -------------------------------------------------------------------------------

def test_websocket_upgrade_passes_through(proxied: tuple[Backend, Nginx]) -> None:
    _, nginx = proxied
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=TIMEOUT) as s:
        head = ws_connect(s, "example.com")
        assert b"upgrade: websocket" in head.lower()
        for text in ("one", "two", "three"):
            ws_send_text(s, text)
            assert ws_recv(s) == (1, text.encode())


# -- several backends -------------------------------------------------------------------------

def test_restarting_backends_one_at_a_time_fails_no_request(
        kind: str, backends: Callable[..., Backend], proxies: Callable[..., Nginx]) -> None:
    first, second = backends(kind), backends(kind)
    ports = [first.port, second.port]
    nginx = proxies([f"127.0.0.1:{p}" for p in ports])
    load = Load(nginx.port, fresh=3, keepalive=1)
    try:
        load.wait_for(50)
        current = [first, second]
        for i, port in enumerate(ports):
            # A graceful stop of one backend while the other keeps serving, then a new
            # process on the same port (systemctl restart hello@PORT).
            assert current[i].stop() == 0
            load.wait_for(30)
            current[i] = backends(kind, port)
            load.wait_for(30)
    finally:
        load.finish()
    assert load.failures == []
    assert len(load.pids) >= 4  # both original processes and both replacements answered


def test_unix_socket_upstream(backends: Callable[..., Backend], proxies: Callable[..., Nginx],
                              tmp_path: Path, apps: str) -> None:
    from tests.cli._cli_support import Serving

    path = tmp_path / "hello.sock"
    serving = Serving("--app-dir", apps, "gapp:app", "--bind", f"unix:{path}",
                      "--proxy-headers")
    try:
        nginx = proxies([f"unix:{path}"])
        info = get_env(nginx.port, headers={"X-Forwarded-For": "203.0.113.9"})
        # Peers on a Unix socket are trusted: the client address is nginx's X-Forwarded-For.
        assert info["REMOTE_ADDR"] == CLIENT
    finally:
        serving.kill()


# -- the systemd units of examples/deploy -----------------------------------------------------

def test_systemd_unit_commands_behind_nginx(proxies: Callable[..., Nginx], tmp_path: Path) -> None:
    """The ExecStart lines of hello@.service (two instances) and hello-gunicorn.service run
    the example Flask app (examples/hello-app) behind the example nginx site."""
    pytest.importorskip("hello", reason="the example app is installed by make test")
    procs: list[subprocess.Popen[bytes]] = []
    ports = [free_port(), free_port()]
    try:
        for port in ports:
            command, env = unit_command(DEPLOY / "hello@.service", str(port))
            assert env == {"GREENLANE_ACCESS_LOG": "-"}
            procs.append(subprocess.Popen(command, env=unit_env(env), cwd=tmp_path,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        for port, proc in zip(ports, procs):
            wait_for_port(port, proc)
        nginx = proxies([f"127.0.0.1:{p}" for p in ports])
        seen = set()
        for _ in range(6):
            status, _, body = get(nginx.port, "/")
            assert (status, body) == (200, b"Hello, World!")
        for _ in range(2):
            status, headers, body = get(nginx.port, "/events?count=2&interval=0.01")
            assert status == 200 and body == b"data: event 0\n\ndata: event 1\n\n"
            seen.add(headers.get("content-type"))
        assert seen == {"text/event-stream; charset=utf-8"}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(TIMEOUT)


def test_gunicorn_unit_command(tmp_path: Path) -> None:
    """hello-gunicorn.service's ExecStart, with examples/deploy/gunicorn.conf.py."""
    pytest.importorskip("hello", reason="the example app is installed by make test")
    version = gunicorn_version()
    command, env = unit_command(DEPLOY / "hello-gunicorn.service")
    assert env == {}
    command = [str(DEPLOY / "gunicorn.conf.py") if arg == "/srv/hello/gunicorn.conf.py" else arg
               for arg in command]
    port = free_port()
    # The example binds 127.0.0.1:8000; here a free port, through Gunicorn's environment
    # variable (which overrides the configuration file).
    extra = f"--bind 127.0.0.1:{port}" + (" --no-control-socket" if version >= (25,) else "")
    proc = subprocess.Popen(command, env=unit_env({"GUNICORN_CMD_ARGS": extra}), cwd=tmp_path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        status, _, body = get(port, "/", source="127.0.0.1")
        assert (status, body) == (200, b"Hello, World!")
    finally:
        proc.terminate()
        assert proc.wait(TIMEOUT) == 0
