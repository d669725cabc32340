"""greenlane.green.socket: the stdlib module's names, with green sockets where it matters."""

from __future__ import annotations

import importlib
import os
import socket as stdsocket
import subprocess
import sys
from typing import Any

import pytest

from greenlane.green import _dns, socket
from greenlane.green import ssl as green_ssl
from greenlane.green import time as green_time
from greenlane.greenio import GreenSocket
from greenlane.greenthread import sleep, spawn


def test_module_mirrors_the_stdlib() -> None:
    assert socket.socket is GreenSocket
    assert socket.SocketType is GreenSocket
    assert socket.AF_INET == stdsocket.AF_INET
    assert socket.timeout is stdsocket.timeout
    assert socket.gaierror is stdsocket.gaierror
    assert socket.inet_aton is stdsocket.inet_aton
    assert set(stdsocket.__all__) <= set(socket.__all__)
    for name in socket.__all__:
        assert hasattr(socket, name), name


def test_name_resolution_is_the_green_one() -> None:
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
                 "getnameinfo", "getfqdn"):
        assert getattr(socket, name) is getattr(_dns, name), name
        assert getattr(socket, name) is not getattr(stdsocket, name), name
    assert socket.gethostbyname("localhost") == stdsocket.gethostbyname("localhost")


def test_patches_declare_names_the_module_has() -> None:
    for module in (socket, green_ssl, green_time):
        for group, target, names in module.__patches__:
            assert group in ("socket", "time"), module
            stdlib = importlib.import_module(target)
            for dotted in names:
                green_obj: Any = module
                std_obj: Any = stdlib
                for part in dotted.split("."):
                    green_obj = getattr(green_obj, part)
                    std_obj = getattr(std_obj, part)
                assert green_obj is not std_obj, f"{module.__name__}: {dotted} is not green"
    patched = socket.__patches__[0][2]
    assert "create_connection" not in patched  # the stdlib's, over the patched names


def test_socketpair_is_green_and_cooperative() -> None:
    a, b = socket.socketpair()
    try:
        assert isinstance(a, GreenSocket) and isinstance(b, GreenSocket)
        assert a.family == getattr(stdsocket, "AF_UNIX", stdsocket.AF_INET)
        gt = spawn(b.recv, 5)
        sleep(0)
        assert not gt.dead
        a.sendall(b"pair!")
        assert gt.wait() == b"pair!"
    finally:
        a.close()
        b.close()


def test_socketpair_datagram() -> None:
    a, b = socket.socketpair(type=stdsocket.SOCK_DGRAM)
    with a, b:
        assert a.type == stdsocket.SOCK_DGRAM
        a.send(b"datagram")
        assert b.recv(100) == b"datagram"


def test_fromfd_duplicates() -> None:
    a, b = socket.socketpair()
    try:
        c = socket.fromfd(b.fileno(), b.family, b.type)
        assert isinstance(c, GreenSocket)
        assert c.fileno() != b.fileno()
        b.close()
        a.sendall(b"dup")
        assert c.recv(3) == b"dup"
        c.close()
        d = socket.fromfd(a, a.family, a.type)  # any object with fileno() works too
        d.close()
    finally:
        a.close()


def test_create_connection_and_create_server() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert isinstance(server, GreenSocket)
        assert server.getsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_REUSEADDR)
        port = server.getsockname()[1]
        acc = spawn(server.accept)
        client = socket.create_connection(("localhost", port), timeout=2.5,
                                          source_address=("127.0.0.1", 0))
        conn, addr = acc.wait()
        with client, conn:
            assert isinstance(client, GreenSocket)
            assert client.gettimeout() == 2.5
            assert addr == client.getsockname()
            client.sendall(b"cc")
            assert conn.recv(2) == b"cc"


def test_create_connection_reports_the_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port))
    if sys.version_info >= (3, 11):
        with pytest.raises(ExceptionGroup):  # noqa: F821
            socket.create_connection(("127.0.0.1", port), all_errors=True)


def test_create_server_options(tmp_path: object) -> None:
    with socket.create_server(("127.0.0.1", 0), reuse_port=True, backlog=5) as server:
        assert server.getsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_REUSEPORT)
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert not server.getsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_REUSEPORT)
    with pytest.raises(ValueError):
        socket.create_server(("127.0.0.1", 0), dualstack_ipv6=True, family=stdsocket.AF_INET)
    if hasattr(stdsocket, "AF_UNIX"):
        path = os.path.join(str(tmp_path), "srv.sock")
        with socket.create_server(path, family=stdsocket.AF_UNIX) as server:
            assert server.getsockname() == path
    with socket.create_server(("127.0.0.1", 0)) as taken:
        with pytest.raises(OSError, match="while attempting to bind"):
            socket.create_server(taken.getsockname())


@pytest.mark.skipif(not socket.has_dualstack_ipv6(), reason="no dual-stack IPv6")
def test_create_server_dualstack() -> None:
    try:
        server = socket.create_server(("::", 0), family=stdsocket.AF_INET6, dualstack_ipv6=True)
    except OSError:
        pytest.skip("cannot bind ::")
    with server:
        port = server.getsockname()[1]
        acc = spawn(server.accept)
        client = socket.create_connection(("127.0.0.1", port))
        conn, addr = acc.wait()
        # An IPv4 client on the IPv6 socket: seen as an IPv4-mapped address.
        assert addr[0] == "::ffff:127.0.0.1"
        client.sendall(b"v4")
        assert conn.recv(2) == b"v4"
        client.close()
        conn.close()


def test_socketpair_with_sock_nonblock_is_non_blocking() -> None:
    kind = stdsocket.SOCK_STREAM | getattr(stdsocket, "SOCK_NONBLOCK", 0)
    a, b = socket.socketpair(type=kind)
    with a, b:
        expected = 0.0 if kind != stdsocket.SOCK_STREAM else None
        assert a.gettimeout() == expected and b.gettimeout() == expected


_PATCHED_SCRIPT = r"""
import socket, sys, time, warnings
warnings.simplefilter("error")
import greenlane
greenlane.monkey_patch(socket=True, time=True)
from greenlane.greenio import GreenSocket
from greenlane.green import _dns
assert socket.socket is GreenSocket and socket.getaddrinfo is _dns.getaddrinfo
# The stdlib's create_connection and create_server, building green sockets.
with socket.create_server(("127.0.0.1", 0)) as server:
    assert type(server) is GreenSocket
    client = socket.create_connection(server.getsockname(), timeout=3)
    conn, _ = server.accept()
    with client, conn:
        assert type(client) is GreenSocket and client.gettimeout() == 3
        client.sendall(b"patched")
        assert conn.recv(7) == b"patched"
# ... and honouring a socket.socket replaced afterwards, as CPython's tests do with mocks.
class Refusing:
    def __init__(self, *args):
        pass
    def settimeout(self, value):
        pass
    def connect(self, address):
        raise TimeoutError("mock")
    def close(self):
        pass
real_socket, socket.socket = socket.socket, Refusing
try:
    socket.create_connection(("127.0.0.1", 9))
except TimeoutError as exc:
    assert str(exc) == "mock", exc
else:
    raise AssertionError("the mock was not used")
finally:
    socket.socket = real_socket
for bad, kind in ((-2, ValueError), ("1", TypeError), (None, TypeError)):
    try:
        time.sleep(bad)
    except kind:
        pass
    else:
        raise AssertionError(f"time.sleep({bad!r}) did not raise {kind.__name__}")
print("ok")
"""


def test_under_monkey_patching() -> None:
    result = subprocess.run([sys.executable, "-c", _PATCHED_SCRIPT], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
