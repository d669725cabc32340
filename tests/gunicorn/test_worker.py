"""``gunicorn -k greenlane.gunicorn.Worker``: a real Gunicorn master and its workers, driven
over loopback HTTP and with signals, as in production.

Every test starts its own master (``Gunicorn`` in _gunicorn_support.py) on a free port. Waits
are on observable events: lines Gunicorn writes, hook lines, responses; the few polls are of
other processes (their children in /proc, a log file), which offer nothing to wait on.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from tests._support import write_apps

from ._gunicorn_support import (
    APPS,
    TIMEOUT,
    Gunicorn,
    gunicorn_version,
    process_gone,
    raw_exchange,
    request,
    ws_connect,
    ws_recv,
    ws_send_text,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_apps(tmp_path_factory, APPS, "gunicorn-apps")


@pytest.fixture
def run(apps: str) -> Iterator[Callable[..., Gunicorn]]:
    """``run(*gunicorn args, **Gunicorn options)``: a master, killed after the test."""
    started: list[Gunicorn] = []

    def start(*args: str, **options: Any) -> Gunicorn:
        gunicorn_version()  # skip (or fail in CI) before anything else without Gunicorn
        g = Gunicorn(apps, *args, **options)
        started.append(g)
        return g

    yield start
    for g in started:
        g.kill()


@pytest.fixture
def hook_log(tmp_path: Path) -> Path:
    return tmp_path / "hooks.log"


def hook_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for_hook(path: Path, prefix: str, count: int = 1, timeout: float = TIMEOUT) -> list[str]:
    """Poll the hook log (written by another process) until ``count`` lines start with
    ``prefix``."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in hook_lines(path) if line.startswith(prefix)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} x {prefix!r} in {hook_lines(path)}")
        time.sleep(0.02)


def get_json(port: int, path: str = "/env", **kwargs: Any) -> dict[str, Any]:
    status, _, body = request(port, path=path, **kwargs)
    assert status == 200, body
    result: dict[str, Any] = json.loads(body)
    return result


