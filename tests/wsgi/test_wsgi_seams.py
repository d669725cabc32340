"""The server's seams: capacity shared by several listeners, ``stop()`` from other threads and
signal handlers, the read-only connection view, the hijacked state, and Response/Input driven
through their channel protocols without a socket."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest

import greenlane
from greenlane import wsgi
from greenlane._http1 import Request, ServerConnection
from greenlane.wsgi import ConnectionInfo, ConnState, Server
from greenlane.wsgi._input import Input
from greenlane.wsgi._response import HeaderPolicy, Response

from ._wsgi_support import TIMEOUT, Client, RecordingLog, ServerThread, hello_app

StartResponse = Callable[..., Any]


def _raw_get(port: int, results: list[bytes], index: int) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            results[index] = data
    except OSError as exc:
        results[index] = f"error: {exc!r}".encode()


# -- capacity --------------------------------------------------------------------------------

def test_capacity_is_shared_by_every_listener() -> None:
    # Issue 7: with one capacity-waiter slot, the second accept loop to hit the limit
    # overwrote the first, whose clients then never got an answer.
    lock = threading.Lock()
    active = [0]
    most = [0]

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        greenlane.sleep(0.1)
        with lock:
            active[0] -= 1
        start_response("200 OK", [])
        return [environ["SERVER_PORT"].encode()]

    def two() -> list[Any]:
        return [greenlane.listen(("127.0.0.1", 0)), greenlane.listen(("127.0.0.1", 0))]

    srv = ServerThread(app, listen=two, max_connections=1)
    try:
        ports = srv.ports * 2  # two clients per listener
        results: list[bytes] = [b""] * len(ports)
        threads = [threading.Thread(target=_raw_get, args=(port, results, i))
                   for i, port in enumerate(ports)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT + 5)
        for port, data in zip(ports, results):
            assert data.startswith(b"HTTP/1.1 200 OK"), (port, data)
            assert data.endswith(str(port).encode())
        assert most[0] == 1  # never more than max_connections at once
    finally:
        srv.stop()


def test_a_freed_slot_goes_to_the_listener_with_a_client() -> None:
    # Listener A's loop parks at the limit first; only B has clients waiting. When the slot
    # frees, B must get it (A's loop must not sit in accept() holding it).
    release = threading.Event()
    first_in = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/hold":
            first_in.set()
            while not release.is_set():
                greenlane.sleep(0.01)
        start_response("200 OK", [])
        return [b"ok"]

    def two() -> list[Any]:
        return [greenlane.listen(("127.0.0.1", 0)), greenlane.listen(("127.0.0.1", 0))]

    srv = ServerThread(app, listen=two, max_connections=1)
    try:
        port_a, port_b = srv.ports
        holder = Client(port_a)
        holder.get("/hold")
        assert first_in.wait(TIMEOUT)
        results: list[bytes] = [b""]
        waiter = threading.Thread(target=_raw_get, args=(port_b, results, 0))
        waiter.start()
        release.set()
        assert holder.read_response().status == 200
        holder.close()
        waiter.join(TIMEOUT)
        assert results[0].startswith(b"HTTP/1.1 200 OK"), results[0]
    finally:
        srv.stop()


# -- stop() from anywhere ------------------------------------------------------------------------

def _in_flight(srv: ServerThread, started: threading.Event) -> Client:
    c = Client(srv.port)
    c.get("/slow")
    assert started.wait(TIMEOUT)
    return c


def _slow_app(started: threading.Event) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            started.set()
            greenlane.sleep(0.2)
        start_response("200 OK", [])
        return [b"done"]

    return app


def test_stop_from_another_os_thread_finishes_requests_in_flight() -> None:
    started = threading.Event()
    srv = ServerThread(_slow_app(started))
    c = _in_flight(srv, started)
    assert srv.server is not None
    stopper = threading.Thread(target=srv.server.stop)
    stopper.start()
    stopper.join(TIMEOUT)
    r = c.read_response()
    assert r.status == 200 and r.body == b"done"
    assert r.header("Connection") == "close"
    srv.stop(timeout=None)
    assert srv.shutdown_result is True
    c.close()


def test_many_threads_calling_stop_at_once() -> None:
    log = RecordingLog()
    srv = ServerThread(hello_app, log=log, log_output=True)
    assert srv.server is not None
    server = srv.server
    barrier = threading.Barrier(16)

    def stop() -> None:
        barrier.wait(TIMEOUT)
        server.stop()

    threads = [threading.Thread(target=stop) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    srv.stop(timeout=None)  # joins the server thread and checks its hub is clean
    assert srv.shutdown_result is True
    assert log.text("info").count("wsgi exited") == 1


def test_stop_from_a_signal_handler_in_another_thread() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")
    started = threading.Event()
    srv = ServerThread(_slow_app(started))
    c = _in_flight(srv, started)
    assert srv.server is not None
    server = srv.server
    previous = signal.signal(signal.SIGUSR1, lambda signo, frame: server.stop())
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        r = c.read_response()
        assert r.status == 200 and r.header("Connection") == "close"
        srv.stop(timeout=None)
    finally:
        signal.signal(signal.SIGUSR1, previous)
        c.close()
    assert srv.shutdown_result is True


def test_stop_from_a_signal_handler_wakes_a_hub_blocked_in_its_poller() -> None:
    # The server runs in the main thread of its own process; the hub sleeps in epoll_wait
    # with nothing to do when the signal arrives.
    script = textwrap.dedent("""
        import signal, sys
        import greenlane
        from greenlane.wsgi import Server

        def app(environ, start_response):
            start_response("200 OK", [])
            return [b"x"]

        srv = Server(app, [greenlane.listen(("127.0.0.1", 0))], log_output=False,
                     warn_if_root=False)
        signal.signal(signal.SIGUSR1, lambda signo, frame: srv.stop())
        srv.start()
        print("READY", flush=True)
        srv.serve_forever()
        print("STOPPED", srv.wait(), flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(0.2)  # let the hub reach its poller: nothing to await from outside
        proc.send_signal(signal.SIGUSR1)
        out, _ = proc.communicate(timeout=TIMEOUT)
        assert out.strip() == "STOPPED True"
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_stop_before_start_is_honoured_on_start() -> None:
    srv = Server(hello_app, [greenlane.listen(("127.0.0.1", 0))], log_output=False,
                     warn_if_root=False)
    srv.stop()
    with greenlane.Timeout(TIMEOUT):
        srv.serve_forever()
    assert srv.wait() is True
    assert srv.closing


def test_stop_zero_during_a_graceful_stop_cuts_requests_off() -> None:
    started = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started.set()
        greenlane.sleep(30)
        start_response("200 OK", [])
        return [b"never"]

    srv = ServerThread(app)
    c = Client(srv.port)
    c.get("/")
    assert started.wait(TIMEOUT)
    assert srv.server is not None
    srv.server.stop(timeout=60)  # graceful, would wait for the request
    t0 = time.monotonic()
    srv.stop(timeout=0)
    assert time.monotonic() - t0 < 5
    assert srv.shutdown_result is False
    assert c.closed_by_peer()
    c.close()


# -- the connection seen from outside --------------------------------------------------------

def test_on_state_gets_one_read_only_view_per_connection() -> None:
    seen: list[tuple[ConnectionInfo, ConnState, int]] = []
    lock = threading.Lock()
    closed = threading.Event()

    def on_state(info: ConnectionInfo, state: ConnState) -> None:
        with lock:
            seen.append((info, state, info.request_count))
        if state is ConnState.CLOSED:
            closed.set()

    srv = ServerThread(hello_app, on_state=on_state)
    try:
        c = Client(srv.port)
        assert c.request("/a").status == 200
        assert c.request("/b").status == 200
        c.close()
        assert closed.wait(TIMEOUT)
    finally:
        srv.stop()
    states = [state for _, state, _ in seen]
    assert states == [ConnState.NEW, ConnState.ACTIVE, ConnState.IDLE, ConnState.ACTIVE,
                      ConnState.IDLE, ConnState.CLOSED]
    info = seen[0][0]
    assert all(entry[0] is info for entry in seen)
    # ACTIVE comes with the first byte of a request, before its head is complete and counted.
    assert [count for _, _, count in seen] == [0, 0, 1, 1, 2, 2]
    assert isinstance(info, ConnectionInfo)
    assert info.remote_addr == "127.0.0.1" and info.remote_port.isdigit()
    assert info.listener_url == f"http://127.0.0.1:{srv.port}"
    assert info.state is ConnState.CLOSED
    with pytest.raises(AttributeError):
        info.state = ConnState.NEW  # type: ignore[misc]
    with pytest.raises(AttributeError):
        info.sock = None  # type: ignore[attr-defined]
    # The view has no way to the socket, the parser or the server.
    public = {name for name in dir(info) if not name.startswith("_")}
    assert public == {"listener_url", "remote_addr", "remote_port", "request_count", "state"}


def test_hijacked_is_the_connection_state() -> None:
    taken = threading.Event()
    finish = threading.Event()
    states: list[ConnState] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        sock = environ["wsgi.input"].get_socket()
        sock.sendall(b"raw bytes")
        taken.set()
        while not finish.is_set():
            greenlane.sleep(0.01)
        return []

    srv = ServerThread(app, on_state=lambda info, state: states.append(state))
    try:
        c = Client(srv.port)
        c.get("/")
        assert taken.wait(TIMEOUT)
        assert srv.server is not None
        [info] = srv.server.connections()
        assert info.state is ConnState.HIJACKED
        assert srv.server.statistics()["hijacked"] == 1
        assert c.sock.recv(100) == b"raw bytes"
        finish.set()
        assert c.closed_by_peer()  # the server wrote no HTTP after the hijack
        c.close()
    finally:
        srv.stop()
    assert ConnState.HIJACKED in states


# -- Response and Input through their channel protocols, without a socket ------------------

class _RecordingChannel:
    """Implements ResponseChannel and BodyChannel over in-memory bytes."""

    def __init__(self, parser: ServerConnection, body: bytes = b"") -> None:
        self.parser = parser
        self.header_policy = HeaderPolicy()
        self.can_sendfile = False
        self.http10_only = False
        self.request_count = 1
        self.peer_closed = False
        self.sent: list[bytes] = []
        self.incoming = [body[i:i + 3] for i in range(0, len(body), 3)]

    def send(self, data: Union[bytes, memoryview]) -> None:
        self.sent.append(bytes(data))

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        raise AssertionError("not used")

    def receive_body_data(self) -> None:
        self.parser.receive_data(self.incoming.pop(0) if self.incoming else b"")

    def send_continue(self, headers: Optional[list[tuple[str, str]]]) -> None:
        self.sent.append(self.parser.send_continue())

    def hijack(self) -> Any:
        raise AssertionError("not used")


def _request(parser: ServerConnection, head: bytes) -> Request:
    parser.receive_data(head)
    event = parser.next_event()
    assert isinstance(event, Request)
    return event


def test_response_and_input_run_without_a_socket() -> None:
    parser = ServerConnection()
    request = _request(parser, b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
    channel = _RecordingChannel(parser, b"0123456789")
    body = Input(channel, parser, has_body=True)
    assert body.read() == b"0123456789"
    response = Response(channel, parser, request)
    response.start_response("201 Created", [("Content-Type", "text/plain")])
    response.send_list([b"made"])
    [out] = channel.sent  # head and body in one write
    assert out.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"Content-Length: 4\r\n" in out and out.endswith(b"\r\n\r\nmade")
    assert response.status == "201 Created" and response.body_bytes == 4
    parser.start_next_cycle()  # both sides complete: the connection could be reused


# -- the package layout ------------------------------------------------------------------------

def test_the_package_only_re_exports() -> None:
    path = Path(wsgi.__file__)
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom):
            continue
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "__all__"):
            continue
        raise AssertionError(f"greenlane/wsgi/__init__.py line {node.lineno}: "
                             f"{ast.unparse(node)[:60]!r} is more than a re-export")
    public = {name for name in dir(wsgi) if not name.startswith("_")
              and not isinstance(getattr(wsgi, name), type(ast))} - {"annotations"}
    assert set(wsgi.__all__) == public
