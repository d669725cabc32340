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
        assert not patcher._saved.deferred    # (the finder stays while psycopg is awaited)
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


def test_already_patched_is_eventlet_s_view_of_the_patched_groups() -> None:
    out = _run("""
        from greenlane import patcher
        print(dict(patcher.already_patched))
        patcher.monkey_patch(socket=True, select=True)
        print(sorted(patcher.already_patched), patcher.already_patched.get("socket"),
              patcher.already_patched.get("thread"), len(patcher.already_patched))
        patcher.monkey_patch(time=True)
        print(sorted(patcher.already_patched))
        try:
            patcher.already_patched["os"] = True
        except TypeError:
            print("read-only")
    """)
    assert out.splitlines() == ["{}", "['select', 'socket'] True None 2",
                                "['select', 'socket', 'time']", "read-only"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("forker", ["main", "thread"])
def test_fork_after_patching_gives_the_child_a_fresh_hub_and_sane_threading(forker: str) -> None:
    # The child keeps only the green thread that forked; it becomes the child's main thread.
    out = _run(f"""
        import greenlane
        greenlane.monkey_patch()
        import os, sys, threading, time
        from greenlane.hubs import get_hub

        stop = threading.Event()
        background = threading.Thread(target=stop.wait, name="background")
        background.start()
        parent_hub = get_hub()

        def fork():
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    me = threading.current_thread()
                    names = sorted(t.name for t in threading.enumerate())
                    assert me in threading.enumerate() and me is threading.main_thread(), names
                    assert names == [me.name], names  # the others did not fork
                    assert get_hub() is not parent_hub
                    started = time.monotonic()
                    greenlane.sleep(0.01)
                    assert time.monotonic() - started >= 0.01
                    box = []
                    worker = threading.Thread(target=box.append, args=(1,))
                    worker.start()
                    worker.join(5)
                    assert box == [1]
                    code = 0
                except BaseException as exc:
                    print("child:", repr(exc), file=sys.stderr)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            _, status = os.waitpid(pid, 0)  # green: the background thread keeps running
            return os.waitstatus_to_exitcode(status)

        if {forker!r} == "main":
            code = fork()
        else:
            result = []
            forker = threading.Thread(target=lambda: result.append(fork()))
            forker.start()
            forker.join()
            code = result[0]
        assert background.is_alive() and get_hub() is parent_hub
        stop.set()
        background.join(5)
        print(code, background.is_alive())
    """)
    assert out.split() == ["0", "False"]


def test_locks_created_before_patching() -> None:
    # logging's locks are made green; any other real lock in a module's globals is reported,
    # naming it; locks created after patching are green.
    out = _run("""
        import logging, sys, threading, types, warnings
        handler = logging.StreamHandler()
        logging.getLogger("early").addHandler(handler)
        early = types.ModuleType("early_module")
        early.LOCK = threading.Lock()
        sys.modules["early_module"] = early
        from greenlane import patcher
        from greenlane.green import thread
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patcher.monkey_patch()
        print(isinstance(logging._lock, thread.RLock), isinstance(handler.lock, thread.RLock))
        print([str(w.message).split(" is ")[0] for w in caught
               if "early_module" in str(w.message)])
        print(isinstance(threading.Lock(), thread.LockType),
              isinstance(threading.RLock(), thread.RLock), early.LOCK.__class__.__module__)
    """)
    assert out.splitlines() == [
        "True True",
        "['greenlane.monkey_patch(): early_module.LOCK']",
        "True True _thread",
    ]


def test_import_patched_substitutes_in_submodules_and_restores_the_originals(
        tmp_path: Path) -> None:
    package = tmp_path / "pkg_with_sub"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .sub import which_socket\n")
    (package / "sub" / "__init__.py").write_text(
        "import socket\n\ndef which_socket():\n    return socket\n")
    out = _run(f"""
        import sys, socket
        sys.path.insert(0, {str(tmp_path)!r})
        import greenlane
        from greenlane.green import socket as green_socket
        import pkg_with_sub, pkg_with_sub.sub
        before = dict(sys.modules)
        patched = greenlane.import_patched("pkg_with_sub")
        print(patched.which_socket() is green_socket, pkg_with_sub.which_socket() is socket)
        print(sys.modules["pkg_with_sub"] is pkg_with_sub,
              sys.modules["pkg_with_sub.sub"] is pkg_with_sub.sub,
              sys.modules["__patched_module_pkg_with_sub"] is patched)
        print(pkg_with_sub.sub.which_socket() is socket, socket.socket is not green_socket.socket)
        # with no substitutes named, every green module stands in (eventlet's defaults)
        default = greenlane.import_patched("pkg_with_sub.sub")
        print(default.socket is green_socket, sys.modules["pkg_with_sub.sub"] is pkg_with_sub.sub,
              pkg_with_sub.sub is before["pkg_with_sub.sub"])
    """)
    assert out.split() == ["True"] * 10


def test_builtins_group_patches_open_to_tell_the_hub_about_new_descriptors() -> None:
    out = _run("""
        import builtins, os, socket
        import greenlane
        from greenlane import hubs, patcher
        real_open = builtins.open
        patcher.monkey_patch(all=False, builtins=True)
        print(builtins.open is not real_open, patcher.is_monkey_patched("builtins"),
              sorted(patcher.already_patched))

        a, b = socket.socketpair()  # real sockets: os is not patched
        fd = a.fileno()

        def waiter():
            try:
                hubs.trampoline(fd, read=True, timeout=5)
                return "woken"
            except hubs.IOClosed:
                return "IOClosed"

        gt = greenlane.spawn(waiter)
        greenlane.sleep(0)
        a.detach()
        os.close(fd)  # behind the hub's back: the waiter's registration is stale
        with open(os.devnull) as f:
            print(f.fileno() == fd, gt.wait())
            with open(f.fileno(), closefd=False) as again:  # not a new descriptor
                print(again.fileno() == fd)
        b.close()

        class Holder:  # the builtin is not a descriptor, nor is the green one
            opener = open
        with Holder().opener(os.devnull, "rb") as f:
            print(f.read())
    """)
    assert out.splitlines() == ["True True ['builtins']", "True IOClosed", "True", "b''"]


def test_select_keeps_poll_and_epoll_but_green() -> None:
    # eventlet deletes select.poll/epoll and the selectors built on them; here they stay,
    # cooperative (greenlane.green.select docstring).
    out = _run("""
        import greenlane
        greenlane.monkey_patch()
        import os, select, selectors
        from greenlane.green import select as green_select, selectors as green_selectors
        r, w = os.pipe()
        poller = select.poll()
        poller.register(r, select.POLLIN)
        writer = greenlane.spawn_after(0.05, os.write, w, b"x")
        events = poller.poll(5000)  # a blocking poll would never let the writer run
        print(select.poll is green_select.poll, events == [(r, select.POLLIN)])
        print(selectors.DefaultSelector is green_selectors.DefaultSelector,
              hasattr(select, "epoll") == hasattr(green_select, "epoll"))
        writer.wait()
    """)
    assert out.split() == ["True"] * 4
