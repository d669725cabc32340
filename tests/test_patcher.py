"""monkey_patch, is_monkey_patched, original, import_patched, inject, patch_function and
``python -m greenlane.patcher``, each in a fresh interpreter.

Patching edits the stdlib modules of the whole process, so every test runs its scenario in a
subprocess (``sys.executable``) and checks what it printed; the test process stays unpatched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
        from greenlane.green import time as green_time
        assert time.sleep is green_time.sleep
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
            time.sleep(0.5)
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
        # Two 0.5 s sleeps overlapped with each other and with the socket traffic (one after
        # the other: 1 s; the margin is for a loaded machine, PyPy's warm-up included).
        assert elapsed < 0.9, elapsed
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
        assert patcher.is_monkey_patched("thread") and patcher.is_monkey_patched("_thread")
        # The saved originals survive repeated patching.
        assert patcher._saved.originals["socket"]["socket"] is real_socket
        assert patcher._saved.originals["time"]["sleep"] is real_sleep
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
        # original("threading") starts real threads: one runs while we block in a real wait.
        import _thread, threading
        othreading = patcher.original("threading")
        assert othreading.Lock is not threading.Lock
        ran = othreading.Event()
        seen = []
        def body():
            seen.append(othreading.get_ident())
            ran.set()
        t = othreading.Thread(target=body)
        t.start()
        assert ran.wait(10) and seen[0] != patcher.original("_thread").get_ident()
        t.join(10)
        assert not t.is_alive()
        assert patcher.original("_thread").allocate_lock is not _thread.allocate_lock
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
            patcher.monkey_patch(MySQLdb=True)      # no green module for it yet
        assert any("'MySQLdb'" in str(w.message) for w in caught), caught
        assert not patcher.is_monkey_patched("builtins")  # off unless named
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


def test_declarations_are_checked_and_version_gaps_reported() -> None:
    out = _run("""
        import types, warnings, json
        from greenlane import patcher
        green = types.ModuleType("fake_green")
        green.dumps = lambda *a, **k: "green"
        green.no_such_name_here = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patcher._apply(green, "json", ("dumps", "no_such_name_here"))
        assert json.dumps({}) == "green"
        assert any("json.no_such_name_here does not exist on" in str(w.message)
                   for w in caught), [str(w.message) for w in caught]
        try:
            patcher._apply(green, "json", ("loads",))
        except AttributeError as exc:
            assert "fake_green" in str(exc) and "loads" in str(exc)
        else:
            raise AssertionError("a name the green module lacks must be an error")
        green.__patches__ = (("nonsense", "json", ("dumps",)),)
        try:
            list(patcher._declared(green))
        except ValueError as exc:
            assert "fake_green" in str(exc)
        else:
            raise AssertionError("an unknown group must be an error")
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_patching_is_lazy() -> None:
    out = _run("""
        import sys
        import greenlane
        greenlane.monkey_patch(thread=True)
        assert "greenlane.green.thread" in sys.modules
        assert "greenlane.green.ssl" not in sys.modules and "ssl" not in sys.modules
        print("ok")
    """)
    assert out.split() == ["ok"]


@pytest.mark.parametrize("first", ["ssl", "greenlane.green.ssl"])
def test_ssl_is_patched_when_first_imported(first: str) -> None:
    # Loading ssl (OpenSSL) only to patch it would cost more than the rest of patching.
    # Either ssl comes first, or greenlane's own green ssl (the server's TLS, wrap_ssl) brings
    # it in while it is itself being imported.
    out = _run(f"""
        import importlib, sys
        import greenlane
        from greenlane import patcher
        greenlane.monkey_patch()
        assert "ssl" not in sys.modules and "greenlane.green.ssl" not in sys.modules
        assert patcher.is_monkey_patched("ssl")
        import socket
        real_socket = patcher._saved.originals["socket"]["socket"]
        importlib.import_module({first!r})
        import ssl
        from greenlane.green.ssl import GreenSSLSocket
        from greenlane.greenio import GreenSocket
        assert ssl.SSLContext.sslsocket_class is GreenSSLSocket
        # ssl was executed on the real socket class (SSLSocket subclasses it), and the green
        # one is back in socket afterwards.
        assert ssl.SSLSocket.__mro__[1] is real_socket and socket.socket is GreenSocket
        assert type(ssl.__loader__).__name__ == "SourceFileLoader"
        assert ssl.__spec__.loader is ssl.__loader__
        assert not any(type(f).__name__ == "_PatchOnImport" for f in sys.meta_path)
        assert patcher.original("ssl").SSLContext.sslsocket_class is not GreenSSLSocket
        # And it works: a TLS handshake between two green threads over a socketpair.
        import os, shutil, subprocess, tempfile
        if shutil.which("openssl") is None:
            print("ok")  # no certificate maker here; the checks above were made
            raise SystemExit
        d = tempfile.mkdtemp()
        key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.load_verify_locations(cert)
        a, b = socket.socketpair()
        def serve():
            with server_ctx.wrap_socket(a, server_side=True) as s:
                s.sendall(s.recv(5).upper())
        t = greenlane.spawn(serve)
        with client_ctx.wrap_socket(b, server_hostname="localhost") as c:
            assert isinstance(c, GreenSSLSocket)
            c.sendall(b"hello")
            assert c.recv(5) == b"HELLO"
        t.wait()
        print("ok")
    """)
    assert out.split() == ["ok"]


def test_command_line_runs_a_script_and_a_module_patched(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import sys, threading, socket
        from greenlane import patcher
        from greenlane.green.thread import LockType
        print(__name__, sys.argv[1:], patcher.is_monkey_patched("socket"),
              isinstance(threading.Lock(), LockType))
    """))
    path = str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": path}
    for target in ([str(script)], ["-m", "prog"]):
        proc = subprocess.run([sys.executable, "-m", "greenlane.patcher", *target, "a", "-b"],
                              capture_output=True, text=True, timeout=60, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["__main__", "['a',", "'-b']", "True", "True"]
    usage = subprocess.run([sys.executable, "-m", "greenlane.patcher"], capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_import_patched_inject_and_patch_function(tmp_path: Path) -> None:
    (tmp_path / "usesocket.py").write_text("import socket\nSOCKET = socket.socket\n")
    out = _run(f"""
        import sys, socket
        sys.path.insert(0, {str(tmp_path)!r})
        from greenlane import patcher
        from greenlane.greenio import GreenSocket
        import usesocket
        assert usesocket.SOCKET is socket.socket              # the plain import: real
        green = patcher.import_patched("usesocket")
        assert green.SOCKET is GreenSocket and green is not usesocket
        assert sys.modules["usesocket"] is usesocket           # restored
        assert sys.modules["socket"] is socket and socket.socket is not GreenSocket
        fake = type(sys)("fake_socket")
        fake.socket = "stand-in"
        custom = patcher.import_patched("usesocket", ("socket", fake))
        assert custom.SOCKET == "stand-in"
        names = {{}}
        patcher.inject("usesocket", names)
        assert names["SOCKET"] is GreenSocket and "__name__" not in names

        def which():
            import socket as s
            return s.socket
        assert patcher.patch_function(which)() is GreenSocket
        assert which() is socket.socket
        assert not patcher.is_monkey_patched("socket")
        print("ok")
    """)
    assert out.split() == ["ok"]
