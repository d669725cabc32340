"""greenlane.websocket under greenlane.wsgi.Server, against the ``websockets`` client library
(its synchronous client, in the test's own OS thread) and raw sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
from typing import Any, Callable, Dict, List, Optional

import pytest

import greenlane
from greenlane import websocket
from greenlane._ws import NEED_DATA, Close, Connection, Message, Pong
from tests._support import recv_exactly, unavailable
from tests.wsgi._wsgi_support import RecordingLog, ServerThread

try:
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.sync.client import connect as _connect
except ImportError:  # pragma: no cover - the dev extra installs it
    websockets = None

TIMEOUT = 10.0
Serve = Callable[..., ServerThread]


@pytest.fixture(autouse=True)
def _need_websockets() -> None:
    if websockets is None:
        unavailable("the websockets client library is not installed")


def connect(server: ServerThread, path: str = "/", **kw: Any) -> Any:
    kw.setdefault("open_timeout", TIMEOUT)
    kw.setdefault("close_timeout", TIMEOUT)
    kw.setdefault("ping_interval", None)
    return _connect(f"ws://127.0.0.1:{server.port}{path}", proxy=None, **kw)


def echo(ws: websocket.WebSocket) -> None:
    while True:
        message = ws.wait()
        if message is None:
            break
        ws.send(message)


class Recorder:
    """A handler that echoes and records what happened, for the test thread to check."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Any] = queue.Queue()
        self.ended = threading.Event()
        self.ws: Optional[websocket.WebSocket] = None

    def __call__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        try:
            while True:
                message = ws.wait()
                self.messages.put(message)
                if message is None:
                    break
                ws.send(message)
        finally:
            self.ended.set()

    def wait_end(self) -> None:
        assert self.ended.wait(TIMEOUT), "the handler did not return"


# -- messages ------------------------------------------------------------------------------

