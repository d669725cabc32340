"""Green socket I/O in one process: echo round trips, connect+accept, bulk transfer.

Server and clients run in the same process (and hub) pinned to one core, so every number is
the library's whole cost for both ends of the connection. Each library serves and connects with
its idiomatic server API: ``listen``/``serve`` for greenlane and eventlet, ``StreamServer`` for
gevent. Clients connect the same way everywhere (``_connector``): the library's green socket,
then ``connect()`` to the numeric address, with no name lookup. The client loops are the same
code for every library. All sockets set TCP_NODELAY.

    .venv/bin/python benchmarks/bench_io.py                  # default, about 2 minutes
    .venv/bin/python benchmarks/bench_io.py --rounds 5 --scale 3
    .venv/bin/python benchmarks/bench_io.py --floor          # syscalls alone, no green threads
"""

from __future__ import annotations

import argparse
import gc
import os
import socket
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import _harness
from _apis import GreenAPI, make_api, nodelay
from _harness import Cell, Report, Row, Target

LIBS = ["greenlane", "eventlet", "gevent"]
KIB = 1024
MIB = 1024 * KIB

# Sizes at --scale 1.
N_SMALL_ROUNDTRIPS = 40_000
N_LARGE_ROUNDTRIPS = 15_000
N_CONNECTS = 8_000
CONNECT_CLIENTS = 10
BULK_TOTAL = 2048 * MIB
BULK_CHUNK = 1 * MIB


def _connector(api: GreenAPI) -> Callable[[Any], Any]:
    """A function connecting a new green TCP socket to an address, the same way for each library.

    ``connect`` of greenlane and eventlet is socket() + connect(). gevent's idiomatic
    ``create_connection`` would also resolve the address with ``getaddrinfo`` through gevent's
    thread pool on every call, which measures its resolver, not its sockets.
    """
    if api.name != "gevent":
        return api.connect
    import gevent.socket

    make = gevent.socket.socket

    def connect(address: Any) -> Any:
        sock = make(socket.AF_INET, socket.SOCK_STREAM)
        sock.connect(address)
        return sock

    return connect


def _echo_handler(conn: Any, _addr: Any) -> None:
    nodelay(conn)
    recv, sendall = conn.recv, conn.sendall
    try:
        while True:
            data = recv(65536)
            if not data:
                break
            sendall(data)
    finally:
        conn.close()


