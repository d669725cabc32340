"""WSGI servers under ``wrk``: greenlane.wsgi vs eventlet.wsgi, gevent.pywsgi, granian, bjoern.

Each server runs in its own process pinned to core 0; ``wrk -t1`` runs pinned to core 1, over
loopback. All servers of one app run at once (idle ones cost nothing) so every round visits
every server in turn, which spreads the machine's noise over all of them. Access logging is
off everywhere. Scenarios:

* hello world (13-byte body, Content-Length), keep-alive, 50 and 500 connections;
* the same with ``Connection: close`` (a new TCP connection per request), 50 connections;
* a one-route Flask app, keep-alive, 50 connections;
* an I/O-bound app whose every request sleeps 50 ms cooperatively, 1,000 connections
  (ideal: 1,000 / 0.05 s = 20,000 req/s); bjoern is skipped, it cannot sleep cooperatively;
* 10,000 idle keep-alive connections (each has served one request): the server's RSS growth
  per connection, read from /proc.

Each load scenario reports req/s, p50/p99 latency and the server's CPU time per request
(user + system from /proc during the wrk run), which is far less sensitive than req/s to the
other processes sharing this machine. A run of a CPU-bound scenario in which the server got
less than 85% of its core is repeated (``--retries``) and the best of all samples is kept.

    .venv/bin/python benchmarks/bench_wsgi.py                    # default, about 4-5 minutes
    .venv/bin/python benchmarks/bench_wsgi.py --duration 10 --rounds 3
    .venv/bin/python benchmarks/bench_wsgi.py --servers greenlane,eventlet --only hello
    .venv/bin/python benchmarks/bench_wsgi.py --baseline /tmp/head --only flask   # A/B

``--baseline DIR`` adds a server "baseline": greenlane imported from ``DIR/src`` (an export of
another revision, e.g. ``git archive HEAD src | tar -x -C /tmp/head``), measured in the same
run as the working tree's, for before/after ratios on this noisy shared machine.

gevent.pywsgi gets TCP_NODELAY on each accepted socket: without it, it writes headers and body
separately and every kept-alive response waits ~40 ms for a delayed ACK (Nagle), which would
measure the kernel's timer, not gevent. eventlet and greenlane run with their defaults.

granian (Rust HTTP, the application on Python threads) runs one worker process, as the
``granian`` command starts it with ``--workers 1`` and its other defaults, access log off; the
worker is a child of the pinned process, so it is pinned too and its CPU time is counted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional

import _harness
from _harness import NA, Report, Row, Target

SERVERS = ["greenlane", "eventlet", "gevent", "granian", "bjoern"]
HELLO = b"Hello, World!"
SLEEP_SECONDS = 0.05
IO_CONNECTIONS = 1000
IDEAL_IO_RATE = IO_CONNECTIONS / SLEEP_SECONDS
SERVER_CPU = "0"
CLIENT_CPU = "1"
NOT_COOPERATIVE = "n/a (blocking server)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A CPU-bound scenario in which the server got less than this share of its core was disturbed
# by other processes on the shared machine: it is run again (see --retries).
MIN_CPU_SHARE = 0.85


# ====================================================================== server side
def hello_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def make_sleep_app(sleep: Callable[[float], None]) -> Callable[..., List[bytes]]:
    def sleep_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        sleep(SLEEP_SECONDS)
        return hello_app(environ, start_response)

    return sleep_app


def make_flask_app() -> Any:
    from flask import Flask

    app = Flask("bench")

    @app.route("/")
    def hello() -> str:
        return "Hello, World!"

    return app


def make_blocking_sleep_app() -> Callable[..., List[bytes]]:
    """The I/O-bound app for thread-based servers (granian): a blocking sleep."""
    return make_sleep_app(time.sleep)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int) -> None:
    print(f"READY {port}", flush=True)


def serve(server: str, app_name: str) -> int:
    """Child process: run ``server`` with ``app_name`` on an ephemeral loopback port, forever."""
    _harness.quiet_warnings()
    _harness.raise_nofile_limit()
    if server in ("greenlane", "baseline", "eventlet"):
        module = "greenlane" if server == "baseline" else server
        try:
            mod = importlib.import_module(module)
            wsgi_server = importlib.import_module(f"{module}.wsgi").server
            app = _pick_app(app_name, mod.sleep)
            sock = mod.listen(("127.0.0.1", 0), backlog=4096)
        except (ImportError, AttributeError) as exc:
            if module == "greenlane" and _harness.is_missing_greenlane(exc):
                print("NA", flush=True)
                return 3
            raise
        _ready(sock.getsockname()[1])
        # max_size: the default pool of 1,024 would cap the 10k idle-connection test.
        wsgi_server(sock, app, log_output=False, max_size=100_000)
    elif server == "gevent":
        import gevent
        from _apis import nodelay
        from gevent.pywsgi import WSGIServer

        class NoDelayWSGIServer(WSGIServer):  # type: ignore[misc]
            def handle(self, sock: Any, address: Any) -> None:
                nodelay(sock)
                super().handle(sock, address)

        app = _pick_app(app_name, gevent.sleep)
        wsgi_server = NoDelayWSGIServer(("127.0.0.1", 0), app, log=None, backlog=4096)
        wsgi_server.init_socket()
        _ready(wsgi_server.server_port)
        wsgi_server.serve_forever()
    elif server == "granian":
        try:
            import granian  # noqa: F401
        except ImportError:
            print("NA", flush=True)
            return 3
        port = _free_port()
        _ready(port)
        target = {"hello": "bench_wsgi:hello_app", "flask": "bench_wsgi:make_flask_app",
                  "sleep": "bench_wsgi:make_blocking_sleep_app"}[app_name]
        argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
                "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning",
                "--backlog", "4096", "--working-dir", os.path.dirname(os.path.abspath(__file__))]
        if app_name != "hello":
            argv.append("--factory")
        os.execv(sys.executable, [*argv, target])
    elif server == "bjoern":
        try:
            import bjoern
        except ImportError:
            print("MISSING", flush=True)  # optional: a C extension that needs libev headers
            return 3
        if app_name == "sleep":
            print("NA", flush=True)
            return 3
        app = _pick_app(app_name, time.sleep)
        sock = bjoern.bind_and_listen("127.0.0.1", 0, listen_backlog=4096)
        _ready(sock.getsockname()[1])
        bjoern.server_run(sock, app)
    else:
        raise SystemExit(f"unknown server {server!r}")
    return 0


def _pick_app(app_name: str, sleep: Callable[[float], None]) -> Any:
    if app_name == "hello":
        return hello_app
    if app_name == "flask":
        return make_flask_app()
    if app_name == "sleep":
        return make_sleep_app(sleep)
    raise SystemExit(f"unknown app {app_name!r}")


# ====================================================================== parent side
def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time that ``pid`` and its descendants have used so far (from /proc)."""
    total = 0
    for each in _process_tree(pid):
        try:
            with open(f"/proc/{each}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


class ServerProcess:
    """A server child pinned to SERVER_CPU; ``port`` is None when it is not available."""

    def __init__(self, server: str, app_name: str, baseline: Optional[str] = None) -> None:
        self.server = server
        self.port: Optional[int] = None
        self.status = ""
        argv = _harness.pinned(SERVER_CPU, [sys.executable, os.path.abspath(__file__),
                                            "--serve", server, "--app", app_name])
        env = None
        if server == "baseline":
            if not baseline:
                raise SystemExit("the baseline server needs --baseline DIR")
            env = dict(os.environ)
            src = os.path.join(os.path.abspath(baseline), "src")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line.startswith("READY "):
            self.port = int(line.split()[1])
            _wait_until_serving(self.port)
        elif line == "NA":
            self.status = NA if server == "greenlane" else NOT_COOPERATIVE
        elif line == "MISSING":
            self.status = "n/a (not installed)"
        else:
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.status = f"error: {err.strip().splitlines()[-1] if err.strip() else line}"[:100]
            sys.stderr.write(f"--- {server} failed to start:\n{err[-2000:]}\n")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process and its children have used so far."""
        return tree_cpu_seconds(self.proc.pid)

    def rss_kib(self) -> int:
        """Resident memory of the server process and its children."""
        total = None
        for pid in _process_tree(self.proc.pid):
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total = (total or 0) + int(line.split()[1])
            except OSError:
                continue
        if total is None:
            raise RuntimeError("no VmRSS")
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _process_tree(pid: int) -> List[int]:
    """``pid`` and its descendants (granian serves from a child process)."""
    pids = [pid]
    for parent in pids:
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as f:
                pids.extend(int(child) for child in f.read().split())
        except OSError:
            pass
    return pids


def _http_get(port: int, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def _wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            if _http_get(port).startswith(b"HTTP/1.1 200"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} does not answer")
        time.sleep(0.1)


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str
    requests: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"cannot parse latency {text!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def run_wrk(port: int, connections: int, duration: float, close: bool = False) -> WrkResult:
    """Run wrk pinned to CLIENT_CPU and parse req/s, p50, p99 and any errors."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "10s"]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(f"http://127.0.0.1:{port}/")
    out = subprocess.run(_harness.pinned(CLIENT_CPU, argv), capture_output=True, text=True,
                         timeout=duration + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and p50 and p99 and done):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = []
    sock_err = re.search(r"Socket errors: (.*)", out)
    if sock_err:
        errors.append(sock_err.group(1).strip())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors.append(f"non-2xx {non2xx.group(1)}")
    return WrkResult(float(rps.group(1)), _to_ms(p50.group(1)), _to_ms(p99.group(1)),
                     "; ".join(errors), int(done.group(1)))


def open_idle_connections(port: int, count: int, batch: int = 200) -> List[socket.socket]:
    """Open ``count`` keep-alive connections, each having completed one request."""
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    socks: List[socket.socket] = []
    while len(socks) < count:
        group = []
        for _ in range(min(batch, count - len(socks))):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(request)
            group.append(s)
        for s in group:
            buf = b""
            while not buf.endswith(HELLO):
                data = s.recv(4096)
                if not data:
                    raise RuntimeError("server closed an idle connection during setup")
                buf += data
        socks.extend(group)
    return socks


def count_closed(socks: Iterable[socket.socket]) -> int:
    """How many of ``socks`` the server has closed (readable at EOF) by now."""
    poller = select.poll()
    by_fd = {}
    for s in socks:
        poller.register(s, select.POLLIN)
        by_fd[s.fileno()] = s
    closed = 0
    for fd, _ in poller.poll(0):
        s = by_fd[fd]
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except (BlockingIOError, ConnectionError):
            closed += 1
    return closed


# ---------------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    key: str
    app: str
    connections: int
    close: bool = False

    @property
    def cpu_bound(self) -> bool:
        """The server should keep its core busy (every app but the sleeping one)."""
        return self.app != "sleep"


SCENARIOS = [
    Scenario("hello c=50", "hello", 50),
    Scenario("hello c=500", "hello", 500),
    Scenario("hello close c=50", "hello", 50, close=True),
    Scenario("flask c=50", "flask", 50),
    Scenario(f"sleep 50ms c={IO_CONNECTIONS}", "sleep", IO_CONNECTIONS),
]

HELLO_TARGET = Target(vs_eventlet=3.0, vs_gevent=2.0)


def build_rows(idle_n: int) -> Dict[str, Row]:
    rows = [
        Row("hello keep-alive c=50", "req/s", target=HELLO_TARGET),
        Row("hello keep-alive c=50 p50", "ms", higher_is_better=False),
        Row("hello keep-alive c=50 p99", "ms", higher_is_better=False),
        Row("hello keep-alive c=50 server CPU", "us/req", higher_is_better=False),
        Row("hello keep-alive c=500", "req/s", target=HELLO_TARGET),
        Row("hello keep-alive c=500 p50", "ms", higher_is_better=False),
        Row("hello keep-alive c=500 p99", "ms", higher_is_better=False,
            target=Target(vs_eventlet=0.2)),
        Row("hello keep-alive c=500 server CPU", "us/req", higher_is_better=False),
        Row("hello Connection: close c=50", "req/s"),
        Row("hello Connection: close c=50 p99", "ms", higher_is_better=False),
        Row("hello Connection: close c=50 server CPU", "us/req", higher_is_better=False),
        Row("Flask hello c=50", "req/s", target=Target(vs_eventlet=2.0)),
        Row("Flask hello c=50 p99", "ms", higher_is_better=False),
        Row("Flask hello c=50 server CPU", "us/req", higher_is_better=False),
        Row(f"I/O-bound (50 ms sleep) c={IO_CONNECTIONS}", "req/s",
            target=Target(absolute=0.8 * IDEAL_IO_RATE)),
        Row(f"I/O-bound c={IO_CONNECTIONS} p99", "ms", higher_is_better=False),
        Row(f"I/O-bound c={IO_CONNECTIONS} server CPU", "us/req", higher_is_better=False),
        Row(f"idle keep-alive x{idle_n:,}: RSS per connection", "KiB",
            higher_is_better=False, target=Target(absolute=10)),
    ]
    return {row.name: row for row in rows}


def _row_names(sc: Scenario) -> tuple[str, Optional[str], str, str]:
    """(req/s row, p50 row or None, p99 row, CPU row) for a scenario."""
    if sc.app == "hello" and not sc.close:
        base = f"hello keep-alive c={sc.connections}"
        return base, f"{base} p50", f"{base} p99", f"{base} server CPU"
    if sc.close:
        base = f"hello Connection: close c={sc.connections}"
        return base, None, f"{base} p99", f"{base} server CPU"
    if sc.app == "flask":
        return "Flask hello c=50", None, "Flask hello c=50 p99", "Flask hello c=50 server CPU"
    return (f"I/O-bound (50 ms sleep) c={IO_CONNECTIONS}", None,
            f"I/O-bound c={IO_CONNECTIONS} p99", f"I/O-bound c={IO_CONNECTIONS} server CPU")


def run_load(servers: List[str], scenarios: List[Scenario], rows: Dict[str, Row],
             rounds: int, duration: float, errors: List[str], retries: int = 2,
             baseline: Optional[str] = None) -> None:
    for app in dict.fromkeys(sc.app for sc in scenarios):
        app_scenarios = [sc for sc in scenarios if sc.app == app]
        procs = {name: ServerProcess(name, app, baseline) for name in servers}
        try:
            for name, proc in procs.items():
                if proc.port is None:
                    for sc in app_scenarios:
                        for row_name in _row_names(sc):
                            if row_name:
                                rows[row_name].add_sample(name, proc.status)
                elif app_scenarios:
                    run_wrk(proc.port, app_scenarios[0].connections, 1.0)  # warm-up
            for round_no in range(rounds):
                for sc in app_scenarios:
                    for name, proc in procs.items():
                        if proc.port is None:
                            continue
                        for attempt in range(retries + 1):
                            cpu_before = proc.cpu_seconds()
                            started = time.monotonic()
                            res = run_wrk(proc.port, sc.connections, duration, sc.close)
                            cpu = proc.cpu_seconds() - cpu_before
                            share = cpu / max(time.monotonic() - started, duration)
                            disturbed = sc.cpu_bound and share < MIN_CPU_SHARE
                            sys.stderr.write(
                                f"round {round_no + 1}/{rounds} {sc.key:>18} {name:>9}: "
                                f"{res.rps:9,.0f} req/s p99 {res.p99_ms:8.2f} ms "
                                f"CPU {cpu / max(res.requests, 1) * 1e6:6.1f} us/req, "
                                f"{share:4.0%} of the core {res.errors}"
                                + (" (disturbed: run again)" if disturbed
                                   and attempt < retries else "") + "\n")
                            if not disturbed or attempt == retries:
                                break
                        rps_row, p50_row, p99_row, cpu_row = _row_names(sc)
                        rows[rps_row].add_sample(name, res.rps)
                        if p50_row:
                            rows[p50_row].add_sample(name, res.p50_ms)
                        rows[p99_row].add_sample(name, res.p99_ms)
                        if res.requests:
                            rows[cpu_row].add_sample(name, cpu / res.requests * 1e6)
                        if res.errors and res.errors != "connect 0, read 0, write 0, timeout 0":
                            errors.append(f"{name} {sc.key} round {round_no + 1}: {res.errors}")
        finally:
            for proc in procs.values():
                proc.stop()


def run_idle(servers: List[str], count: int, row: Row, notes: List[str],
             baseline: Optional[str] = None) -> None:
    for name in servers:
        proc = ServerProcess(name, "hello", baseline)
        try:
            if proc.port is None:
                row.add_sample(name, proc.status)
                continue
            for _ in range(50):
                _http_get(proc.port)
            time.sleep(0.5)
            before = proc.rss_kib()
            socks = open_idle_connections(proc.port, count)
            time.sleep(1.0)
            after = proc.rss_kib()
            closed = count_closed(socks)
            for s in socks:
                s.close()
            per_conn = (after - before) / count
            row.add_sample(name, per_conn)
            notes.append(f"{name}: RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB with "
                         f"{count:,} idle connections" + (f" ({closed} closed by the server)"
                                                            if closed else ""))
            sys.stderr.write(f"idle {name}: {per_conn:.2f} KiB/conn\n")
        except (OSError, RuntimeError) as exc:
            row.add_sample(name, f"error: {exc}"[:100])
        finally:
            proc.stop()


def _versions(servers: List[str]) -> Dict[str, str]:
    from importlib import metadata

    found = {}
    for name in servers:
        if name == "baseline":
            continue
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    for extra in ("flask", "wrk"):
        if extra == "wrk":
            found["wrk"] = _wrk_version()
        else:
            try:
                found[extra] = metadata.version(extra)
            except metadata.PackageNotFoundError:
                pass
    return found


def _wrk_version() -> str:
    proc = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    m = re.search(r"wrk (\S+)", proc.stdout + proc.stderr)
    return m.group(1) if m else "?"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0,
                        help="seconds per wrk run (default 4)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="wrk runs per server and scenario; the best is kept (default 2)")
    parser.add_argument("--retries", type=int, default=2,
                        help="runs again a CPU-bound wrk run in which the server got less than "
                             f"{MIN_CPU_SHARE * 100:.0f}%% of its core, up to this many times "
                             "(default 2)")
    parser.add_argument("--idle", type=int, default=10_000,
                        help="idle keep-alive connections for the RSS test (0 = skip)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated servers")
    parser.add_argument("--only", default="",
                        help="comma-separated apps to run: hello,flask,sleep,idle")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also run greenlane from DIR/src as server 'baseline' (A/B runs)")
    parser.add_argument("--json", help="also write the results here (run_all.py reads it)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--app", default="hello", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        return serve(args.serve, args.app)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    limit = _harness.raise_nofile_limit()
    if args.idle + 100 > limit:
        sys.exit(f"open-files limit is {limit}: too low for --idle {args.idle}")
    servers = [s for s in args.servers.split(",") if s]
    if args.baseline and "baseline" not in servers:
        servers.insert(1, "baseline")
    only = set(filter(None, args.only.split(","))) or {"hello", "flask", "sleep", "idle"}
    rows = build_rows(args.idle)
    scenarios = [sc for sc in SCENARIOS if sc.app in only]
    keep = {name for sc in scenarios for name in _row_names(sc) if name}
    if "idle" in only and args.idle:
        keep.add(f"idle keep-alive x{args.idle:,}: RSS per connection")
    report = Report(key="wsgi", title="WSGI servers under wrk (server on core 0, wrk -t1 on "
                                      "core 1, loopback)",
                    libs=servers, rows=[row for name, row in rows.items() if name in keep])
    report.stamp()
    report.versions = _versions(servers)

    errors: List[str] = []
    idle_notes: List[str] = []
    run_load(servers, scenarios, rows, args.rounds, args.duration, errors, args.retries,
             args.baseline)
    if "idle" in only and args.idle:
        run_idle(servers, args.idle, rows[f"idle keep-alive x{args.idle:,}: RSS per connection"],
                 idle_notes, args.baseline)

    report.notes.append(
        f"wrk -t1 -d{args.duration:g}s --latency --timeout 10s, best of {args.rounds} rounds "
        f"per metric. I/O-bound ideal is {IDEAL_IO_RATE:,.0f} req/s; its target is 80% of it. "
        "Targets for hello (>= 3x eventlet, >= 2x gevent) apply to the keep-alive rows. "
        "gevent.pywsgi sets TCP_NODELAY on accepted sockets; bjoern is the C reference. "
        "'server CPU' is the server process's user+system CPU time during the wrk run divided "
        "by the requests served: unlike req/s it hardly depends on how much of its core the "
        "server got from the other processes on this shared machine. A CPU-bound run in which "
        f"the server got less than {MIN_CPU_SHARE:.0%} of its core is run again (up to "
        f"{args.retries} times).")
    for other in ("granian", "baseline"):
        if other in servers:
            ratios = [f"{row.name} {row.values['greenlane'] / row.values[other]:.2f}"
                      for row in report.rows if row.unit == "req/s"
                      and isinstance(row.values.get("greenlane"), float)
                      and isinstance(row.values.get(other), float) and row.values[other] > 0]
            if ratios:
                report.notes.append(f"greenlane/{other} req/s: " + "; ".join(ratios) + ".")
    if idle_notes:
        report.notes.append("Idle connections: " + "; ".join(idle_notes) + ".")
    if errors:
        report.notes.append("wrk errors: " + "; ".join(errors) + ".")
    report.publish(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
