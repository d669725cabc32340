"""WebSocket and WebSocketWSGI in one green thread world: over green socket pairs, without a
server (the ``gunicorn.socket`` path, eventlet's client mode, legacy framing, argument errors)."""

from __future__ import annotations

import socket
from typing import Any, Dict, List, Tuple

import pytest

import greenlane
from greenlane import websocket
from greenlane.green import socket as green_socket


def pair() -> Tuple[Any, Any]:
    a, b = green_socket.socketpair()
    return a, b


UPGRADE_ENV = {
    "REQUEST_METHOD": "GET",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "PATH_INFO": "/p",
    "HTTP_HOST": "h",
    "HTTP_UPGRADE": "websocket",
    "HTTP_CONNECTION": "Upgrade",
    "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
    "HTTP_SEC_WEBSOCKET_VERSION": "13",
}


def read_head(sock: Any) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        assert chunk
        head += chunk
    return head


def test_gunicorn_socket_fallback_and_eventlet_client_mode() -> None:
    server_sock, client_sock = pair()
    got: List[Any] = []

    def handler(ws: websocket.WebSocket) -> None:
        while True:
            message = ws.wait()
            got.append(message)
            if message is None:
                return
            ws.send(message)

    app = websocket.WebSocketWSGI(handler)
    env = dict(UPGRADE_ENV, **{"gunicorn.socket": server_sock})
    thread = greenlane.spawn(app, env, lambda *a: pytest.fail("no HTTP answer expected"))
    assert read_head(client_sock).startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    client = websocket.RFC6455WebSocket(client_sock, {}, client=True)
    client.send("hello")
    assert client.wait() == "hello"
    client.send(b"\x00\x01")
    assert client.wait() == b"\x00\x01"
    client.close((1000, "bye"))
    assert thread.wait() == []
    assert got == ["hello", b"\x00\x01", None]
    assert client._remote_close_data == b"\x03\xe8"  # the server echoed the code
    server_sock.close()


def test_no_socket_in_the_environ_is_a_clear_error() -> None:
    app = websocket.WebSocketWSGI(lambda ws: None)
    with pytest.raises(RuntimeError, match="eventlet.input"):
        app(dict(UPGRADE_ENV), lambda *a: None)


def test_bad_handshake_answers_through_start_response() -> None:
    answers: List[Tuple[str, List[Tuple[str, str]]]] = []
    app = websocket.WebSocketWSGI(lambda ws: None)
    body = app(dict(UPGRADE_ENV, HTTP_SEC_WEBSOCKET_VERSION="99"),
               lambda status, headers: answers.append((status, headers)))
    assert body == [b""]
    assert answers == [("426 Upgrade Required", [("Connection", "close"),
                                                 ("Sec-WebSocket-Version", "13, 8")])]


def test_configured_as_decorator_and_directly() -> None:
    def handler(ws: Any) -> None:
        pass

    decorated = websocket.WebSocketWSGI.configured(supported_protocols=("a",))(handler)
    assert isinstance(decorated, websocket.WebSocketWSGI)
    assert decorated.handler is handler and decorated.supported_protocols == ["a"]
    direct = websocket.WebSocketWSGI.configured(handler, support_legacy_versions=True)
    assert direct.support_legacy_versions and direct.origin_checker is None
    assert websocket.WebSocketWSGI(handler).support_legacy_versions is False
    with pytest.raises(ValueError, match="max_frame_length"):
        websocket.WebSocketWSGI(handler, max_frame_length=0)


def test_control_frames_and_send_errors() -> None:
    a, b = pair()
    server = websocket.WebSocket(a, {})
    client = websocket.WebSocket(b, {}, client=True)
    server.send(b"", control_code=0x9)          # eventlet's way to ping
    server.send("after ping")
    assert client.wait() == "after ping"          # the ping was answered on the way
    client.send("and a message")
    assert server.wait() == "and a message"       # after the pong, which wait() skipped
    with pytest.raises(websocket.ProtocolError, match="125"):
        server.ping(b"x" * 126)
    with pytest.raises(websocket.ProtocolError, match="may be sent"):
        server.close((1005, ""))
    with pytest.raises(TypeError):
        server.send(10)  # type: ignore[arg-type]
    reader = greenlane.spawn(server.wait)
    client.close()  # waits for the server's Close, which the reader's wait() sends
    assert reader.wait() is None
    assert client._remote_close_data == b"\x03\xe8"
    with pytest.raises(BrokenPipeError):
        client.send("closed")
    assert client.wait() is None
    a.close()
    b.close()


def test_wait_answers_pings_and_skips_pongs() -> None:
    a, b = pair()
    server = websocket.WebSocket(a, {})
    client = websocket.WebSocket(b, {}, client=True)
    client.ping(b"1")
    client.send(b"", control_code=0xA)
    client.send("data")
    assert server.wait() == "data"
    server.send("reply")
    assert client.wait() == "reply"  # the pong for "1" was consumed first
    a.close()
    b.close()


def test_eventlet_extensions_argument_enables_compression() -> None:
    a, b = pair()
    ext: Dict[str, Any] = {"permessage-deflate": {"client_no_context_takeover": False,
                                                  "server_no_context_takeover": True}}
    server = websocket.WebSocket(a, {}, extensions=ext)
    client = websocket.WebSocket(b, {}, client=True, extensions=ext)
    client.send(b"Hello")
    assert server.wait() == b"Hello"
    server.send(b"Hello")
    first = b.recv(2)
    assert first[0] == 0xC2  # RSV1: compressed
    assert b.recv(first[1]) == b"\xf2\x48\xcd\xc9\xc9\x07\x00"  # RFC 7692 §7.2.3.1
    a.close()
    b.close()


