"""PostgreSQL from green threads: psycopg2 (and psycopg 3) on greenlane, eventlet and gevent.

Starts a throw-away PostgreSQL cluster on 127.0.0.1 (as tests/_services.py does: Debian's
binaries, run as the ``postgres`` user when root), or uses ``--dsn``. Each library runs in its
own child process, pinned with taskset, after its own patching:

* greenlane: ``greenlane.monkey_patch()`` (psycopg 3 and psycopg2 patched when imported);
* eventlet 0.41: ``eventlet.monkey_patch()``, whose ``psycopg`` group installs eventlet's
  psycopg2 wait callback; eventlet has nothing for psycopg 3 (its rows say n/a);
* gevent 26: ``monkey.patch_all()`` plus ``psycogreen.gevent.patch_psycopg()`` for psycopg2
  (psycopg2's documented recipe when psycogreen is missing); psycopg 3 detects gevent's
  patching itself and waits with the patched ``select``.

Workloads (connections are opened before the clock starts):

* ``50 x pg_sleep(0.2) at once``: 50 green threads, one connection each, all running
  ``SELECT pg_sleep(0.2)``; wall time in ms (0.2 s is the floor; serial would be 10 s);
* ``SELECT 1, 1 green thread``: one connection, queries one after the other (queries/s): the
  cost of each wait on the hub, as the server answers at once;
* ``SELECT 1, 50 green threads``: 50 connections, each with its own green thread (queries/s).

    .venv/bin/python benchmarks/bench_pg.py                     # about a minute
    .venv/bin/python benchmarks/bench_pg.py --rounds 1 --scale 0.3
    .venv/bin/python benchmarks/bench_pg.py --dsn "host=127.0.0.1 port=5432 user=postgres"
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import _harness
from _harness import Cell, Report, Row

LIBS = ["greenlane", "eventlet", "gevent"]
CONCURRENCY = 50
SLEEP = 0.2
N_SELECT_ONE = 3_000  # queries per timed run at --scale 1, for each SELECT 1 row

WORKLOADS = [
    ("psycopg2", f"{CONCURRENCY} x pg_sleep({SLEEP}) at once", "ms", False),
    ("psycopg2", "SELECT 1, 1 green thread", "queries/s", True),
    ("psycopg2", f"SELECT 1, {CONCURRENCY} green threads", "queries/s", True),
    ("psycopg", f"{CONCURRENCY} x pg_sleep({SLEEP}) at once", "ms", False),
    ("psycopg", "SELECT 1, 1 green thread", "queries/s", True),
    ("psycopg", f"SELECT 1, {CONCURRENCY} green threads", "queries/s", True),
]


def _row_name(driver: str, workload: str) -> str:
    return f"{'psycopg 3' if driver == 'psycopg' else driver}: {workload}"


# ---------------------------------------------------------------------- child side
class _Green:
    """spawn/wait for one library, bound once."""

    def __init__(self, lib: str) -> None:
        self.lib = lib
        if lib == "gevent":
            import gevent

            self.spawn: Callable[..., Any] = gevent.spawn
            self.join_all: Callable[[List[Any]], Any] = gevent.joinall
        else:
            module = importlib.import_module(lib)
            self.spawn = module.spawn
            self.join_all = lambda threads: [gt.wait() for gt in threads]


def _patch(lib: str) -> None:
    if lib == "greenlane":
        import greenlane

        greenlane.monkey_patch()
    elif lib == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    else:
        from gevent import monkey

        monkey.patch_all()
        try:
            import psycogreen.gevent

            psycogreen.gevent.patch_psycopg()
        except ImportError:
            _gevent_wait_callback()


def _gevent_wait_callback() -> None:
    # psycopg2's documented recipe, for when psycogreen is not installed.
    import psycopg2.extensions
    from gevent.socket import wait_read, wait_write

    def wait(conn: Any, timeout: Optional[float] = None) -> None:
        while True:
            state = conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            if state == psycopg2.extensions.POLL_READ:
                wait_read(conn.fileno(), timeout=timeout)
            elif state == psycopg2.extensions.POLL_WRITE:
                wait_write(conn.fileno(), timeout=timeout)
            else:
                raise psycopg2.OperationalError(f"bad state from poll: {state}")

    psycopg2.extensions.set_wait_callback(wait)


def _connect_many(green: _Green, driver: Any, dsn: str, count: int) -> List[Any]:
    threads = [green.spawn(driver.connect, dsn) for _ in range(count)]
    if green.lib == "gevent":
        green.join_all(threads)
        return [gt.value for gt in threads]
    return [gt.wait() for gt in threads]


def _run_all(green: _Green, fn: Callable[..., Any], args: List[Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    threads = [green.spawn(fn, arg) for arg in args]
    green.join_all(threads)
    for gt in threads:
        if green.lib == "gevent" and gt.exception is not None:
            raise gt.exception
    return time.perf_counter() - start


def _query(conn: Any, sql: str, repeat: int = 1) -> None:
    cur = conn.cursor()
    for _ in range(repeat):
        cur.execute(sql)
        cur.fetchall()
    cur.close()


def _constant(value: Cell) -> Callable[[float], Cell]:
    return lambda scale: value


def _workloads(lib: str, driver_name: str, dsn: str) -> Dict[str, Callable[[float], Cell]]:
    names = [_row_name(driver_name, name) for drv, name, _, _ in WORKLOADS
             if drv == driver_name]
    if driver_name == "psycopg" and lib == "eventlet":
        return {name: _constant("n/a (no psycopg 3 support)") for name in names}
    green = _Green(lib)
    try:
        driver = importlib.import_module(driver_name)
    except ImportError as exc:
        return {name: _constant(f"n/a ({exc})") for name in names}
    conns = _connect_many(green, driver, dsn, CONCURRENCY)
    for conn in conns:
        conn.autocommit = True

    def sleep_all(scale: float) -> Cell:
        return 1000 * _run_all(green, lambda c: _query(c, f"SELECT pg_sleep({SLEEP})"), conns)

    def select_one(scale: float) -> Cell:
        n = max(10, int(N_SELECT_ONE * scale))
        return n / _run_all(green, lambda c: _query(c, "SELECT 1", n), conns[:1])

    def select_many(scale: float) -> Cell:
        each = max(1, int(N_SELECT_ONE * scale) // CONCURRENCY)
        return each * CONCURRENCY / _run_all(green, lambda c: _query(c, "SELECT 1", each), conns)

    return dict(zip(names, [sleep_all, select_one, select_many]))


def _version(lib: str) -> str:
    module = importlib.import_module(lib)
    return str(getattr(module, "__version__", "?"))


def child(lib: str, dsn: str, scale: float, only: Optional[List[str]]) -> None:
    _harness.quiet_warnings()
    _patch(lib)
    _harness.emit_meta(_version(lib))
    for driver_name in ("psycopg2", "psycopg"):
        workloads = {name: fn for name, fn in _workloads(lib, driver_name, dsn).items()
                     if not only or name in only}
        _harness.run_workloads(lib, workloads, scale, warmup=False)


# ---------------------------------------------------------------------- parent side
def _all_row_names() -> List[str]:
    return [_row_name(driver, name) for driver, name, _, _ in WORKLOADS]


def build_report(only: Optional[List[str]]) -> Report:
    rows = [Row(_row_name(driver, name), unit, higher_is_better=higher)
            for driver, name, unit, higher in WORKLOADS
            if not only or _row_name(driver, name) in only]
    return Report(key="pg", title="PostgreSQL from green threads", libs=list(LIBS), rows=rows)


def _cluster() -> Any:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests._services import PostgresCluster

    return PostgresCluster()


def main(argv: Optional[List[str]] = None) -> int:
    parser = _harness.workload_parser(__doc__, list(LIBS), rounds=3)
    parser.add_argument("--dsn", default="", help="use this server instead of starting one")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    only = _harness.parse_only(args.only, _all_row_names())

    if args.child:
        child(args.child, args.dsn, args.scale, only)
        return 0

    cluster = None
    dsn = args.dsn
    if not dsn:
        cluster = _cluster()
        problem = cluster.problem()
        if problem:
            raise SystemExit(f"cannot start PostgreSQL: {problem} (or pass --dsn)")
        dsn = cluster.start().dsn
    try:
        report = build_report(only)
        report.libs = [lib for lib in args.libs.split(",") if lib]
        report.stamp()
        report.notes.append(
            f"Connections are opened before timing. pg_sleep rows: wall time of {CONCURRENCY} "
            f"concurrent queries (floor {SLEEP * 1000:.0f} ms; one at a time: "
            f"{CONCURRENCY * SLEEP:.0f} s). SELECT 1 rows: {int(N_SELECT_ONE * args.scale):,} "
            "queries per run against a local server, so they measure each library's wait "
            "on libpq's socket. gevent waits for psycopg2 with psycogreen, for psycopg 3 with "
            "psycopg's own select-based wait under gevent's patching. "
            + _harness.rounds_note(args.rounds, args.cpu))
        extra = ["--scale", str(args.scale), "--dsn", dsn]
        if args.only:
            extra += ["--only", args.only]
        _harness.run_children(os.path.abspath(__file__), report, args.cpu or None,
                              args.rounds, extra)
        report.publish(args.json)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
