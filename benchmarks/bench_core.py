"""Core micro-benchmarks: spawn, switch, queue, Event wake-up, Semaphore, side by side.

Runs the same workloads on greenlane, eventlet and gevent, each library in its own child
process pinned to one core, and prints a Markdown table of operations per second (best of
``--rounds``) with the ratios greenlane/eventlet and greenlane/gevent.

    .venv/bin/python benchmarks/bench_core.py                 # default, about 2 minutes
    .venv/bin/python benchmarks/bench_core.py --rounds 7 --scale 3   # longer, steadier
    .venv/bin/python benchmarks/bench_core.py --child greenlane       # one library, raw lines

Only each library's public API is used, the way an application would (eventlet and greenlane
share it; gevent's names differ: ``joinall``, ``Event.set``, ``gevent.lock.Semaphore``). The hot
loops call bound methods fetched once, so no adapter layer is measured.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Callable, Dict, List, Optional

import _harness
from _apis import GreenAPI, make_api
from _harness import Cell, Report, Row, Target

LIBS = ["greenlane", "eventlet", "gevent"]
CORE_TARGET = Target(vs_eventlet=2.0, vs_gevent=1.0)

# Workload sizes at --scale 1, chosen so the whole default run stays within about 2 minutes.
N_SPAWN = 100_000
N_SWITCH = 200_000
N_QUEUE = 100_000
N_WAITERS = 100_000
SEM_THREADS = 100
SEM_LIMIT = 10
SEM_ITERS = 1_000


# ---------------------------------------------------------------------- workloads
# Each takes the API and a scale factor and returns operations per second.

def _timed(fn: Callable[[], float]) -> float:
    gc.collect()
    start = time.perf_counter()
    ops = fn()
    return ops / (time.perf_counter() - start)


def spawn_join(api: GreenAPI, scale: float) -> float:
    """Spawn n green threads running a no-op, then wait for every one (per green thread)."""
    n = max(1, int(N_SPAWN * scale))
    spawn = api.spawn

    def noop() -> None:
        pass

    def run() -> float:
        threads = [spawn(noop) for _ in range(n)]
        api.join_all(threads)
        return n

    return _timed(run)


def sleep0_switch(api: GreenAPI, scale: float) -> float:
    """Two green threads alternating with sleep(0) (per sleep(0), i.e. per switch)."""
    n = max(1, int(N_SWITCH * scale) // 2)
    sleep = api.sleep_fn()

    def loop() -> None:
        for _ in range(n):
            sleep(0)

    def run() -> float:
        api.join_all([api.spawn(loop), api.spawn(loop)])
        return 2 * n

    return _timed(run)


def queue_pingpong(api: GreenAPI, scale: float, joinable: bool) -> float:
    """Two green threads bouncing a message through two queues (per message)."""
    n = max(1, int(N_QUEUE * scale) // 2)
    q1, q2 = api.queue(joinable), api.queue(joinable)

    def ping() -> None:
        put, get = q1.put, q2.get
        for i in range(n):
            put(i)
            get()

    def pong() -> None:
        put, get = q2.put, q1.get
        for _ in range(n):
            put(get())

    def run() -> float:
        api.join_all([api.spawn(ping), api.spawn(pong)])
        return 2 * n

    return _timed(run)


def event_wake(api: GreenAPI, scale: float) -> float:
    """n green threads wait on one Event; time from firing it until all resumed (per waiter).

    The timed phase is: fire, then each waiter resumes, counts itself and returns (so green
    thread exit is in it: CPython frees each greenlet's 16 KiB frame stack then, an munmap).
    Spawning and parking the waiters is not timed.
    """
    n = max(1, int(N_WAITERS * scale))
    wait, fire = api.event()
    done_wait, done_fire = api.event()
    sleep = api.sleep_fn()
    parked = 0
    pending = n

    def waiter() -> None:
        nonlocal parked, pending
        parked += 1
        wait()
        pending -= 1
        if not pending:
            done_fire()

    threads = [api.spawn(waiter) for _ in range(n)]
    while parked < n:
        sleep(0)
    # One more turn so the last starters are parked in wait(), not merely counted.
    sleep(0)
    gc.collect()
    start = time.perf_counter()
    fire()
    done_wait()
    elapsed = time.perf_counter() - start
    api.join_all(threads)
    return n / elapsed


def semaphore_contention(api: GreenAPI, scale: float) -> float:
    """100 green threads share Semaphore(10): acquire, sleep(0), release (per acquire/release)."""
    iters = max(1, int(SEM_ITERS * scale))
    sem = api.semaphore(SEM_LIMIT)
    sleep = api.sleep_fn()

    def worker() -> None:
        acquire, release = sem.acquire, sem.release
        for _ in range(iters):
            acquire()
            sleep(0)
            release()

    def run() -> float:
        api.join_all([api.spawn(worker) for _ in range(SEM_THREADS)])
        return SEM_THREADS * iters

    return _timed(run)


WORKLOADS: Dict[str, Callable[[GreenAPI, float], float]] = {
    "spawn + join": spawn_join,
    "sleep(0) switch": sleep0_switch,
    "queue ping-pong, LightQueue": lambda api, s: queue_pingpong(api, s, False),
    "queue ping-pong, Queue": lambda api, s: queue_pingpong(api, s, True),
    "Event wake 100k waiters": event_wake,
    "Semaphore(10), 100 threads": semaphore_contention,
}

UNITS = {
    "spawn + join": "threads/s",
    "sleep(0) switch": "switches/s",
    "queue ping-pong, LightQueue": "msgs/s",
    "queue ping-pong, Queue": "msgs/s",
    "Event wake 100k waiters": "wakes/s",
    "Semaphore(10), 100 threads": "acq+rel/s",
}


def greenlet_floor(scale: float) -> Dict[str, float]:
    """What greenlet itself costs, with no library around it (the floor of two rows).

    "spawn": create a bare greenlet, start it from a minimal loop greenlet draining a deque,
    let it exit (the "spawn + join" row minus every library's bookkeeping). "switch": one
    green thread yielding through that loop (the "sleep(0) switch" row minus the library).
    Run with ``--floor``; the numbers say how close to greenlet's own cost a row can get.
    """
    from collections import deque

    from greenlet import getcurrent, greenlet

    n = max(1, int(N_SPAWN * scale))
    ready: deque[tuple[Callable[..., object], tuple[object, ...]]] = deque()
    main = getcurrent()

    def loop() -> None:
        pop = ready.popleft
        while ready:
            fn, args = pop()
            fn(*args)
        main.switch()

    def noop() -> None:
        pass

    def spawn_run() -> float:
        hub = greenlet(loop)
        for _ in range(n):
            ready.append((greenlet(noop, hub).switch, ()))
        hub.switch()
        return n

    def switch_run() -> float:
        hub = greenlet(loop)

        def yielder() -> None:
            for _ in range(n):
                ready.append((getcurrent().switch, ()))
                hub.switch()

        ready.append((greenlet(yielder, hub).switch, ()))
        hub.switch()
        return n

    return {"spawn": max(_timed(spawn_run) for _ in range(5)),
            "switch": max(_timed(switch_run) for _ in range(5))}


def child(lib: str, scale: float, only: Optional[List[str]]) -> None:
    _harness.quiet_warnings()
    try:
        api = make_api(lib)
    except Exception as exc:  # noqa: BLE001 - report, do not crash the whole table
        cell: Cell = _harness.NA if lib == "greenlane" and _harness.is_missing_greenlane(exc) \
            else f"error: {exc}"
        for name in WORKLOADS:
            _harness.emit(name, cell)
        return
    _harness.emit_meta(api.version())
    chosen = {name: fn for name, fn in WORKLOADS.items() if not only or name in only}

    def bind(fn: Callable[[GreenAPI, float], float]) -> Callable[[float], Cell]:
        return lambda s: fn(api, s)

    _harness.run_workloads(lib, {name: bind(fn) for name, fn in chosen.items()}, scale)


def build_report(only: Optional[List[str]]) -> Report:
    rows = [Row(name, UNITS[name], target=CORE_TARGET)
            for name in WORKLOADS if not only or name in only]
    return Report(key="core", title="Core primitives (one core, ops/s, higher is better)",
                  libs=list(LIBS), rows=rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = _harness.workload_parser(__doc__, list(LIBS))
    parser.add_argument("--floor", action="store_true",
                        help="only measure bare greenlet spawn/switch (no library), in this "
                             "process; pin it with taskset")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        for name, rate in greenlet_floor(args.scale).items():
            print(f"bare greenlet {name}: {rate:,.0f}/s")
        return 0
    only = _harness.parse_only(args.only, list(WORKLOADS))

    if args.child:
        child(args.child, args.scale, only)
        return 0

    report = build_report(only)
    report.libs = [lib for lib in args.libs.split(",") if lib]
    report.stamp()
    report.notes.append(
        f"Sizes at --scale {args.scale:g}: spawn {int(N_SPAWN * args.scale):,}; switch "
        f"{int(N_SWITCH * args.scale):,}; queue {int(N_QUEUE * args.scale):,} messages "
        "(LightQueue row: gevent.queue.Queue; Queue row: gevent.queue.JoinableQueue, which "
        "like eventlet's Queue supports task_done/join); "
        f"{int(N_WAITERS * args.scale):,} Event waiters (timed from firing until every "
        "waiter has resumed and returned); "
        f"semaphore {SEM_THREADS} threads x {int(SEM_ITERS * args.scale):,} iterations. "
        + _harness.rounds_note(args.rounds, args.cpu))
    _harness.run_scaled(__file__, report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