def echo(api: GreenAPI, scale: float, size: int, clients: int, total: int) -> float:
    """``clients`` connections each doing send-``size``-bytes / read-them-back (per round trip)."""
    per_client = max(1, int(total * scale) // clients)
    address, stop = api.serve(_echo_handler)
    connect = _connector(api)
    socks = [connect(address) for _ in range(clients)]
    for s in socks:
        nodelay(s)
    message = b"x" * size

    def client(sock: Any) -> None:
        sendall, recv_into = sock.sendall, sock.recv_into
        view = memoryview(bytearray(size))
        for _ in range(per_client):
            sendall(message)
            got = 0
            while got < size:
                n = recv_into(view[got:])
                if not n:
                    raise EOFError("echo server closed the connection")
                got += n

    try:
        gc.collect()
        start = time.perf_counter()
        api.join_all([api.spawn(client, s) for s in socks])
        elapsed = time.perf_counter() - start
    finally:
        for s in socks:
            s.close()
        stop()
    return per_client * clients / elapsed


def connect_accept(api: GreenAPI, scale: float) -> float:
    """Clients connect, the server accepts and closes, the client sees EOF (per connection)."""
    per_client = max(1, int(N_CONNECTS * scale) // CONNECT_CLIENTS)

    def handler(conn: Any, _addr: Any) -> None:
        conn.close()

    address, stop = api.serve(handler)
    connect = _connector(api)

    def client() -> None:
        for _ in range(per_client):
            sock = connect(address)
            # EOF proves the server accepted and ran the handler for this connection.
            sock.recv(1)
            sock.close()

    try:
        gc.collect()
        start = time.perf_counter()
        api.join_all([api.spawn(client) for _ in range(CONNECT_CLIENTS)])
        elapsed = time.perf_counter() - start
    finally:
        stop()
    return per_client * CONNECT_CLIENTS / elapsed


def bulk(api: GreenAPI, scale: float) -> float:
    """One connection: sendall(1 MiB) repeatedly, the peer recv_into()s it (MB/s, 10^6 bytes)."""
    chunks = max(1, int(BULK_TOTAL * scale) // BULK_CHUNK)
    received = 0
    done_wait, done_fire = api.event()

    def sink(conn: Any, _addr: Any) -> None:
        nonlocal received
        recv_into = conn.recv_into
        view = memoryview(bytearray(BULK_CHUNK))
        try:
            while True:
                n = recv_into(view)
                if not n:
                    break
                received += n
        finally:
            conn.close()
            done_fire()

    address, stop = api.serve(sink)
    sock = _connector(api)(address)
    payload = b"\0" * BULK_CHUNK
    try:
        gc.collect()
        start = time.perf_counter()
        sendall = sock.sendall
        for _ in range(chunks):
            sendall(payload)
        sock.close()
        done_wait()
        elapsed = time.perf_counter() - start
    finally:
        stop()
    if received != chunks * BULK_CHUNK:
        raise AssertionError(f"received {received} of {chunks * BULK_CHUNK} bytes")
    return received / elapsed / 1e6


# ---------------------------------------------------------------------- the syscall floor
def _floor_pair() -> tuple[Any, Any, Any]:
    """A connected loopback pair, non-blocking, both on one edge-triggered epoll."""
    import select

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    poller = select.epoll()
    for sock in (client, server):
        nodelay(sock)
        sock.setblocking(False)
        poller.register(sock.fileno(), select.EPOLLIN | select.EPOLLOUT | select.EPOLLET)
    return client, server, poller


def floor_echo(size: int, count: int) -> float:
    """Echo round trips/s making the syscalls a green library must make, and nothing else.

    One OS thread, no green threads: the client sends and tries to read (EAGAIN), epoll_wait
    reports the server readable, the server reads, sends back and tries again (EAGAIN),
    epoll_wait reports the client readable, the client reads. What a library adds on top of
    this rate is its own overhead (switches, registrations, wrappers).
    """
    client, server, poller = _floor_pair()
    message = b"x" * size
    view = memoryview(bytearray(size))
    poll = poller.poll
    try:
        start = time.perf_counter()
        for _ in range(count):
            client.sendall(message)
            try:
                got = client.recv_into(view)
            except BlockingIOError:
                got = 0
            echoed = 0
            while echoed < size:
                try:
                    data = server.recv(65536)
                except BlockingIOError:
                    poll(60)
                    continue
                server.sendall(data)
                echoed += len(data)
            try:
                server.recv(65536)
            except BlockingIOError:
                pass
            while got < size:
                try:
                    got += client.recv_into(view[got:])
                except BlockingIOError:
                    poll(60)
        return count / (time.perf_counter() - start)
    finally:
        poller.close()
        client.close()
        server.close()


def floor_connect(count: int) -> float:
    """connect+accept/s with the syscalls of one green connection and nothing else.

    socket() non-blocking, connect (EINPROGRESS), epoll register and wait, SO_ERROR, accept,
    the server's close, the client's read of EOF (after EAGAIN and a wait), unregister, close.
    """
    import select

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    address = listener.getsockname()
    poller = select.epoll()
    mask = select.EPOLLIN | select.EPOLLOUT | select.EPOLLET
    nonblocking_stream = socket.SOCK_STREAM | getattr(socket, "SOCK_NONBLOCK", 0)
    try:
        start = time.perf_counter()
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, nonblocking_stream)
            sock.setblocking(False)
            sock.connect_ex(address)
            poller.register(sock.fileno(), mask)
            poller.poll(60)
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            fd, _ = listener._accept()  # type: ignore[attr-defined]
            conn = socket.socket(fileno=fd)
            conn.setblocking(False)
            try:
                sock.recv(1)
            except BlockingIOError:
                pass
            conn.close()
            poller.poll(60)
            sock.recv(1)
            poller.unregister(sock.fileno())
            sock.close()
        return count / (time.perf_counter() - start)
    finally:
        poller.close()
        listener.close()


def print_floor(rounds: int) -> None:
    """Best of ``rounds`` for each floor workload, as rate and microseconds per operation."""
    cases: List[tuple[str, Callable[[], float]]] = [
        ("echo 64 B", lambda: floor_echo(64, 40_000)),
        ("echo 64 KiB", lambda: floor_echo(64 * KIB, 10_000)),
        ("connect+accept", lambda: floor_connect(8_000)),
    ]
    print("| workload | syscall floor (ops/s) | us per op |\n|---|---:|---:|")
    for name, fn in cases:
        best = max(fn() for _ in range(rounds))
        print(f"| {name} | {best:,.0f} | {1e6 / best:.1f} |")


RT_TARGET = Target(vs_eventlet=2.0, vs_gevent=1.0)

WORKLOADS: Dict[str, tuple[str, Target, Callable[[GreenAPI, float], float]]] = {
    "echo 64 B, 1 client": (
        "round trips/s", RT_TARGET, lambda a, s: echo(a, s, 64, 1, N_SMALL_ROUNDTRIPS)),
    "echo 64 B, 50 clients": (
        "round trips/s", RT_TARGET, lambda a, s: echo(a, s, 64, 50, N_SMALL_ROUNDTRIPS * 2)),
    "echo 64 KiB, 1 client": (
        "round trips/s", RT_TARGET, lambda a, s: echo(a, s, 64 * KIB, 1, N_LARGE_ROUNDTRIPS)),
    "echo 64 KiB, 50 clients": (
        "round trips/s", RT_TARGET, lambda a, s: echo(a, s, 64 * KIB, 50, N_LARGE_ROUNDTRIPS)),
    f"connect+accept, {CONNECT_CLIENTS} clients": ("conns/s", RT_TARGET, connect_accept),
    "bulk sendall 1 MiB / recv_into": ("MB/s", Target(vs_best_peer=0.9), bulk),
}


def child(lib: str, scale: float, only: Optional[List[str]]) -> None:
    _harness.quiet_warnings()
    chosen = [name for name in WORKLOADS if not only or name in only]
    try:
        api = make_api(lib)
    except Exception as exc:  # noqa: BLE001 - report, do not crash the whole table
        cell: Cell = _harness.NA if lib == "greenlane" and _harness.is_missing_greenlane(exc) \
            else f"error: {exc}"
        for name in chosen:
            _harness.emit(name, cell)
        return
    _harness.emit_meta(api.version())

    def bind(fn: Callable[[GreenAPI, float], float]) -> Callable[[float], Cell]:
        return lambda s: fn(api, s)

    _harness.run_workloads(lib, {name: bind(WORKLOADS[name][2]) for name in chosen}, scale)


def main(argv: Optional[List[str]] = None) -> int:
    parser = _harness.workload_parser(__doc__, list(LIBS))
    parser.add_argument("--floor", action="store_true",
                        help="measure only the syscall floor (plain sockets + epoll, one thread)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    only = _harness.parse_only(args.only, list(WORKLOADS))

    if args.floor:
        if args.cpu and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {int(args.cpu)})
        print_floor(args.rounds)
        return 0

    if args.child:
        child(args.child, args.scale, only)
        return 0

    rows = [Row(name, unit, target=target)
            for name, (unit, target, _) in WORKLOADS.items() if not only or name in only]
    report = Report(key="io", title="Green socket I/O in one process (one core, higher is better)",
                    libs=[lib for lib in args.libs.split(",") if lib], rows=rows)
    report.stamp()
    s = args.scale
    report.notes.append(
        f"Sizes at --scale {s:g}: echo 64 B {int(N_SMALL_ROUNDTRIPS * s):,} round trips (1 "
        f"client) / {int(N_SMALL_ROUNDTRIPS * 2 * s):,} (50 clients); echo 64 KiB "
        f"{int(N_LARGE_ROUNDTRIPS * s):,}; {int(N_CONNECTS * s):,} connections; bulk "
        f"{int(BULK_TOTAL * s) // MIB} MiB. " + _harness.rounds_note(args.rounds, args.cpu))
    _harness.run_scaled(__file__, report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