def test_echo_text_and_binary(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with connect(server) as client:
        for message in ["hello", "", "héllo ✓", b"\x00\xff", b"", "x" * 125, b"y" * 126]:
            client.send(message)
            assert client.recv(TIMEOUT) == message


def test_large_messages_both_ways(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    big = bytes(range(256)) * 4096  # 1 MiB
    with connect(server, max_size=None, compression=None) as client:
        client.send(big)
        assert client.recv(TIMEOUT) == big
        client.send(big.hex())
        assert client.recv(TIMEOUT) == big.hex()


def test_fragmented_messages_are_reassembled(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with connect(server) as client:
        client.send(["frag", "men", "ted ✓"])
        assert client.recv(TIMEOUT) == "fragmented ✓"
        client.send([b"a" * 70000, b"", b"b"])
        assert client.recv(TIMEOUT) == b"a" * 70000 + b"b"


def test_client_ping_gets_a_pong(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with connect(server) as client:
        assert client.ping(b"are you there").wait(TIMEOUT)
        client.send("still echoing")
        assert client.recv(TIMEOUT) == "still echoing"


def test_server_ping(serve: Serve) -> None:
    def handler(ws: websocket.WebSocket) -> None:
        ws.ping(b"ping!")
        ws.send("sent a ping")
        echo(ws)  # the client's pong is consumed by wait()

    server = serve(websocket.WebSocketWSGI(handler))
    with connect(server) as client:
        assert client.recv(TIMEOUT) == "sent a ping"
        client.send("after the pong")
        assert client.recv(TIMEOUT) == "after the pong"


def test_attributes_seen_by_the_handler(serve: Serve) -> None:
    seen: Dict[str, Any] = {}

    def handler(ws: websocket.WebSocket) -> None:
        seen.update(path=ws.path, origin=ws.origin, protocol=ws.protocol, version=ws.version,
                    query=ws.environ["QUERY_STRING"], sock=ws._sock is ws.socket)

    server = serve(websocket.WebSocketWSGI(handler))
    with connect(server, "/chat/room?x=1", origin="http://example.com"):
        pass
    assert seen == {"path": "/chat/room", "origin": "http://example.com", "protocol": None,
                    "version": 13, "query": "x=1", "sock": True}


# -- closing -------------------------------------------------------------------------------

def test_client_close_code_reaches_the_handler_and_is_echoed(serve: Serve) -> None:
    recorder = Recorder()
    server = serve(websocket.WebSocketWSGI(recorder))
    with connect(server) as client:
        client.send("x")
        assert client.recv(TIMEOUT) == "x"
        client.close(4001, "going")
    recorder.wait_end()
    assert recorder.messages.get_nowait() == "x"
    assert recorder.messages.get_nowait() is None
    assert recorder.ws is not None
    assert recorder.ws._remote_close_data == struct.pack("!H", 4001) + b"going"
    assert client.close_code == 4001  # the server answered with the same code


def test_server_close_with_a_code(serve: Serve) -> None:
    after: List[Any] = []
    handler_done = threading.Event()

    def handler(ws: websocket.WebSocket) -> None:
        try:
            ws.close((4000, "done here"))
            after.append(ws.wait())
            try:
                ws.send("too late")
            except BrokenPipeError as exc:
                after.append(exc.errno)
        finally:
            handler_done.set()

    server = serve(websocket.WebSocketWSGI(handler))
    with connect(server) as client:
        with pytest.raises(ConnectionClosed) as info:
            client.recv(TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4000
    assert info.value.rcvd.reason == "done here"
    # The handler runs in the server's thread: wait for it to finish before looking.
    assert handler_done.wait(TIMEOUT)
    assert after == [None, 32]


def test_returning_from_the_handler_closes_normally(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(lambda ws: ws.send("bye")))
    with connect(server) as client:
        assert client.recv(TIMEOUT) == "bye"
        with pytest.raises(ConnectionClosed) as info:
            client.recv(TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000


def test_handler_error_closes_with_1011_and_is_logged(serve: Serve) -> None:
    def handler(ws: websocket.WebSocket) -> None:
        ws.wait()
        raise RuntimeError("handler bug")

    log = RecordingLog()
    server = serve(websocket.WebSocketWSGI(handler), log=log)
    with connect(server) as client:
        client.send("trigger")
        with pytest.raises(ConnectionClosed) as info:
            client.recv(TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
    assert log.errors.wait(TIMEOUT)
    assert "handler bug" in log.text("error")


def test_abrupt_disconnect_ends_wait_and_the_server_keeps_serving(serve: Serve) -> None:
    recorder = Recorder()
    server = serve(websocket.WebSocketWSGI(recorder))
    with connect(server) as client:
        client.send("before")
        assert client.recv(TIMEOUT) == "before"
        client.socket.shutdown(socket.SHUT_RDWR)  # no Close frame
        recorder.wait_end()
    assert recorder.messages.get_nowait() == "before"
    assert recorder.messages.get_nowait() is None
    with connect(server) as other:
        other.send("next client")
        assert other.recv(TIMEOUT) == "next client"


# -- limits and protocol errors ------------------------------------------------------------

def test_oversize_message_closes_with_1009(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo, max_frame_length=1000))
    with connect(server, compression=None) as client:
        client.send(b"x" * 1000)
        assert client.recv(TIMEOUT) == b"x" * 1000
        client.send(b"x" * 1001)
        with pytest.raises(ConnectionClosed) as info:
            client.recv(TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_oversize_fragmented_message_closes_with_1009(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo, max_frame_length=1000))
    with connect(server, compression=None) as client:
        client.send([b"x" * 600, b"x" * 600])  # each fragment fits, the message does not
        with pytest.raises(ConnectionClosed) as info:
            client.recv(TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


def test_compressed_bomb_closes_with_1009(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo, max_frame_length=100_000))
    with connect(server) as client:
        assert client.protocol.extensions  # permessage-deflate was negotiated
        client.send(b"\x00" * 1_000_000)  # about 1 KB on the wire
        with pytest.raises(ConnectionClosed) as info:
            client.recv(TIMEOUT)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


# -- negotiation ---------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": 10, "client_max_window_bits": 11},
])
def test_permessage_deflate_negotiated_and_working(serve: Serve, options: Dict[str, Any]
                                                   ) -> None:
    recorder = Recorder()
    server = serve(websocket.WebSocketWSGI(recorder))
    factory = ClientPerMessageDeflateFactory(**options)
    with connect(server, extensions=[factory], compression=None) as client:
        assert len(client.protocol.extensions) == 1
        for message in ["compress me " * 1000, b"\x00" * 50_000, "short", "compress me " * 1000]:
            client.send(message)
            assert client.recv(TIMEOUT) == message
    assert recorder.ws is not None
    assert "permessage-deflate" in recorder.ws.extensions


def test_subprotocol_follows_the_client_preference(serve: Serve) -> None:
    recorder = Recorder()
    app = websocket.WebSocketWSGI.configured(supported_protocols=["chat", "superchat"])(recorder)
    server = serve(app)
    with connect(server, subprotocols=["superchat", "chat"]) as client:
        assert client.subprotocol == "superchat"
        client.send("hi")
        assert client.recv(TIMEOUT) == "hi"
    assert recorder.ws is not None and recorder.ws.protocol == "superchat"
    with connect(server, subprotocols=["other"]) as client:
        assert client.subprotocol is None


def test_refused_origin_is_403(serve: Serve) -> None:
    checked: List[Any] = []

    def origin_checker(host: Optional[str], origin: Optional[str]) -> bool:
        checked.append((host, origin))
        return origin == "http://good.example"

    app = websocket.WebSocketWSGI.configured(echo, origin_checker=origin_checker)
    server = serve(app)
    with connect(server, origin="http://good.example") as client:
        client.send("ok")
        assert client.recv(TIMEOUT) == "ok"
    with pytest.raises(InvalidStatus) as info:
        connect(server, origin="http://evil.example")
    assert info.value.response.status_code == 403
    assert checked[-1] == (f"127.0.0.1:{server.port}", "http://evil.example")


# -- concurrency and the server's life cycle ---------------------------------------------------

def test_two_green_threads_sending_at_once_do_not_interleave_frames(serve: Serve) -> None:
    contended: List[bool] = []

    def handler(ws: websocket.WebSocket) -> None:
        # A small send buffer makes every sendall park half-way, so the senders overlap.
        ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        big = "a" * 50_000
        helper = greenlane.spawn(lambda: [ws.send(big) for _ in range(10)])
        for _ in range(10):
            ws.send("b" * 40_000)
        helper.wait()
        contended.append(ws._send_lock is not None)  # a sender really had to wait
        ws.wait()

    server = serve(websocket.WebSocketWSGI(handler))
    # A small receive window too: on loopback a large one lets a 50 kB send complete at once
    # whatever the send buffer, and then nobody ever waits for the lock.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", server.port))
    with connect(server, sock=sock, max_size=None, compression=None) as client:
        got = [client.recv(TIMEOUT) for _ in range(20)]
    assert sorted(set(got)) == ["a" * 50_000, "b" * 40_000]
    assert got.count("a" * 50_000) == 10
    assert contended == [True]


def test_many_concurrent_websockets(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(server, compression=None)) for _ in range(100)]
        for i, client in enumerate(clients):
            client.send(f"message {i}")
        for i, client in enumerate(clients):
            assert client.recv(TIMEOUT) == f"message {i}"


def test_graceful_stop_closes_open_websockets(serve: Serve) -> None:
    recorder = Recorder()
    server = serve(websocket.WebSocketWSGI(recorder))
    with connect(server) as client:
        client.send("open")
        assert client.recv(TIMEOUT) == "open"
        stopped = threading.Thread(target=server.stop, kwargs={"timeout": 5.0})
        stopped.start()
        recorder.wait_end()  # eventlet.set_idle: the stop shut the socket down, not waited
        stopped.join(TIMEOUT)
        assert not stopped.is_alive() and not server.alive
        assert recorder.messages.get_nowait() == "open"
        assert recorder.messages.get_nowait() is None
        with pytest.raises(ConnectionClosed):
            client.recv(TIMEOUT)


def test_socket_timeout_from_wait_leaves_the_websocket_usable(serve: Serve) -> None:
    outcome: queue.Queue[Any] = queue.Queue()

    def handler(ws: websocket.WebSocket) -> None:
        ws._sock.settimeout(0.05)  # as python-engineio does
        try:
            ws.wait()
        except socket.timeout:
            outcome.put("timeout")
        ws._sock.settimeout(None)
        ws.send("ready")
        outcome.put(ws.wait())

    server = serve(websocket.WebSocketWSGI(handler))
    with connect(server) as client:
        assert client.recv(TIMEOUT) == "ready"
        client.send("after the timeout")
        assert outcome.get(timeout=TIMEOUT) == "timeout"
        assert outcome.get(timeout=TIMEOUT) == "after the timeout"


# -- raw sockets: the handshake's HTTP answers and frames websockets will not send -----------

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPGRADE = ("GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           "Sec-WebSocket-Version: {version}\r\n{extra}\r\n")


def raw_request(server: ServerThread, text: str) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(text.encode("latin-1"))
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def head_and_body(response: bytes) -> tuple[str, Dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return lines[0], fields, body


@pytest.mark.parametrize("request_text,status", [
    ("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (UPGRADE.format(key=KEY, version="13", extra="").replace("Upgrade: websocket", "Upgrade: h2c"),
     400),
    (UPGRADE.format(key=KEY, version="13", extra="").replace("Connection: Upgrade",
                                                             "Connection: keep-alive"), 400),
    (UPGRADE.format(key="short", version="13", extra=""), 400),
    (UPGRADE.format(key=KEY, version="13", extra="").replace("Sec-WebSocket-Version: 13\r\n",
                                                             ""), 400),
    (UPGRADE.format(key=KEY, version="13", extra="").replace("GET", "POST"), 400),
    (UPGRADE.format(key=KEY, version="12", extra=""), 426),
])
def test_bad_handshakes_get_an_http_answer(serve: Serve, request_text: str, status: int
                                           ) -> None:
    log = RecordingLog()
    server = serve(websocket.WebSocketWSGI(echo), log=log)
    status_line, fields, body = head_and_body(raw_request(server, request_text))
    assert status_line.startswith(f"HTTP/1.1 {status} ")
    assert fields["connection"] == "close"
    assert body == b""
    if status == 426:
        assert fields["sec-websocket-version"] == "13, 8"
    assert not log.errors.is_set(), log.text("error")


def test_handshake_answer_bytes(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(UPGRADE.format(key=KEY, version="13", extra="").encode())
        expected = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                    b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        assert recv_exactly(sock, len(expected)) == expected


def raw_websocket(server: ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    sock.sendall(UPGRADE.format(key=KEY, version="13", extra="").encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += recv_exactly(sock, 1)
    assert head.startswith(b"HTTP/1.1 101 ")
    return sock


def read_close_code(sock: socket.socket) -> int:
    client = Connection(client=True)
    while True:
        data = sock.recv(65536)
        assert data, "the server closed without a Close frame"
        client.receive_data(data)
        event = client.next_event()
        if type(event) is Close:
            return event.code


def masked(first: int, payload: bytes) -> bytes:
    key = b"\x01\x02\x03\x04"
    return (bytes((first, 0x80 | len(payload))) + key
            + bytes(b ^ key[i % 4] for i, b in enumerate(payload)))


@pytest.mark.parametrize("frame_bytes,code", [
    (masked(0x81, b"\xce\xba\xff"), 1007),            # invalid UTF-8
    (b"\x81\x02ok", 1002),                            # unmasked client frame
    (masked(0xC1, b"x"), 1002),                       # RSV1 without permessage-deflate
    (masked(0x83, b"x"), 1002),                       # unknown opcode
    (masked(0x09, b""), 1002),                        # fragmented ping
    (masked(0x80, b"x"), 1002),                       # continuation of nothing
])
def test_protocol_errors_close_with_their_code(serve: Serve, frame_bytes: bytes, code: int
                                               ) -> None:
    recorder = Recorder()
    server = serve(websocket.WebSocketWSGI(recorder))
    with raw_websocket(server) as sock:
        sock.sendall(frame_bytes)
        assert read_close_code(sock) == code
    recorder.wait_end()
    assert recorder.messages.get_nowait() is None


def test_close_reply_and_tcp_close_from_the_server(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with raw_websocket(server) as sock:
        sock.sendall(masked(0x88, struct.pack("!H", 1001) + b"away"))
        assert read_close_code(sock) == 1001
        sock.settimeout(TIMEOUT)
        assert sock.recv(100) == b""  # RFC 6455 §7.1.1: the server closes TCP first


def test_ping_in_the_middle_of_a_fragmented_message(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    with raw_websocket(server) as sock:
        sock.sendall(masked(0x01, b"frag") + masked(0x89, b"!") + masked(0x80, b"mented"))
        client = Connection(client=True)
        events: List[Any] = []
        while len(events) < 2:
            client.receive_data(sock.recv(65536))
            event = client.next_event()
            while event is not NEED_DATA:
                events.append(event)
                event = client.next_event()
        assert events == [Pong(b"!"), Message("fragmented")]  # the pong came first


# -- legacy hixie-76, only when enabled ------------------------------------------------------

HIXIE76 = (b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\n"
           b"Upgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
           b"Origin: http://example.com\r\n\r\n") + b"^n:ds[4U"


def test_hixie76_when_enabled_with_the_key_bytes_sent_along_with_the_head(serve: Serve
                                                                          ) -> None:
    app = websocket.WebSocketWSGI.configured(echo, support_legacy_versions=True)
    server = serve(app)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(HIXIE76)  # the 8 key bytes reach the server with the head
        expected = (b"HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Origin: http://example.com\r\n"
                    b"Sec-WebSocket-Protocol: sample\r\n"
                    b"Sec-WebSocket-Location: ws://example.com/demo\r\n\r\n8jKS'y:G*Co,Wxa-")
        assert recv_exactly(sock, len(expected)) == expected
        sock.sendall(b"\x00hello\xff")
        assert recv_exactly(sock, 7) == b"\x00hello\xff"
        sock.sendall(b"\xff\x00")
        assert recv_exactly(sock, 2) == b"\xff\x00"


def test_hixie76_is_refused_by_default(serve: Serve) -> None:
    server = serve(websocket.WebSocketWSGI(echo))
    status_line, fields, body = head_and_body(raw_request(server, HIXIE76.decode("latin-1")))
    assert status_line.startswith("HTTP/1.1 400 ")
    assert fields["connection"] == "close" and body == b""
