"""Gunicorn workers under ``wrk``: greenlane's worker vs ``-k gevent`` vs ``-k gthread`` vs granian.

Every server runs one worker process, pinned (with its master) to core 0; ``wrk -t1`` runs
pinned to core 1, over loopback, as in bench_wsgi.py. The servers:

* ``greenlane``: ``gunicorn -w 1 -k greenlane.gunicorn.Worker`` (monkey patched, Gunicorn's
  default settings, access log off);
* ``gevent``: ``gunicorn -w 1 -k gevent`` (needs ``gevent`` and ``packaging``);
* ``gthread``: ``gunicorn -w 1 -k gthread`` with 4 threads (100 for the I/O-bound app, whose
  requests each hold a thread for 50 ms);
* ``granian``: ``granian --interface wsgi --workers 1`` (Rust HTTP, Python threads);
* ``serve``: ``greenlane serve`` (one process, no Gunicorn), the reference for what the worker
  costs: the two should be within noise of each other.

Applications: hello world (13 bytes), the example Flask app (``examples/hello-app``,
``hello:create_app()``, its ``/`` view), and an I/O-bound app whose every request sleeps 50 ms
(``time.sleep``: green under the greenlane and gevent workers, a blocking sleep in a thread
for gthread and granian), with 1,000 connections (ideal 20,000 req/s).

Targets (issue 9): hello >= 3x ``-k gevent``, Flask >= 1.5x ``-k gevent``.

    .venv/bin/python benchmarks/bench_gunicorn.py                       # about 3 minutes
    .venv/bin/python benchmarks/bench_gunicorn.py --duration 2 --rounds 1 --only hello
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import _harness
from _harness import Report, Row, Target
from bench_wsgi import (
    CLIENT_CPU,
    HELLO,
    IDEAL_IO_RATE,
    IO_CONNECTIONS,
    MIN_CPU_SHARE,
    SERVER_CPU,
    SLEEP_SECONDS,
    _free_port,
    _http_get,
    _process_tree,
    run_wrk,
    tree_cpu_seconds,
)

SERVERS = ["greenlane", "gevent", "gthread", "granian", "serve"]
APPS = ["hello", "flask", "sleep"]
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
HELLO_APP_DIR = os.path.join(ROOT, "examples", "hello-app")
CONNECTIONS = {"hello": 50, "flask": 50, "sleep": IO_CONNECTIONS}
GTHREAD_THREADS = {"hello": 4, "flask": 4, "sleep": 100}


# ====================================================================== the applications
def hello_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    """13 bytes with a Content-Length."""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def sleep_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    """Waits 50 ms with ``time.sleep``, looked up per call (green once patched)."""
    time.sleep(SLEEP_SECONDS)
    return hello_app(environ, start_response)


# ====================================================================== servers
def _app_spec(app: str, server: str) -> tuple[List[str], str]:
    """(extra arguments, application spec) for ``server``."""
    if app == "flask":
        if server == "granian":
            return ["--factory"], "hello:create_app"
        return [], "hello:create_app()"
    return [], f"bench_gunicorn:{app}_app"


def server_command(server: str, app: str, port: int) -> Optional[List[str]]:
    """The command line for one server, or None if it is not installed."""
    extra, spec = _app_spec(app, server)
    bind = f"127.0.0.1:{port}"
    chdir = HELLO_APP_DIR if app == "flask" else BENCH_DIR
    if server in ("greenlane", "gevent", "gthread"):
        if shutil.which("gunicorn", path=os.path.dirname(sys.executable)) is None:
            try:
                import gunicorn  # noqa: F401
            except ImportError:
                return None
        worker = {"greenlane": "greenlane.gunicorn.Worker", "gevent": "gevent",
                  "gthread": "gthread"}[server]
        if server == "gevent":
            try:
                import gevent  # noqa: F401
                import packaging  # noqa: F401
            except ImportError:
                return None
        argv = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", worker, "-b", bind,
                "--chdir", chdir, "--backlog", "4096", "--log-level", "warning",
                "--worker-connections", "10000"]
        if _gunicorn_version() >= (25,):
            argv.append("--no-control-socket")
        if server == "gthread":
            argv += ["--threads", str(GTHREAD_THREADS[app])]
        return [*argv, *extra, spec]
    if server == "granian":
        try:
            import granian  # noqa: F401
        except ImportError:
            return None
        if app == "sleep":
            extra = [*extra, "--blocking-threads", str(GTHREAD_THREADS[app])]
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
                "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level",
                "warning", "--backlog", "4096", "--working-dir", chdir, *extra, spec]
    if server == "serve":
        return [sys.executable, "-m", "greenlane", "serve", "--app-dir", chdir, "--bind", bind,
                "--log-level", "warning", "--backlog", "4096", *extra, spec]
    raise SystemExit(f"unknown server {server!r}")


def _gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(int(p) for p in gunicorn.__version__.split(".")[:2] if p.isdigit())


class Server:
    """One server (and its workers) pinned to SERVER_CPU; ``port`` None when unavailable."""

    def __init__(self, server: str, app: str) -> None:
        self.server = server
        self.port: Optional[int] = _free_port()
        self.status = ""
        argv = server_command(server, app, self.port)
        if argv is None:
            self.port = None
            self.status = "n/a (not installed)"
            self.proc: Optional[subprocess.Popen[str]] = None
            return
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [BENCH_DIR, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(_harness.pinned(SERVER_CPU, argv), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if _http_get(self.port).startswith(b"HTTP/1.1 200"):
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                err = self.proc.stderr.read() if self.proc.stderr else ""
                self.status = f"error: {(err.strip().splitlines() or ['?'])[-1]}"[:100]
                sys.stderr.write(f"--- {server} {app} failed to start:\n{err[-2000:]}\n")
                self.port = None
                return
            time.sleep(0.1)  # another process starting: nothing to wait on

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its workers so far."""
        assert self.proc is not None
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in reversed(_process_tree(self.proc.pid)):
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                self.proc.wait()


