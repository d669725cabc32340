"""Blocking calls made cooperative: thread-pool round trip, subprocess round trip, getaddrinfo.

Runs the same workloads on greenlane, eventlet and gevent, each library in its own child
process pinned with taskset, and prints a Markdown table of operations per second (best of
``--rounds``) with the ratios greenlane/eventlet and greenlane/gevent.

    .venv/bin/python benchmarks/bench_blocking.py               # default, about a minute
    .venv/bin/python benchmarks/bench_blocking.py --only "tpool round trip" --rounds 7
    .venv/bin/python benchmarks/bench_blocking.py --child greenlane   # one library, raw lines

Each workload is one green thread doing the call over and over, so a row measures the latency
of one round trip (its inverse):

* tpool round trip: run a no-op in the library's thread pool and get the result back
  (``tpool.execute``; gevent: ``get_hub().threadpool.apply``);
* subprocess round trip: ``subprocess.run(["true"])`` after the library's full monkey patch;
* getaddrinfo("localhost", 80) after the full monkey patch (greenlane and gevent: the system
  resolver in the thread pool; eventlet: its own dnspython-based resolver, which answers from
  its parsed copy of /etc/hosts).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import _harness
from _harness import Cell, Report, Row, Target

LIBS = ["greenlane", "eventlet", "gevent"]
ROUND_TRIP_TARGET = Target(vs_eventlet=2.0, vs_gevent=1.0)

# Operations per timed run at --scale 1: each row takes well under a second on every library
# (eventlet's subprocess wait sleeps 10 ms per check, hence the small count).
N_TPOOL = 20_000
N_SUBPROCESS = 200
N_GETADDRINFO = 5_000


def _timed(n: int, call: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        call()
    return n / (time.perf_counter() - start)


def _noop() -> None:
    pass


# ---------------------------------------------------------------------- per library
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


def _pool_call(lib: str) -> Callable[[Callable[[], Any]], Any]:
    if lib == "greenlane":
        from greenlane import tpool

        return tpool.execute
    if lib == "eventlet":
        from eventlet import tpool as etpool

        return etpool.execute
    import gevent

    return gevent.get_hub().threadpool.apply  # type: ignore[no-any-return]


def _version(lib: str) -> str:
    module = __import__(lib)
    return str(getattr(module, "__version__", "?"))


def tpool_round_trip(lib: str, scale: float) -> float:
    execute = _pool_call(lib)
    return _timed(max(1, int(N_TPOOL * scale)), lambda: execute(_noop))


def subprocess_round_trip(lib: str, scale: float) -> float:
    import subprocess

    run = subprocess.run
    return _timed(max(1, int(N_SUBPROCESS * scale)), lambda: run(["true"]))


def getaddrinfo_localhost(lib: str, scale: float) -> float:
    import socket

    getaddrinfo = socket.getaddrinfo
    if lib == "greenlane" and not getaddrinfo.__module__.startswith("greenlane"):
        # The patcher does not put the green resolver into socket yet: measure it directly.
        from greenlane.green import _dns

        sys.stderr.write("note: socket.getaddrinfo is not patched yet; measuring "
                         "greenlane.green._dns.getaddrinfo\n")
        getaddrinfo = _dns.getaddrinfo
    return _timed(max(1, int(N_GETADDRINFO * scale)), lambda: getaddrinfo("localhost", 80))


WORKLOADS: Dict[str, Callable[[str, float], float]] = {
    "tpool round trip": tpool_round_trip,
    "subprocess.run(['true'])": subprocess_round_trip,
    "getaddrinfo('localhost', 80)": getaddrinfo_localhost,
}

UNITS = {
    "tpool round trip": "calls/s",
    "subprocess.run(['true'])": "runs/s",
    "getaddrinfo('localhost', 80)": "calls/s",
}

TARGETS: Dict[str, Optional[Target]] = {
    "tpool round trip": ROUND_TRIP_TARGET,
    "subprocess.run(['true'])": ROUND_TRIP_TARGET,
    "getaddrinfo('localhost', 80)": None,
}


def child(lib: str, scale: float, only: Optional[List[str]]) -> None:
    _harness.quiet_warnings()
    try:
        _patch(lib)
    except Exception as exc:  # noqa: BLE001 - report, do not crash the whole table
        cell: Cell = _harness.NA if lib == "greenlane" and _harness.is_missing_greenlane(exc) \
            else f"error: {exc}"
        for name in WORKLOADS:
            _harness.emit(name, cell)
        return
    _harness.emit_meta(_version(lib))
    chosen = {name: fn for name, fn in WORKLOADS.items() if not only or name in only}

    def bind(fn: Callable[[str, float], float]) -> Callable[[float], Cell]:
        return lambda s: fn(lib, s)

    _harness.run_workloads(lib, {name: bind(fn) for name, fn in chosen.items()}, scale)


def build_report(only: Optional[List[str]]) -> Report:
    rows = [Row(name, UNITS[name], target=TARGETS[name])
            for name in WORKLOADS if not only or name in only]
    return Report(key="blocking", title="Blocking calls made cooperative (ops/s, higher is better)",
                  libs=list(LIBS), rows=rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = _harness.workload_parser(__doc__, list(LIBS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    only = _harness.parse_only(args.only, list(WORKLOADS))

    if args.child:
        child(args.child, args.scale, only)
        return 0

    report = build_report(only)
    report.libs = [lib for lib in args.libs.split(",") if lib]
    report.stamp()
    report.notes.append(
        f"Sizes at --scale {args.scale:g}: {int(N_TPOOL * args.scale):,} pool calls, "
        f"{int(N_SUBPROCESS * args.scale):,} runs, {int(N_GETADDRINFO * args.scale):,} "
        "look-ups, each made one after the other by one green thread (so a row is the inverse "
        "of one round trip's latency). gevent's pool call is get_hub().threadpool.apply. "
        "eventlet answers getaddrinfo('localhost') from its own parsed /etc/hosts (dnspython "
        "installed); greenlane and gevent ask the system resolver in a pool thread. "
        + _harness.rounds_note(args.rounds, args.cpu))
    _harness.run_scaled(__file__, report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
