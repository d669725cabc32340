"""Profile one library on one core or I/O workload, to see where its time goes.

    .venv/bin/python benchmarks/prof.py core "sleep(0) switch"            # cProfile, greenlane
    .venv/bin/python benchmarks/prof.py io "echo 64 B, 1 client" --lib gevent
    .venv/bin/python benchmarks/prof.py core "spawn + join" --tool pyinstrument
    .venv/bin/python benchmarks/prof.py core "spawn + join" --tool none   # plain rate, no profiler

cProfile adds a fixed cost per Python call, so it inflates call-heavy paths; use its call
counts and relative ``tottime`` to find the hot functions, and the ``none`` tool (or ``perf
stat`` around it) for true per-operation cost. Runs in this process: pin it with taskset.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from typing import Callable, List, Optional

import _harness
from _apis import make_api


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=["core", "io"])
    parser.add_argument("workload", help="a row name of that suite's table")
    parser.add_argument("--lib", default="greenlane")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tool", choices=["cprofile", "pyinstrument", "none"],
                        default="cprofile")
    parser.add_argument("--top", type=int, default=25, help="functions to list (cProfile)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (cProfile)")
    args = parser.parse_args(argv)

    _harness.quiet_warnings()
    if args.suite == "core":
        import bench_core

        fn = bench_core.WORKLOADS[args.workload]
    else:
        import bench_io

        fn = bench_io.WORKLOADS[args.workload][2]
    api = make_api(args.lib)
    run: Callable[[], float] = lambda: fn(api, args.scale)  # noqa: E731
    fn(api, args.scale * 0.05)  # warm-up, unprofiled

    if args.tool == "none":
        start = time.perf_counter()
        rate = run()
        print(f"{args.lib} {args.workload}: {rate:,.0f}/s ({1e9 / rate:,.0f} ns per op), "
              f"{time.perf_counter() - start:.2f}s")
    elif args.tool == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        rate = run()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"rate under the profiler: {rate:,.0f}/s")
    else:
        profiler = cProfile.Profile()
        profiler.enable()
        rate = run()
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
        print(f"rate under the profiler: {rate:,.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
