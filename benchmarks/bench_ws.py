"""WebSocket echo servers: greenlane.websocket vs eventlet.websocket vs gevent + simple-websocket.

Each server runs in its own process pinned to core 0 (``--serve``), an echo handler behind its
library's WSGI server; the load generator is another process pinned to core 1 (``--load``).
Workloads:

* echo of small text messages (32 bytes), 50 connections, one message in flight on each;
* echo of 64 KiB binary messages, 10 connections, one in flight on each;
* 10,000 idle WebSocket connections (handshake done, handler parked in ``wait()``): the
  server's RSS growth per connection, read from /proc.

Each echo row reports messages/s and the server's CPU time per message (user + system from
/proc during the run), which hardly depends on how much of its core the server got from the
other processes on this shared machine.

The load generator is written for speed and for fairness: plain sockets and one epoll loop in
one process, messages framed (and masked, with a fixed key) once before the run, replies
counted by length rather than parsed. It needs about a tenth of a core per 10k messages/s, so
it is not what limits the servers here (its own CPU share is printed).

gevent has no WebSocket support of its own; the peer here is ``simple-websocket`` (on
``wsproto``) over ``gevent.pywsgi`` with ``gevent.monkey.patch_all()``: it is maintained, and it
is what python-engineio / Flask-SocketIO use under gevent when the unmaintained (since 2017)
gevent-websocket is not installed, i.e. what such an application runs today. It reads with
``receive_bytes=65536`` here instead of its default 4096, which would penalise the 64 KiB
messages.

    .venv/bin/python benchmarks/bench_ws.py                       # about 2 minutes
    .venv/bin/python benchmarks/bench_ws.py --rounds 3 --duration 5
    .venv/bin/python benchmarks/bench_ws.py --only "echo 32 B" --servers greenlane,eventlet
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import _harness
from _harness import NA, Report, Row, Target

SERVERS = ["greenlane", "eventlet", "gevent"]
SERVER_CPU = "0"
CLIENT_CPU = "1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MASK = b"\x12\x34\x56\x78"
KEY = base64.b64encode(b"greenlane-bench!").decode()


# ====================================================================== server side
def serve(server: str) -> int:
    """Child process: an echo WebSocket server on an ephemeral loopback port, forever."""
    _harness.quiet_warnings()
    _harness.raise_nofile_limit()
    if server in ("greenlane", "eventlet"):
        try:
            mod = __import__(server)
            wsgi = __import__(f"{server}.wsgi", fromlist=["server"])
            websocket = __import__(f"{server}.websocket", fromlist=["WebSocketWSGI"])
        except ImportError as exc:
            if server == "greenlane" and _harness.is_missing_greenlane(exc):
                print("NA", flush=True)
                return 3
            raise

        @websocket.WebSocketWSGI
        def echo(ws: Any) -> None:
            wait = ws.wait
            send = ws.send
            while True:
                message = wait()
                if message is None:
                    break
                send(message)

        sock = mod.listen(("127.0.0.1", 0), backlog=4096)
        print(f"READY {sock.getsockname()[1]}", flush=True)
        # max_size: the default pool of 1,024 would cap the 10k idle-connection test.
        wsgi.server(sock, echo, log_output=False, max_size=100_000)
    elif server == "gevent":
        from gevent import monkey

        monkey.patch_all()
        import simple_websocket
        from gevent.pywsgi import WSGIServer

        def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
            ws = simple_websocket.Server.accept(environ, receive_bytes=65536,
                                                max_message_size=8 << 20)
            try:
                while True:
                    message = ws.receive()
                    if message is None:
                        break
                    ws.send(message)
            except simple_websocket.ConnectionClosed:
                pass
            start_response("200 OK", [])
            return []

        wsgi_server = WSGIServer(("127.0.0.1", 0), app, log=None, error_log=None,
                                 backlog=4096)
        wsgi_server.init_socket()
        print(f"READY {wsgi_server.server_port}", flush=True)
        wsgi_server.serve_forever()
    else:
        raise SystemExit(f"unknown server {server!r}")
    return 0


# ====================================================================== client side
def frame(payload: bytes, text: bool) -> bytes:
    """A masked client frame (fixed key: the server's cost is the same for any key)."""
    n = len(payload)
    first = 0x81 if text else 0x82
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 65536:
        head = bytes((first, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, 0x80 | 127)) + n.to_bytes(8, "big")
    masked = bytes(b ^ MASK[i & 3] for i, b in enumerate(payload))
    return head + MASK + masked


def reply_length(n: int) -> int:
    """Bytes of the server's (unmasked, uncompressed) frame echoing ``n`` payload bytes."""
    return n + (2 if n < 126 else 4 if n < 65536 else 10)


UPGRADE = ("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + "\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode()


def open_websockets(port: int, count: int, batch: int = 500) -> List[socket.socket]:
    """``count`` connections whose opening handshake completed (101 received)."""
    socks: List[socket.socket] = []
    while len(socks) < count:
        group = []
        for _ in range(min(batch, count - len(socks))):
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(UPGRADE)
            group.append(s)
        for s in group:
            head = b""
            while b"\r\n\r\n" not in head:
                data = s.recv(4096)
                if not data:
                    raise RuntimeError("server closed a connection during the handshake")
                head += data
            if not head.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"handshake refused: {head[:60]!r}")
        socks.extend(group)
    return socks


def load(port: int, conns: int, size: int, text: bool, duration: float) -> int:
    """Child process: echo load; prints READY after connecting, runs on a line from stdin,
    then prints one RESULT line."""
    payload = (b"x" * size) if text else os.urandom(size)
    message = frame(payload, text)
    expect = reply_length(size)
    socks = open_websockets(port, conns)
    poller = select.epoll()
    received: Dict[int, int] = {}
    by_fd: Dict[int, socket.socket] = {}
    for s in socks:
        # Blocking without a timeout: a timeout makes every send a poll() plus a send().
        # recv is only called when epoll says there is data; the parent kills a stuck run.
        s.settimeout(None)
        poller.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = s
        received[s.fileno()] = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)

    def run(seconds: float) -> Tuple[int, float]:
        for s in socks:
            s.sendall(message)
        done = 0
        started = time.perf_counter()
        deadline = started + seconds
        while True:
            for fd, _ in poller.poll(1.0):
                n = by_fd[fd].recv_into(view)
                if not n:
                    raise RuntimeError("the server closed a connection")
                got = received[fd] + n
                k, got = divmod(got, expect)
                received[fd] = got
                if k:
                    done += k
                    by_fd[fd].sendall(message * k)
            now = time.perf_counter()
            if now >= deadline:
                return done, now - started

    def drain() -> None:
        # Let the messages still in flight come back, so the next run starts clean.
        quiet_since = time.perf_counter()
        while time.perf_counter() - quiet_since < 0.2:
            for fd, _ in poller.poll(0.05):
                n = by_fd[fd].recv_into(view)
                received[fd] = (received[fd] + n) % expect
                quiet_since = time.perf_counter()

    run(min(1.0, duration / 4))  # warm-up (JIT, caches, TCP windows)
    drain()
    print("READY", flush=True)
    sys.stdin.readline()
    cpu_before = time.process_time()
    done, elapsed = run(duration)
    cpu = time.process_time() - cpu_before
    print(_harness.RESULT_PREFIX + json.dumps({"messages": done, "seconds": elapsed,
                                               "client_cpu": cpu}), flush=True)
    drain()
    for s in socks:
        s.close()
    return 0


