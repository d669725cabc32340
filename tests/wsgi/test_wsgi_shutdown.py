"""Graceful stop loses no request a client sent on a connection the server accepted.

The server runs in the test's own hub and the clients are green sockets, so the order of
events is set by the test, not by thread timing: each test puts a connection in the state it
is about (NEW with or without its request waiting, IDLE with the next request waiting, ACTIVE
after a keep-alive head, accepted but not started) exactly when the shutdown reaches it. Bytes
that must be waiting, unread, when the shutdown reaches a connection are sent by a
``register_on_shutdown`` callback (the shutdown tells every connection right after its
callbacks, switching to no other green thread in between). The moment the shutdown has passed
a connection is observed through a second, idle connection accepted after it: the shutdown
closes that one (``on_state`` sees CLOSED) right after handling the first. Before the fix,
each of these requests got no response (the connection was closed or reset), as Gunicorn's
HUP and TTOU tests saw now and then in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest
from greenlet import greenlet

import greenlane
from greenlane.event import Event
from greenlane.greenio import GreenSocket
from greenlane.hubs import get_hub
from greenlane.queue import Queue
from greenlane.testing import settle
from greenlane.timeout import Timeout
from greenlane.wsgi import ConnectionInfo, ConnState, Server, _conn

StartResponse = Callable[..., Any]
TIMEOUT = 10.0


def echo_path(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


class Watch:
    """The ``on_state`` hook: records every (connection, state) and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: Queue[tuple[ConnectionInfo, ConnState]] = Queue()
        self.order: list[ConnectionInfo] = []

    def __call__(self, info: ConnectionInfo, state: ConnState) -> None:
        if state is ConnState.NEW:
            self.order.append(info)
        self.events.put((info, state))

    def wait_for(self, state: ConnState, index: Optional[int] = None) -> ConnectionInfo:
        """The next connection (the ``index``-th accepted, if given) to reach ``state``."""
        with Timeout(TIMEOUT):
            while True:
                info, seen = self.events.get()
                if seen is state and (index is None or self.order.index(info) == index):
                    return info


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Client:
    """A green HTTP/1.1 client reading Content-Length responses."""

    def __init__(self, port: int) -> None:
        self.sock: GreenSocket = greenlane.connect(("127.0.0.1", port))
        self.sock.settimeout(TIMEOUT)
        self.buffer = b""

    def send(self, *paths: str) -> None:
        self.sock.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                                   for p in paths))

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def read_bytes(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise AssertionError(f"EOF after {self.buffer!r}, {n} bytes expected")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise AssertionError(f"no response: EOF after {self.buffer!r}")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def read_response(self) -> Response:
        status, headers = self.read_head()
        return Response(status, headers, self.read_bytes(int(headers["content-length"])))

    def at_eof(self) -> bool:
        """True when the server closed the connection with nothing more to read."""
        return not self.buffer and not self._fill()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def green_server() -> Iterator[Callable[..., tuple[Server, Watch]]]:
    """``green_server(app, **options)``: a Server on this hub, watched; closed after the test."""
    servers: list[Server] = []

    def start(app: Callable[..., Any], **options: Any) -> tuple[Server, Watch]:
        watch = Watch()
        srv = Server(app, [greenlane.listen(("127.0.0.1", 0))], on_state=watch,
                     log_output=False, warn_if_root=False, **options)
        srv.start()
        servers.append(srv)
        return srv, watch

    yield start
    for srv in servers:
        if not srv.closing:
            srv.shutdown(0)
        srv.wait()
    settle()


def port_of(srv: Server) -> int:
    port: int = srv.listeners[0].getsockname()[1]
    return port


def idle_signal(port: int, watch: Watch, index: int) -> Client:
    """A keep-alive connection left idle (accepted ``index``-th): the shutdown closes it
    after every connection accepted before it."""
    client = Client(port)
    client.send("/idle")
    assert client.read_response().status == 200
    watch.wait_for(ConnState.IDLE, index)
    return client


def assert_last_response(client: Client, body: bytes) -> None:
    response = client.read_response()
    assert (response.status, response.body) == (200, body)
    assert response.headers["connection"] == "close"
    assert client.at_eof()


def test_first_request_waiting_when_the_stop_begins_is_answered(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    srv, watch = green_server(echo_path)
    a = Client(port_of(srv))
    watch.wait_for(ConnState.NEW)
    settle()  # its green thread is parked reading
    # Sent as the shutdown starts, so it is in the kernel, unread, when the connection's turn
    # comes (the shutdown tells every connection before it lets another green thread run).
    srv.register_on_shutdown(lambda: a.send("/a"))
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    assert_last_response(a, b"/a")
    assert stopper.wait() is True
    a.close()


def test_first_request_arriving_just_after_the_stop_began_is_answered(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    srv, watch = green_server(echo_path)
    port = port_of(srv)
    a = Client(port)
    watch.wait_for(ConnState.NEW, 0)
    b = idle_signal(port, watch, 1)
    settle()
    clock = get_hub().clock
    start = clock()
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    watch.wait_for(ConnState.CLOSED, 1)  # the shutdown has dealt with a, silent until now
    assert b.at_eof()
    a.send("/late")
    assert_last_response(a, b"/late")
    assert stopper.wait() is True
    # Answered as soon as it came: the grace for silent connections was not waited out.
    assert clock() - start < _conn.NEW_CONNECTION_GRACE
    a.close()
    b.close()


def test_idle_connection_with_its_next_request_waiting_answers_it(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    srv, watch = green_server(echo_path)
    b = idle_signal(port_of(srv), watch, 0)
    settle()  # parked reading, idle
    srv.register_on_shutdown(lambda: b.send("/next"))  # waiting, unread, when the stop begins
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    assert_last_response(b, b"/next")
    assert stopper.wait() is True
    b.close()


def test_idle_connection_with_nothing_waiting_is_closed_at_once(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    srv, watch = green_server(echo_path)
    b = idle_signal(port_of(srv), watch, 0)
    settle()
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    assert b.at_eof()
    assert stopper.wait() is True
    b.close()


def test_request_pipelined_behind_a_keep_alive_response_in_flight_is_answered(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    release: Event[None] = Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ["PATH_INFO"] != "/stream":
            return echo_path(environ, start_response)
        start_response("200 OK", [("Content-Length", "6")])

        def body() -> Iterator[bytes]:
            yield b"one"
            release.wait()
            yield b"two"

        return body()

    srv, watch = green_server(app)
    port = port_of(srv)
    a = Client(port)
    a.send("/stream", "/after")  # pipelined
    status, headers = a.read_head()
    # The head went out promising keep-alive before the stop began.
    assert status == 200 and "connection" not in headers
    assert a.read_bytes(3) == b"one"
    b = idle_signal(port, watch, 1)
    settle()
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    watch.wait_for(ConnState.CLOSED, 1)
    release.send(None)
    assert a.read_bytes(3) == b"two"
    assert_last_response(a, b"/after")
    assert stopper.wait() is True
    a.close()
    b.close()


def test_connection_accepted_but_not_started_when_the_stop_begins_is_answered(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    class HeldPool:
        """Starts nothing by itself: the test starts each connection's green thread."""

        def __init__(self) -> None:
            self.held: Queue[greenlet] = Queue()

        def spawn(self, fn: Callable[[], None]) -> greenlet:
            g = greenlet(fn, parent=get_hub().greenlet)
            self.held.put(g)
            return g

    pool = HeldPool()
    srv, watch = green_server(echo_path, custom_pool=pool)
    port = port_of(srv)
    a = Client(port)
    a.send("/a")
    first = pool.held.get()
    b = Client(port)
    get_hub().schedule_ready(pool.held.get().switch)  # b runs, a does not
    b.send("/idle")
    assert b.read_response().status == 200
    watch.wait_for(ConnState.IDLE)
    settle()
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    watch.wait_for(ConnState.CLOSED)  # b: the shutdown has passed a too
    assert not first and not first.dead  # still not started
    get_hub().schedule_ready(first.switch)
    assert_last_response(a, b"/a")
    assert stopper.wait() is True
    a.close()
    b.close()


def test_silent_new_connection_is_closed_after_the_grace(
        green_server: Callable[..., tuple[Server, Watch]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_conn, "NEW_CONNECTION_GRACE", 0.2)
    srv, watch = green_server(echo_path)
    a = Client(port_of(srv))
    watch.wait_for(ConnState.NEW)
    stopper = greenlane.spawn(srv.shutdown, TIMEOUT)
    assert a.at_eof()  # no request came: closed without a response
    assert stopper.wait() is True  # and nothing was cut off
    a.close()


def test_silent_new_connection_cut_by_the_shutdown_timeout_is_still_graceful(
        green_server: Callable[..., tuple[Server, Watch]]) -> None:
    srv, watch = green_server(echo_path)
    a = Client(port_of(srv))
    watch.wait_for(ConnState.NEW)
    stopper = greenlane.spawn(srv.shutdown, 0.05)  # well before the grace ends
    assert a.at_eof()
    assert stopper.wait() is True
    a.close()


@pytest.mark.parametrize("take_backlog", [True, False])
def test_connections_waiting_in_the_accept_queue(
        green_server: Callable[..., tuple[Server, Watch]], take_backlog: bool) -> None:
    # max_connections=1 and an idle keep-alive connection keep the accept loop from taking
    # the next clients: they wait in the kernel's queue when the stop begins.
    srv, watch = green_server(echo_path, max_connections=1,
                              accept_backlog_on_stop=take_backlog)
    port = port_of(srv)
    a = idle_signal(port, watch, 0)
    waiting = [Client(port) for _ in range(3)]
    for n, client in enumerate(waiting):
        client.send(f"/queued{n}")
    settle()
    assert len(watch.order) == 1  # still in the kernel's accept queue
    assert srv.shutdown(TIMEOUT) is True
    assert a.at_eof()
    for n, client in enumerate(waiting):
        if take_backlog:
            assert_last_response(client, f"/queued{n}".encode())
        else:
            # What closing the listener does to them (the Gunicorn worker's choice: its
            # master keeps the listener open, so there they wait for another worker).
            with pytest.raises(ConnectionResetError):
                client.read_response()
        client.close()
    a.close()