def source_request(port: int, source: str, path: str = "/env",
                   headers: Optional[dict[str, str]] = None) -> tuple[int, bytes]:
    """A request from another loopback address (127.0.0.2 is not a trusted proxy)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class InFlight:
    """Requests running in background threads; ``results()`` joins them."""

    def __init__(self, port: int, paths: list[str]) -> None:
        self.outcomes: list[Any] = [None] * len(paths)
        self.threads = [threading.Thread(target=self._one, args=(i, port, p), daemon=True)
                        for i, p in enumerate(paths)]
        for t in self.threads:
            t.start()

    def _one(self, i: int, port: int, path: str) -> None:
        try:
            status, _, body = request(port, path=path)
            self.outcomes[i] = (status, body)
        except (OSError, http.client.HTTPException) as exc:
            self.outcomes[i] = exc

    def results(self) -> list[Any]:
        for t in self.threads:
            t.join(TIMEOUT)
        return self.outcomes


class Load:
    """A load loop: threads sending requests until stopped, counting failures.

    ``fresh`` threads open a new connection per request (any request the server drops in a
    restart is a failure). The ``keepalive`` thread reuses one connection and, like urllib3
    and browsers, retries once on a new connection when a reused one was closed before any
    byte of the response arrived (the race every keep-alive client has with a server closing
    an idle connection); any other error, or a non-200, is a failure.
    """

    def __init__(self, port: int, fresh: int = 3, keepalive: int = 1,
                 path: str = "/") -> None:
        self.port = port
        self.path = path
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures: list[str] = []
        self.retried = 0
        self.pids: set[str] = set()
        self.threads = ([threading.Thread(target=self._fresh, daemon=True)
                         for _ in range(fresh)] +
                        [threading.Thread(target=self._keepalive, daemon=True)
                         for _ in range(keepalive)])
        for t in self.threads:
            t.start()

    def _record(self, status: int, body: bytes) -> None:
        with self.lock:
            if status == 200:
                self.ok += 1
                self.pids.add(body.decode())
            else:
                self.failures.append(f"status {status}: {body[:200]!r}")

    def _fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)

    def _fresh(self) -> None:
        while not self.stop_event.is_set():
            try:
                status, _, body = request(self.port, path=self.path,
                                          headers={"Connection": "close"})
            except (OSError, http.client.HTTPException) as exc:
                self._fail(repr(exc))
                continue
            self._record(status, body)

    def _keepalive(self) -> None:
        conn: Optional[http.client.HTTPConnection] = None
        while not self.stop_event.is_set():
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as exc:
                conn.close()
                conn = None
                if reused:
                    with self.lock:
                        self.retried += 1
                    continue
                self._fail(repr(exc))
                continue
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = None
                self._fail(repr(exc))
                continue
            self._record(resp.status, body)
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def wait_for(self, n: int, timeout: float = TIMEOUT) -> None:
        """Wait until ``n`` more requests have succeeded (the load is really running)."""
        with self.lock:
            target = self.ok + n
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.ok >= target:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"load stalled at {self.ok}; failures {self.failures}")
            time.sleep(0.01)

    def finish(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(TIMEOUT)


# -- loading ------------------------------------------------------------------------------------

def test_import_without_gunicorn_is_a_clear_error() -> None:
    code = ("import sys; sys.modules['gunicorn'] = None\n"
            "try:\n    import greenlane.gunicorn\n"
            "except ImportError as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("greenlane.gunicorn is a worker class for Gunicorn, which "
                                     "is not installed: pip install gunicorn")


def test_serves_patched_by_default(run: Callable[..., Gunicorn]) -> None:
    g = run("-w", "2")
    info = get_json(g.port)
    assert info["patched"] is True and info["patched_time"] is True
    assert info["wsgi.multiprocess"] is True
    assert info["wsgi.url_scheme"] == "http"
    assert info["pid"] in g.wait_for_workers(2)
    assert g.stop() == 0


def test_monkey_patch_opt_out_and_selection(run: Callable[..., Gunicorn]) -> None:
    off = run("--env", "GREENLANE_MONKEY_PATCH=0")
    info = get_json(off.port)
    assert info["patched"] is False and info["patched_time"] is False
    assert info["wsgi.multiprocess"] is False
    # From the environment as well as raw_env; a list of groups patches just those.
    some = run(env={"GREENLANE_MONKEY_PATCH": "time"})
    info = get_json(some.port)
    assert info["patched"] is False and info["patched_time"] is True


def test_bad_monkey_patch_setting_stops_the_master(run: Callable[..., Gunicorn]) -> None:
    g = run("--env", "GREENLANE_MONKEY_PATCH=sockets", ready="")
    assert g.proc.wait(TIMEOUT) == 1
    g.wait_for_line("<EOF>")
    assert "Error: GREENLANE_MONKEY_PATCH='sockets': 'sockets' is not 1/0 or one of" in g.stderr


def test_proxy_protocol_is_refused(run: Callable[..., Gunicorn]) -> None:
    on = ["--proxy-protocol", "v1"] if gunicorn_version() >= (25,) else ["--proxy-protocol"]
    g = run(*on, ready="")
    assert g.proc.wait(TIMEOUT) == 1
    g.wait_for_line("<EOF>")
    assert "does not read the PROXY protocol" in g.stderr


def test_entry_point_selects_the_worker(run: Callable[..., Gunicorn]) -> None:
    # -k egg:greenlane#greenlane needs the gunicorn.workers entry point in greenlane's
    # installed metadata (pyproject.toml).
    g = run(worker="egg:greenlane#greenlane")
    assert g.wait_for_line("Using worker: egg:greenlane#greenlane")
    assert get_json(g.port)["patched"] is True


# -- concurrency and connections --------------------------------------------------------------

def test_one_worker_overlaps_many_sleeping_requests(run: Callable[..., Gunicorn]) -> None:
    g = run("-w", "1")
    request(g.port)  # booted
    start = time.monotonic()
    results = InFlight(g.port, ["/slow?s=1"] * 30).results()
    elapsed = time.monotonic() - start
    assert all(isinstance(r, tuple) and r[0] == 200 for r in results), results
    assert elapsed < 5, f"30 x 1 s sleeps took {elapsed:.1f} s: not concurrent"


def test_worker_connections_caps_concurrent_connections(run: Callable[..., Gunicorn]) -> None:
    g = run("--worker-connections", "2")
    results = InFlight(g.port, ["/conc?s=0.3"] * 6).results()
    assert [r[0] if isinstance(r, tuple) else r for r in results] == [200] * 6
    assert request(g.port, path="/max")[2] == b"2"


def test_keepalive_zero_answers_one_request_per_connection(
        run: Callable[..., Gunicorn]) -> None:
    g = run("--keep-alive", "0")
    data = raw_exchange(g.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200") and b"connection: close" in head


def test_keepalive_is_the_idle_timeout(run: Callable[..., Gunicorn]) -> None:
    g = run("--keep-alive", "1")
    conn = http.client.HTTPConnection("127.0.0.1", g.port, timeout=TIMEOUT)
    ports = set()
    for _ in range(3):
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200 and not resp.will_close
        assert conn.sock is not None
        ports.add(conn.sock.getsockname()[1])
    assert len(ports) == 1  # one connection served all three
    sock = conn.sock
    start = time.monotonic()
    assert sock.recv(1) == b""  # the server closes the idle connection ...
    idle = time.monotonic() - start
    assert 0.7 < idle < 5, idle  # ... after about --keep-alive seconds
    conn.close()


# -- the heartbeat ----------------------------------------------------------------------------

def test_heartbeat_keeps_a_waiting_worker_alive(run: Callable[..., Gunicorn]) -> None:
    g = run("--timeout", "1")
    first = request(g.port)[2]
    # A request that sleeps (yields) for 3 x --timeout: the hub keeps notifying the master.
    status, _, body = request(g.port, path="/slow?s=3")
    assert status == 200 and body == b"slept " + first
    assert g.count("WORKER TIMEOUT") == 0


def test_heartbeat_stops_when_a_green_thread_hogs_the_cpu(
        run: Callable[..., Gunicorn], hook_log: Path) -> None:
    g = run("--timeout", "2", "-c", "hooks.py", env={"HOOK_LOG": str(hook_log)})
    old = request(g.port)[2].decode().split("=")[1]
    hog = InFlight(g.port, ["/hog?s=60"])
    assert g.wait_for_line("WORKER TIMEOUT")
    assert wait_for_hook(hook_log, "worker_abort") == [f"worker_abort {old}"]
    # The master replaces the worker, which serves again.
    new = request(g.port)[2].decode().split("=")[1]
    assert new != old
    outcome = hog.results()[0]
    assert not (isinstance(outcome, tuple) and outcome[0] == 200)


# -- signals ----------------------------------------------------------------------------------

def test_sigterm_lets_requests_in_flight_finish(
        run: Callable[..., Gunicorn], hook_log: Path) -> None:
    g = run("-c", "hooks.py", env={"HOOK_LOG": str(hook_log)})
    worker = request(g.port)[2].decode().split("=")[1]
    flight = InFlight(g.port, ["/slow?s=1.5"] * 5)
    wait_for_hook(hook_log, "pre_request GET /slow", count=5)
    g.send(signal.SIGTERM)
    assert g.proc.wait(TIMEOUT) == 0
    assert flight.results() == [(200, f"slept pid={worker}".encode())] * 5
    assert f"worker_exit {worker}" in hook_lines(hook_log)
    assert "graceful timeout" not in g.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", g.port), timeout=TIMEOUT).close()


def test_graceful_timeout_bounds_the_stop(run: Callable[..., Gunicorn]) -> None:
    g = run("--graceful-timeout", "1")
    request(g.port)
    flight = InFlight(g.port, ["/slow?s=30"])
    start = time.monotonic()
    while "slow" not in g.stderr and time.monotonic() - start < 0.5:
        time.sleep(0.01)  # give the request time to reach the application
    g.send(signal.SIGTERM)
    g.proc.wait(TIMEOUT)
    assert time.monotonic() - start < 8
    outcome = flight.results()[0]
    assert not (isinstance(outcome, tuple) and outcome[0] == 200), outcome


@pytest.mark.parametrize("signum", [signal.SIGQUIT, signal.SIGINT])
def test_sigquit_and_sigint_stop_at_once(run: Callable[..., Gunicorn], hook_log: Path,
                                         signum: int) -> None:
    g = run("-c", "hooks.py", env={"HOOK_LOG": str(hook_log)})
    worker = request(g.port)[2].decode().split("=")[1]
    flight = InFlight(g.port, ["/slow?s=30"])
    wait_for_hook(hook_log, "pre_request GET /slow")
    start = time.monotonic()
    g.send(signum)
    assert g.proc.wait(TIMEOUT) == 0
    assert time.monotonic() - start < 5
    outcome = flight.results()[0]
    assert not (isinstance(outcome, tuple) and outcome[0] == 200), outcome
    lines = hook_lines(hook_log)
    assert f"worker_int {worker}" in lines and f"worker_exit {worker}" in lines


def test_sigusr1_reopens_the_access_log(run: Callable[..., Gunicorn], tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    g = run("--access-logfile", str(log))
    request(g.port, path="/before")
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    g.send(signal.SIGUSR1)
    assert g.wait_for_line("Handling signal: usr1")
    # The worker reopens in a green thread of its own; until then lines go to the old file.
    deadline = time.monotonic() + TIMEOUT
    while not (log.exists() and "/after" in log.read_text()):
        assert time.monotonic() < deadline, "the access log was not reopened"
        request(g.port, path="/after")
    assert "/before" in rotated.read_text() and "/before" not in log.read_text()


def test_hup_reloads_workers_with_zero_failed_requests(run: Callable[..., Gunicorn]) -> None:
    g = run("-w", "2")
    first = set(g.wait_for_workers(2))
    load = Load(g.port)
    try:
        load.wait_for(50)
        seen = first
        for _ in range(2):
            g.send(signal.SIGHUP)
            seen = set(g.wait_for_workers(2, exclude=seen))
            load.wait_for(50)
    finally:
        load.finish()
    assert load.failures == []
    # Requests were answered by the first workers and by the last ones.
    assert {f"pid={p}" for p in first} & load.pids
    assert {f"pid={p}" for p in seen} & load.pids
    assert g.count("Handling signal: hup") == 2


def test_ttin_ttou_change_the_worker_count_without_failures(
        run: Callable[..., Gunicorn]) -> None:
    g = run("-w", "1")
    g.wait_for_workers(1)
    load = Load(g.port)
    try:
        load.wait_for(30)
        g.send(signal.SIGTTIN)
        g.wait_for_workers(2)
        load.wait_for(30)
        g.send(signal.SIGTTOU)
        g.wait_for_workers(1)
        load.wait_for(30)
    finally:
        load.finish()
    assert load.failures == []


def test_orphaned_worker_exits(run: Callable[..., Gunicorn]) -> None:
    g = run()
    worker = int(request(g.port)[2].decode().split("=")[1])
    g.proc.kill()  # the master dies without telling its worker
    g.proc.wait()
    deadline = time.monotonic() + 10
    while not process_gone(worker):
        assert time.monotonic() < deadline, "the orphaned worker kept running"
        time.sleep(0.05)


# -- settings ---------------------------------------------------------------------------------

def runs_of(pids: list[bytes]) -> list[int]:
    """Lengths of the runs of equal values: how many requests each worker answered."""
    runs = [1]
    for previous, pid in zip(pids, pids[1:]):
        if pid == previous:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def test_max_requests_restarts_the_worker(run: Callable[..., Gunicorn]) -> None:
    g = run("--max-requests", "4", "--max-requests-jitter", "0")
    pids = [request(g.port)[2] for _ in range(14)]
    runs = runs_of(pids)
    # Each worker answers 4 requests; a connection it accepted while its stop was under way
    # is answered too, so one more is possible, never fewer.
    assert len(runs) >= 3 and all(4 <= n <= 5 for n in runs[:-1]), runs
    assert len(set(pids)) == len(runs)  # a new process each time
    assert g.count("Autorestarting worker after current request") >= 2


def test_max_requests_jitter(run: Callable[..., Gunicorn]) -> None:
    g = run("--max-requests", "2", "--max-requests-jitter", "3")
    runs = runs_of([request(g.port)[2] for _ in range(40)])
    assert len(runs) >= 4
    assert all(2 <= n <= 6 for n in runs[:-1]), runs
    assert len(set(runs[:-1])) > 1, runs  # not always the same: jitter applies


def test_request_limits(run: Callable[..., Gunicorn]) -> None:
    g = run("--limit-request-line", "100", "--limit-request-fields", "5",
            "--limit-request-field_size", "40")
    ok = raw_exchange(g.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200")
    long_line = raw_exchange(g.port, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert long_line.startswith(b"HTTP/1.1 414")
    many = b"".join(b"X-%d: y\r\n" % i for i in range(8))
    too_many = raw_exchange(g.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert too_many.startswith(b"HTTP/1.1 431")
    # The whole header section is bounded by fields x (field size + 2) + 2 = 212 bytes.
    big = raw_exchange(g.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 300 + b"\r\n\r\n")
    assert big.startswith(b"HTTP/1.1 431")
    # And each field line by the field size (40): 39 bytes pass, 41 do not.
    for size, status in ((39, b"200"), (41, b"431")):
        field = b"X-F: " + b"f" * (size - 5)
        got = raw_exchange(g.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           + field + b"\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 " + status), (size, got[:60])


def test_scheme_headers_from_trusted_peers_only(run: Callable[..., Gunicorn]) -> None:
    g = run()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    info = get_json(g.port, headers=forged)
    # Gunicorn's semantics: secure_scheme_headers from forwarded_allow_ips peers decide the
    # scheme; REMOTE_ADDR stays the peer's.
    assert info["wsgi.url_scheme"] == "https" and info["REMOTE_ADDR"] == "127.0.0.1"
    status, body = source_request(g.port, "127.0.0.2", headers=forged)
    assert status == 200
    info = json.loads(body)
    assert info["wsgi.url_scheme"] == "http" and info["REMOTE_ADDR"] == "127.0.0.2"
    conflict = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "off"}
    assert request(g.port, path="/env", headers=conflict)[0] == 400


def test_proxy_headers_opt_in(run: Callable[..., Gunicorn]) -> None:
    g = run("--forwarded-allow-ips", "127.0.0.1", "--env", "GREENLANE_PROXY_HEADERS=1")
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    info = get_json(g.port, headers=headers)
    assert info["REMOTE_ADDR"] == "203.0.113.9" and info["wsgi.url_scheme"] == "https"
    status, body = source_request(g.port, "127.0.0.2", headers=headers)
    info = json.loads(body)
    assert info["REMOTE_ADDR"] == "127.0.0.2" and info["wsgi.url_scheme"] == "http"


def test_access_log_through_gunicorn_with_its_format(run: Callable[..., Gunicorn]) -> None:
    fmt = "%(h)s|%(r)s|%(s)s|%(b)s|%({x-test}i)s|%({content-type}o)s|%(m)s|%(U)s|%(q)s|%(H)s"
    g = run("--access-logfile", "-", "--access-logformat", fmt)
    status, _, body = request(g.port, path="/env?a=1", headers={"X-Test": "hello"})
    assert status == 200
    assert g.wait_for_line("|GET /env?a=1 HTTP/1.1|", stdout=True)
    line = [x for x in g.stdout.splitlines() if "/env?a=1" in x][0]
    assert line == (f"127.0.0.1|GET /env?a=1 HTTP/1.1|200|{len(body)}|hello|application/json|"
                    "GET|/env|a=1|HTTP/1.1")


def test_application_errors_go_to_the_error_log(run: Callable[..., Gunicorn]) -> None:
    g = run()
    status, _, body = request(g.port, path="/boom")
    assert status == 500 and b"kaboom" not in body  # no traceback to the client
    assert g.wait_for_line("ValueError: kaboom from the application")
    assert "Traceback" in g.stderr


def test_statsd_metrics(run: Callable[..., Gunicorn]) -> None:
    # Gunicorn's statsd logger counts requests in its access(): called even with the access
    # log off.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(TIMEOUT)
        g = run("--statsd-host", f"127.0.0.1:{udp.getsockname()[1]}")
        assert request(g.port, path="/env")[0] == 200
        seen = b""
        while b"gunicorn.requests:1|c" not in seen or b"gunicorn.request.status.200" not in seen:
            seen += udp.recv(65536) + b"\n"


def test_hooks(run: Callable[..., Gunicorn], hook_log: Path) -> None:
    g = run("-c", "hooks.py", env={"HOOK_LOG": str(hook_log)})
    status, _, body = request(g.port, path="/env?x=1", headers={"X-Test": "hi"})
    worker = json.loads(body)["pid"]
    post = wait_for_hook(hook_log, "post_request")
    lines = hook_lines(hook_log)
    assert lines[0] == f"post_worker_init {worker}"
    assert lines[1] == "pre_request GET /env x=1 /env?x=1 (1, 1) hi"
    # post_request gets the request object pre_request saw (with the attribute it set).
    assert post == [f"post_request tag/env 200 [200 OK] {len(body)} /env application/json"]
    assert g.stop() == 0
    assert hook_lines(hook_log)[-1] == f"worker_exit {worker}"


def test_tls_settings(run: Callable[..., Gunicorn], tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme needs cryptography, which "
                                  "PyPy 3.9 lacks here (CPython runs this test)")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    g = run("--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "key.pem"),
            "--ca-certs", str(tmp_path / "ca.pem"), "--cert-reqs", str(int(ssl.CERT_REQUIRED)))
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    client.set_alpn_protocols(["h2", "http/1.1"])
    # Without a client certificate the handshake fails (cert_reqs = CERT_REQUIRED).
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError,
                        http.client.RemoteDisconnected)):
        conn = http.client.HTTPSConnection("127.0.0.1", g.port, context=client,
                                           timeout=TIMEOUT)
        conn.request("GET", "/env")
        conn.getresponse().read()
    ca.issue_cert("client@example.org").configure_cert(client)
    conn = http.client.HTTPSConnection("127.0.0.1", g.port, context=client, timeout=TIMEOUT)
    conn.request("GET", "/env")
    resp = conn.getresponse()
    info = json.loads(resp.read())
    assert resp.status == 200 and info["wsgi.url_scheme"] == "https"
    assert conn.sock is not None
    assert conn.sock.selected_alpn_protocol() == "http/1.1"  # not h2: greenlane is HTTP/1.1
    conn.close()


# -- applications that take the socket over ---------------------------------------------------

def test_websocket_and_raw_upgrade(run: Callable[..., Gunicorn]) -> None:
    g = run()
    with socket.create_connection(("127.0.0.1", g.port), timeout=TIMEOUT) as s:
        ws_connect(s, f"127.0.0.1:{g.port}")
        ws_send_text(s, "hello worker")
        assert ws_recv(s) == (1, b"hello worker")
    with socket.create_connection(("127.0.0.1", g.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\n"
                  b"Connection: Upgrade\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        s.sendall(b"shout")
        assert s.recv(100) == b"SHOUT"
    # An open WebSocket does not hold a graceful stop up.
    ws = socket.create_connection(("127.0.0.1", g.port), timeout=TIMEOUT)
    ws_connect(ws, f"127.0.0.1:{g.port}")
    start = time.monotonic()
    assert g.stop() == 0
    assert time.monotonic() - start < 5
    ws.close()



def test_reload_restarts_the_worker_when_a_file_changes(run: Callable[..., Gunicorn],
                                                        tmp_path: Path) -> None:
    # Gunicorn's reloader calls back in an OS thread of its own; the worker notices within a
    # heartbeat and stops gracefully.
    app = tmp_path / "reloadapp.py"
    app.write_text("import os\n\ndef app(environ, start_response):\n"
                   "    start_response('200 OK', [])\n"
                   "    return [str(os.getpid()).encode()]\n")
    g = run("--reload", "--chdir", str(tmp_path), app="reloadapp:app")
    old = request(g.port)[2]
    stat = app.stat()
    # The reloader takes its first snapshot of modification times in its own thread, maybe
    # after a first change: change the file again until it reports one.
    for step in range(1, 11):
        os.utime(app, (stat.st_atime, stat.st_mtime + 10 * step))
        if g.wait_for_line("Worker reloading", timeout=3):
            break
    else:
        raise AssertionError(f"no reload; stderr:\n{g.stderr}")
    # The old worker answers until it notices (within a heartbeat), then the new one.
    deadline = time.monotonic() + TIMEOUT
    while request(g.port)[2] == old:
        assert time.monotonic() < deadline, "the worker was not replaced"