# ====================================================================== parent side
class ServerProcess:
    """A server child pinned to SERVER_CPU; ``port`` is None when it is not available."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.port: Optional[int] = None
        self.status = ""
        argv = _harness.pinned(SERVER_CPU, [sys.executable, os.path.abspath(__file__),
                                            "--serve", server])
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line.startswith("READY "):
            self.port = int(line.split()[1])
        elif line == "NA":
            self.status = NA
        else:
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.status = f"error: {err.strip().splitlines()[-1] if err.strip() else line}"[:100]
            sys.stderr.write(f"--- {server} failed to start:\n{err[-2000:]}\n")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Workload:
    def __init__(self, key: str, size: int, text: bool, conns: int) -> None:
        self.key = key
        self.size = size
        self.text = text
        self.conns = conns


WORKLOADS = [
    Workload("echo 32 B", 32, True, 50),
    Workload("echo 64 KiB", 65536, False, 10),
]


def run_echo(proc: ServerProcess, wl: Workload, duration: float
             ) -> Tuple[float, float, float]:
    """(messages/s, server CPU us/message, client CPU share) of one run."""
    assert proc.port is not None
    argv = _harness.pinned(CLIENT_CPU, [
        sys.executable, os.path.abspath(__file__), "--load", str(proc.port),
        "--conns", str(wl.conns), "--size", str(wl.size), "--duration", str(duration)]
        + (["--text"] if wl.text else []))
    client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert client.stdin is not None and client.stdout is not None
    # A server that stops answering would leave the load generator blocked forever.
    watchdog = threading.Timer(duration + 60, client.kill)
    watchdog.start()
    try:
        line = client.stdout.readline().strip()
        if line != "READY":
            err = client.stderr.read() if client.stderr else ""
            raise RuntimeError(f"load generator failed: {line} {err[-500:]}")
        cpu_before = proc.cpu_seconds()
        client.stdin.write("go\n")
        client.stdin.flush()
        result = None
        for line in client.stdout:
            if line.startswith(_harness.RESULT_PREFIX):
                result = json.loads(line[len(_harness.RESULT_PREFIX):])
                break
        cpu = proc.cpu_seconds() - cpu_before
        client.wait(timeout=60)
    finally:
        watchdog.cancel()
        if client.poll() is None:
            client.kill()
            client.wait()
    if result is None or not result["messages"]:
        err = client.stderr.read() if client.stderr else ""
        raise RuntimeError(f"no messages echoed {err[-500:]}")
    rate = result["messages"] / result["seconds"]
    return rate, cpu / result["messages"] * 1e6, result["client_cpu"] / result["seconds"]


def run_idle(proc: ServerProcess, count: int) -> Tuple[float, str]:
    """(RSS growth per idle WebSocket in KiB, note)."""
    assert proc.port is not None
    warm = open_websockets(proc.port, 50)
    for s in warm:
        s.close()
    time.sleep(0.5)
    before = proc.rss_kib()
    socks = open_websockets(proc.port, count)
    time.sleep(1.0)
    after = proc.rss_kib()
    # Still open? A server that dropped connections would look cheap.
    alive = sum(1 for s in socks if _is_open(s))
    for s in socks:
        s.close()
    if alive < count:
        raise RuntimeError(f"only {alive} of {count} connections still open")
    note = (f"{proc.server}: RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB with "
            f"{count:,} idle WebSockets")
    if proc.server == "gevent" and count < 10_000:
        note += (" (simple-websocket holds two descriptors per connection; the open-files "
                 "limit allowed no more)")
    return (after - before) / count, note


def _is_open(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0,
                        help="seconds per echo run (default 4)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs per server and workload; the best is kept (default 2)")
    parser.add_argument("--idle", type=int, default=10_000,
                        help="idle WebSockets for the RSS test (0 = skip; default 10000)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated servers")
    parser.add_argument("--only", default="",
                        help="comma-separated workloads: 'echo 32 B', 'echo 64 KiB', 'idle'")
    parser.add_argument("--json", help="also write the results here (run_all.py reads it)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--conns", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--text", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        return serve(args.serve)
    if args.load:
        return load(args.load, args.conns, args.size, args.text, args.duration)

    limit = _harness.raise_nofile_limit()
    if args.idle + 200 > limit:
        sys.exit(f"open-files limit is {limit}: too low for --idle {args.idle}")
    servers = [s for s in args.servers.split(",") if s]
    known = [wl.key for wl in WORKLOADS] + ["idle"]
    only = _harness.parse_only(args.only, known) or known
    workloads = [wl for wl in WORKLOADS if wl.key in only]

    rows: List[Row] = []
    for wl in workloads:
        conns = f"c={wl.conns}"
        rows += [
            Row(f"{wl.key} {conns}", "msg/s",
                target=Target(vs_eventlet=3.0) if wl.size < 1024 else None),
            Row(f"{wl.key} {conns} server CPU", "us/msg", higher_is_better=False),
        ]
    idle_row = f"idle x{args.idle:,}: RSS per connection"
    if "idle" in only and args.idle:
        rows.append(Row(idle_row, "KiB", higher_is_better=False,
                        target=Target(vs_eventlet=0.5)))
    report = Report(key="ws", title="WebSocket echo servers (server on core 0, load generator "
                                    "on core 1, loopback)", libs=servers, rows=rows)
    report.stamp()
    report.versions = _versions(servers)

    client_shares: List[float] = []
    idle_notes: List[str] = []
    for round_no in range(args.rounds):
        for name in servers:
            proc = ServerProcess(name)
            try:
                if proc.port is None:
                    for row in rows:
                        row.add_sample(name, proc.status)
                    continue
                for wl in workloads:
                    key = f"{wl.key} c={wl.conns}"
                    try:
                        rate, cpu_us, share = run_echo(proc, wl, args.duration)
                    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                        report.row(key).add_sample(name, f"error: {exc}"[:100])
                        continue
                    client_shares.append(share)
                    report.row(key).add_sample(name, rate)
                    report.row(f"{key} server CPU").add_sample(name, cpu_us)
                    sys.stderr.write(f"round {round_no + 1}/{args.rounds} {key:>18} {name:>9}: "
                                     f"{rate:9,.0f} msg/s, server {cpu_us:6.1f} us/msg, "
                                     f"load generator at {share:4.0%} of its core\n")
                if "idle" in only and args.idle and round_no == 0:
                    # simple-websocket dup()s each socket under gevent: two descriptors per
                    # connection, which the open-files limit may not allow for all of them.
                    count = args.idle
                    if name == "gevent":
                        count = min(count, (limit - 200) // 2)
                    try:
                        per_conn, note = run_idle(proc, count)
                        report.row(idle_row).add_sample(name, per_conn)
                        idle_notes.append(note)
                        sys.stderr.write(f"idle {name}: {per_conn:.2f} KiB/conn\n")
                    except (OSError, RuntimeError) as exc:
                        report.row(idle_row).add_sample(name, f"error: {exc}"[:100])
            finally:
                proc.stop()

    report.notes.append(
        f"{args.duration:g} s per echo run, best of {args.rounds} rounds; one message in "
        "flight per connection. 'server CPU' is the server process's user+system CPU time "
        "during the run divided by the messages echoed. The load generator used at most "
        f"{max(client_shares, default=0):.0%} of its core. gevent = gevent.pywsgi + "
        "simple-websocket (wsproto), monkey-patched.")
    if idle_notes:
        report.notes.append("Idle connections: " + "; ".join(idle_notes) + ".")
    report.publish(args.json)
    return 0


def _versions(servers: List[str]) -> Dict[str, str]:
    from importlib import metadata

    found = {}
    for name in servers + ["simple-websocket", "wsproto"]:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


if __name__ == "__main__":
    sys.exit(main())
