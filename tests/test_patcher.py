"""monkey_patch, is_monkey_patched and original, each in a fresh interpreter.

Patching edits the stdlib modules of the whole process, so every test runs its scenario in a
subprocess (``sys.executable``) and checks what it printed; the test process stays unpatched.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(code: str, timeout: float = 60) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_patched_time_sleep_and_sockets_cooperate() -> None:
    out = _run("""
        import greenlane
        greenlane.monkey_patch()
        import socket, time
        from greenlane.greenio import GreenSocket

        assert socket.socket is GreenSocket and socket.SocketType is GreenSocket
        assert time.sleep is greenlane.sleep
        order = []
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def server():
            conn, _ = listener.accept()          # parks: the main thread must keep running
            order.append("accepted")
            conn.sendall(conn.recv(10).upper())
            conn.close()

        def sleeper(tag):
            time.sleep(0.2)
            order.append(tag)

        start = time.monotonic()
        threads = [greenlane.spawn(server), greenlane.spawn(sleeper, "a"),
                   greenlane.spawn(sleeper, "b")]
        client = socket.create_connection(listener.getsockname())
        assert isinstance(client, GreenSocket)
        client.sendall(b"ping")
        assert client.recv(10) == b"PING"
        for t in threads:
            t.wait()
        elapsed = time.monotonic() - start
        # Two 0.2 s sleeps overlapped with each other and with the socket traffic.
        assert elapsed < 0.38, elapsed
        assert order == ["accepted", "a", "b"], order
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_monkey_patch_is_idempotent_and_original_gives_unpatched_modules() -> None:
    out = _run("""
        import socket, ssl, time
        real_socket, real_sleep = socket.socket, time.sleep
        real_sslsocket = ssl.SSLContext.sslsocket_class
        from greenlane import patcher
        assert not patcher.is_monkey_patched("socket")
        patcher.monkey_patch()
        patcher.monkey_patch()
        patcher.monkey_patch(socket=True)
        from greenlane.greenio import GreenSocket
        from greenlane.green.ssl import GreenSSLSocket
        assert socket.socket is GreenSocket
        assert ssl.SSLContext.sslsocket_class is GreenSSLSocket
        assert patcher.is_monkey_patched("socket") and patcher.is_monkey_patched(time)
        # The saved originals survive repeated patching.
        assert patcher._saved["socket"]["socket"] is real_socket
        assert patcher._saved["time"]["sleep"] is real_sleep
        osock = patcher.original("socket")
        assert osock is patcher.original("socket")
        assert osock.socket is not GreenSocket and osock.socket.__module__ != GreenSocket.__module__
        s = osock.socket()
        assert s.gettimeout() is None and s.getblocking()  # a real, blocking socket
        a, b = osock.socketpair()
        a.sendall(b"x"); assert b.recv(1) == b"x"
        for x in (s, a, b):
            x.close()
        assert patcher.original("time").sleep is real_sleep
        assert patcher.original("ssl").SSLContext.sslsocket_class.__name__ == "SSLSocket"
        assert patcher.original("ssl").SSLContext.sslsocket_class is not GreenSSLSocket
        import json
        assert patcher.original("json") is json  # not patched: the module itself
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_selection_rules_follow_eventlet() -> None:
    out = _run("""
        import socket, time, warnings
        real_socket, real_sleep = socket.socket, time.sleep
        from greenlane import patcher
        patcher.monkey_patch(time=True)               # only the named group
        assert time.sleep is not real_sleep and socket.socket is real_socket
        patcher.monkey_patch(all=False)               # nothing
        assert socket.socket is real_socket
        patcher.monkey_patch(time=False)              # everything but time
        assert socket.socket is not real_socket
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patcher.monkey_patch(os=True)
        assert any("'os'" in str(w.message) for w in caught), caught
        try:
            patcher.monkey_patch(sockets=True)
        except TypeError:
            pass
        else:
            raise AssertionError("an unknown keyword must raise TypeError")
        patcher.monkey_patch(__builtin__=False)       # eventlet's legacy spelling is accepted
        print("ok")
    """)
    assert out.split() == ["ok"]


@pytest.mark.parametrize("client", ["http.client", "urllib"])
def test_stdlib_http_client_against_a_green_server_after_patching(client: str) -> None:
    out = _run(f"""
        import greenlane
        greenlane.monkey_patch()
        import http.client, urllib.request

        def handle(conn, addr):
            f = conn.makefile("rb")
            request_line = f.readline()
            while f.readline() not in (b"\\r\\n", b""):
                pass
            body = b"hello " + request_line.split()[1]
            conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n"
                         b"Connection: close\\r\\n\\r\\n%s" % (len(body), body))
            f.close()

        server = greenlane.listen(("127.0.0.1", 0))
        port = server.getsockname()[1]
        greenlane.spawn(greenlane.serve, server, handle)
        if {client!r} == "urllib":
            with urllib.request.urlopen(f"http://127.0.0.1:{{port}}/u", timeout=10) as resp:
                assert resp.status == 200
                print(resp.read().decode())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/h")
            resp = conn.getresponse()
            assert resp.status == 200
            print(resp.read().decode())
            conn.close()
    """)
    assert out.strip() == ("hello /u" if client == "urllib" else "hello /h")