def test_legacy_framing() -> None:
    a, b = pair()
    ws = websocket.WebSocket(a, {"HTTP_WEBSOCKET_PROTOCOL": "ws"}, version=76)
    assert ws.protocol == "ws"
    b.sendall(b"\x00hello\xff\x00wor")
    assert ws.wait() == "hello"
    b.sendall(b"ld\xff")
    assert ws.wait() == "world"
    ws.send("back")
    assert b.recv(100) == b"\x00back\xff"
    b.sendall(b"\xff\x00")
    assert ws.wait() is None
    assert b.recv(100) == b"\xff\x00"  # the closing handshake answered
    b.close()


def test_legacy_75_handshake_in_process() -> None:
    server_sock, client_sock = pair()
    app = websocket.WebSocketWSGI.configured(lambda ws: ws.send("hi"),
                                             support_legacy_versions=True)
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/chat", "QUERY_STRING": "", "HTTP_HOST": "h",
           "HTTP_UPGRADE": "WebSocket", "HTTP_CONNECTION": "Upgrade",
           "HTTP_ORIGIN": "http://o", "gunicorn.socket": server_sock}
    thread = greenlane.spawn(app, env, lambda *a: None)
    head = read_head(client_sock)
    assert head == (b"HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\n"
                    b"Connection: Upgrade\r\nWebSocket-Origin: http://o\r\n"
                    b"WebSocket-Location: ws://h/chat\r\n\r\n")
    assert client_sock.recv(100) == b"\x00hi\xff"
    thread.wait()
    client_sock.close()
    server_sock.close()


def test_legacy_is_refused_unless_enabled() -> None:
    answers: List[str] = []
    env = {"REQUEST_METHOD": "GET", "HTTP_UPGRADE": "WebSocket", "HTTP_CONNECTION": "Upgrade",
           "HTTP_SEC_WEBSOCKET_KEY1": "1 2", "HTTP_SEC_WEBSOCKET_KEY2": "3 4"}
    websocket.WebSocketWSGI(lambda ws: None)(env, lambda s, h: answers.append(s))
    assert answers == ["400 Bad Request"]


def test_socket_errors_end_wait() -> None:
    a, b = pair()
    ws = websocket.WebSocket(a, {})
    b.shutdown(socket.SHUT_RDWR)
    assert ws.wait() is None
    assert ws.websocket_closed
    b.close()


def test_reassigning_extensions_changes_compression_from_the_next_message() -> None:
    # eventlet's test_send_uncompressed_msg_13: a client built without the extension sends
    # plain, then is given the agreed extensions and reads the server's compressed answer.
    a, b = pair()
    ext: Dict[str, Any] = {"permessage-deflate": {"client_no_context_takeover": False,
                                                  "server_no_context_takeover": False}}
    server = websocket.WebSocket(a, {}, extensions=ext)
    client = websocket.WebSocket(b, {}, client=True)
    assert client.extensions == {}
    client.send(b"Hello")
    assert server.wait() == b"Hello"  # uncompressed messages are fine under the extension
    server.send(b"Hello")
    client.extensions = ext
    assert client.extensions is ext
    assert client.wait() == b"Hello"
    client.send("again")  # compressed now
    header = a.recv(2, socket.MSG_PEEK)
    assert header[0] == 0xC1
    assert server.wait() == "again"
    client.extensions = {}
    client.send(b"plain")
    assert a.recv(2, socket.MSG_PEEK)[0] == 0x82
    assert server.wait() == b"plain"
    a.close()
    b.close()


def test_pack_message_builds_frames_with_the_connections_compressor() -> None:
    # RFC 7692 §7.2.3.2's example (binary instead of text): the second "Hello" is a
    # back-reference only with context takeover.
    for takeover, second in [(True, b"\xc2\x05\xf2\x00\x11\x00\x00"),
                             (False, b"\xc2\x07\xf2\x48\xcd\xc9\xc9\x07\x00")]:
        ext = {"permessage-deflate": {"client_no_context_takeover": not takeover}}
        ws = websocket.WebSocket(None, {}, client=True, extensions=ext)
        assert ws._pack_message(b"Hello") == b"\xc2\x07\xf2\x48\xcd\xc9\xc9\x07\x00"
        assert ws._pack_message(b"Hello") == second
    plain = websocket.WebSocket(None, {})
    assert plain._pack_message("hi") == b"\x81\x02hi"
    assert plain._pack_message(b"ab", final=False) == b"\x02\x02ab"
    assert plain._pack_message(b"cd", continuation=True) == b"\x80\x02cd"
    assert plain._pack_message(b"", control_code=0x9) == b"\x89\x00"
    masked = plain._pack_message(b"xyz", masked=True)
    assert masked[:2] == b"\x82\x83" and len(masked) == 9
    key = masked[2:6]
    assert bytes(c ^ key[i % 4] for i, c in enumerate(masked[6:])) == b"xyz"
    assert plain._pack_message(b"", masked=True) == b"\x82\x00"  # nothing to mask
    with pytest.raises(websocket.ProtocolError):
        plain._pack_message(b"", control_code=0x3)
    with pytest.raises(websocket.ProtocolError):
        plain._pack_message(b"x" * 126, control_code=0x9)
    with pytest.raises(websocket.ProtocolError):
        plain._pack_message(b"", control_code=0x8, final=False)