# ====================================================================== measuring
ROW_NAMES = {
    "hello": "hello keep-alive c=50",
    "flask": "Flask hello (examples/hello-app) c=50",
    "sleep": f"I/O-bound (50 ms sleep) c={IO_CONNECTIONS}",
}
TARGETS = {"hello": Target(vs_gevent=3.0), "flask": Target(vs_gevent=1.5),
           "sleep": Target(absolute=0.8 * IDEAL_IO_RATE)}


def build_rows(apps: List[str]) -> Dict[str, Row]:
    rows = []
    for app in apps:
        base = ROW_NAMES[app]
        rows += [Row(base, "req/s", target=TARGETS[app]),
                 Row(f"{base} p99", "ms", higher_is_better=False),
                 Row(f"{base} server CPU", "us/req", higher_is_better=False)]
    return {row.name: row for row in rows}


def run(servers: List[str], apps: List[str], rows: Dict[str, Row], rounds: int,
        duration: float, retries: int, errors: List[str]) -> None:
    for app in apps:
        base = ROW_NAMES[app]
        connections = CONNECTIONS[app]
        procs = {name: Server(name, app) for name in servers}
        try:
            for name, proc in procs.items():
                if proc.port is None:
                    for suffix in ("", " p99", " server CPU"):
                        rows[base + suffix].add_sample(name, proc.status)
                else:
                    run_wrk(proc.port, connections, 1.0)  # warm-up
            for round_no in range(rounds):
                for name, proc in procs.items():
                    if proc.port is None:
                        continue
                    for attempt in range(retries + 1):
                        cpu_before = proc.cpu_seconds()
                        started = time.monotonic()
                        res = run_wrk(proc.port, connections, duration)
                        cpu = proc.cpu_seconds() - cpu_before
                        share = cpu / max(time.monotonic() - started, duration)
                        disturbed = app != "sleep" and share < MIN_CPU_SHARE
                        sys.stderr.write(
                            f"round {round_no + 1}/{rounds} {app:>5} {name:>9}: "
                            f"{res.rps:9,.0f} req/s p99 {res.p99_ms:8.2f} ms CPU "
                            f"{cpu / max(res.requests, 1) * 1e6:6.1f} us/req, {share:4.0%} of "
                            f"the core {res.errors}"
                            + (" (disturbed: run again)" if disturbed and attempt < retries
                               else "") + "\n")
                        if not disturbed or attempt == retries:
                            break
                    rows[base].add_sample(name, res.rps)
                    rows[f"{base} p99"].add_sample(name, res.p99_ms)
                    if res.requests:
                        rows[f"{base} server CPU"].add_sample(name, cpu / res.requests * 1e6)
                    if res.errors and res.errors != "connect 0, read 0, write 0, timeout 0":
                        errors.append(f"{name} {app} round {round_no + 1}: {res.errors}")
        finally:
            for proc in procs.values():
                proc.stop()


