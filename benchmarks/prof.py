"""Profile one library on one core or I/O workload, to see where its time goes.

    .venv/bin/python benchmarks/prof.py core "sleep(0) switch"            # cProfile, greenlane
    .venv/bin/python benchmarks/prof.py io "echo 64 B, 1 client" --lib gevent
    .venv/bin/python benchmarks/prof.py core "spawn + join" --tool pyinstrument
    .venv/bin/python benchmarks/prof.py core "spawn + join" --tool none   # plain rate, no profiler
    .venv/bin/python benchmarks/prof.py wsgi flask                         # the WSGI server's path
    .venv/bin/python benchmarks/prof.py wsgi flask --tool alone            # the app without it

The ``wsgi`` suite feeds keep-alive requests (``GET / HTTP/1.1`` with a Host field, as wrk
sends) to one greenlane connection through a stand-in socket: no syscalls, no other
connections, so what it shows is the server's own Python path (parse, environ, application,
response head) plus the application's. Workloads: ``hello`` (a bare WSGI app) and ``flask``
(the example app, ``examples/hello-app``). ``--tool alone`` runs the application in a plain
loop with the environ the server would build (what the application costs by itself, its
response iteration, ``close()`` and garbage included). Under ``valgrind --tool=callgrind``
with two ``--scale`` values, the difference of the instruction counts divided by the
difference of the request counts is the exact cost of one request, immune to the noise of a
shared machine.

cProfile adds a fixed cost per Python call, so it inflates call-heavy paths; use its call
counts and relative ``tottime`` to find the hot functions, and the ``none`` tool (or ``perf
stat`` around it) for true per-operation cost. Runs in this process: pin it with taskset.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from typing import Callable, List, Optional

import _harness
from _apis import make_api


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=["core", "io", "wsgi"])
    parser.add_argument("workload", help="a row name of that suite's table")
    parser.add_argument("--lib", default="greenlane")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tool", choices=["cprofile", "pyinstrument", "none", "alone"],
                        default="cprofile", help="alone: the wsgi suite's app without the server")
    parser.add_argument("--top", type=int, default=25, help="functions to list (cProfile)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (cProfile)")
    args = parser.parse_args(argv)

    _harness.quiet_warnings()
    if args.suite == "wsgi":
        return _profile_wsgi(args)
    if args.tool == "alone":
        parser.error("--tool alone is for the wsgi suite")
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


# ====================================================================== the wsgi suite
_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
_WSGI_REQUESTS = 20_000


class _StandInSocket:
    """Plays the client's side of a keep-alive connection: hands out ``count`` requests, one
    per ``recv_into``, then EOF; swallows responses."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.responses = 0

    def recv_into(self, buf: bytearray) -> int:
        if self.count <= 0:
            return 0
        self.count -= 1
        buf[:len(_REQUEST)] = _REQUEST
        return len(_REQUEST)

    def send(self, data: bytes) -> int:
        self.responses += 1
        return len(data)

    def close(self) -> None:
        pass

    def fileno(self) -> int:
        return -1


def _wsgi_app(name: str) -> Callable[..., object]:
    if name == "hello":
        def hello(environ: dict, start_response: Callable[..., object]) -> List[bytes]:
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
            return [b"Hello, World!"]
        return hello
    if name == "flask":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "examples", "hello-app"))
        from hello import create_app
        return create_app()  # type: ignore[no-any-return]
    raise SystemExit(f"unknown wsgi workload {name!r}: hello or flask")


def _profile_wsgi(args: argparse.Namespace) -> int:
    import gc

    from greenlet import greenlet

    import greenlane
    from greenlane._http1 import ServerConnection
    from greenlane.wsgi import Server
    from greenlane.wsgi._conn import Connection
    from greenlane.wsgi._input import Input

    app = _wsgi_app(args.workload)
    listener = greenlane.listen(("127.0.0.1", 0))
    server = Server(app, [listener], log_output=False, warn_if_root=False)
    info = server._listeners[0]

    def served(count: int) -> None:
        sock = _StandInSocket(count)
        conn = Connection(server, info, sock, ("127.0.0.1", 40000))
        conn._raw = sock  # type: ignore[assignment]  # the fast path, without a kernel
        greenlet(conn._serve).switch()
        assert sock.responses == count, (sock.responses, count)

    parser = ServerConnection()
    parser.receive_data(_REQUEST)
    request = parser.next_event()
    base = info.environ.build(info.environ.base, request, "127.0.0.1", "40000")

    class _Channel:
        request_count = 0
        peer_closed = False

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        return None

    def alone(count: int) -> None:
        for _ in range(count):
            env = base.copy()
            env["wsgi.input"] = env["eventlet.input"] = Input(_Channel(), parser, False)
            env["eventlet.posthooks"] = []
            env["eventlet.set_idle"] = None
            result = app(env, start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()

    fn = alone if args.tool == "alone" else served
    count = max(1, int(_WSGI_REQUESTS * args.scale))
    fn(max(1, count // 10))  # warm-up
    gc.collect()
    start = time.perf_counter()
    if args.tool == "cprofile":
        profiler = cProfile.Profile()
        profiler.enable()
        fn(count)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    elif args.tool == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        fn(count)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    else:
        fn(count)
    seconds = time.perf_counter() - start
    what = "application alone" if args.tool == "alone" else "served, socketless"
    print(f"{args.workload} ({what}): {seconds / count * 1e6:.1f} us per request"
          + (" under the profiler" if args.tool in ("cprofile", "pyinstrument") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