def _versions() -> Dict[str, str]:
    from importlib import metadata

    found = {}
    for name in ("greenlane", "gunicorn", "gevent", "granian", "flask"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0,
                        help="seconds per wrk run (default 4)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="wrk runs per server and app; the best is kept (default 2)")
    parser.add_argument("--retries", type=int, default=2,
                        help="runs again a CPU-bound run in which the server got less than "
                             f"{MIN_CPU_SHARE * 100:.0f}%% of its core (default 2)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated servers")
    parser.add_argument("--only", default=",".join(APPS), help="comma-separated apps: "
                        + ",".join(APPS))
    parser.add_argument("--json", help="also write the results here (run_all.py reads it)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    _harness.raise_nofile_limit()
    servers = [s for s in args.servers.split(",") if s]
    apps = [a for a in args.only.split(",") if a]
    unknown = [a for a in apps if a not in APPS] + [s for s in servers if s not in SERVERS]
    if unknown:
        sys.exit(f"unknown app or server: {', '.join(unknown)}")
    rows = build_rows(apps)
    report = Report(key="gunicorn", title="Gunicorn workers, one worker each (server on core "
                                          f"{SERVER_CPU}, wrk -t1 on core {CLIENT_CPU})",
                    libs=servers, rows=list(rows.values()))
    report.stamp()
    report.versions = _versions()
    errors: List[str] = []
    run(servers, apps, rows, args.rounds, args.duration, args.retries, errors)
    report.notes.append(
        f"wrk -t1 -d{args.duration:g}s --latency, best of {args.rounds} rounds per metric. "
        "'greenlane' is gunicorn -w 1 -k greenlane.gunicorn.Worker, 'gevent' -k gevent, "
        f"'gthread' -k gthread --threads {GTHREAD_THREADS['hello']} "
        f"({GTHREAD_THREADS['sleep']} for the I/O-bound app), 'granian' granian --workers 1, "
        "'serve' greenlane serve (no Gunicorn). 'server CPU' is the CPU time of the server's "
        "processes during the run divided by the requests served. The I/O-bound ideal is "
        f"{IDEAL_IO_RATE:,.0f} req/s.")
    for other in ("gthread", "granian", "serve"):
        if other in servers:
            ratios = [f"{row.name} {row.values['greenlane'] / row.values[other]:.2f}"
                      for row in report.rows if row.unit in ("req/s", "us/req")
                      and isinstance(row.values.get("greenlane"), float)
                      and isinstance(row.values.get(other), float) and row.values[other] > 0]
            if ratios:
                report.notes.append(f"greenlane worker/{other}: " + "; ".join(ratios) + ".")
    if errors:
        report.notes.append("wrk errors: " + "; ".join(errors) + ".")
    report.publish(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
