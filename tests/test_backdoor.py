"""greenlane.backdoor: a real console over loopback and Unix sockets, output routing, safety."""

from __future__ import annotations

import socket
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenlane import Event, connect, listen, sleep, spawn
from greenlane.backdoor import (
    FileProxy,
    SocketConsole,
    UnsafeBackdoorWarning,
    _StreamRouter,
    backdoor_server,
)
from greenlane.green import socket as green_socket


class Client:
    """The user's side: a text file over the connection."""

    def __init__(self, address: Any) -> None:
        self.sock = connect(address)
        self.f = self.sock.makefile("rw")

    def read_banner(self) -> str:
        text = ""
        while not text.endswith(">>> "):
            chunk = self.f.read(1)
            assert chunk, f"connection closed during the banner: {text!r}"
            text += chunk
        return text

    def run(self, line: str, newline: str = "\n") -> str:
        """Send one line; return what the console printed before its next prompt."""
        self.f.write(line + newline)
        self.f.flush()
        text = ""
        while not text.endswith(">>> "):
            chunk = self.f.read(1)
            assert chunk, f"connection closed after {line!r}: {text!r}"
            text += chunk
        return text[:-4]

    def close(self) -> None:
        self.f.close()
        self.sock.close()


@pytest.fixture
def server() -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    namespace: dict[str, Any] = {"x": 41}
    listener = listen(("127.0.0.1", 0))
    thread = spawn(backdoor_server, listener, namespace)
    yield listener.getsockname(), thread, namespace
    thread.kill()


def test_a_console_runs_code_in_the_shared_namespace(server: Any) -> None:
    address, _thread, namespace = server
    client = Client(address)
    banner = client.read_banner()
    assert banner.startswith("Python ")
    assert "InteractiveConsole" in banner
    assert banner.endswith("greenlane.backdoor)\n>>> ")  # no blank line before the prompt
    assert client.run("print(x + 1)") == "42\n"
    assert client.run("y = x * 2") == ""
    assert namespace["y"] == 82
    assert client.run("y") == "82\n"  # the value of an expression is echoed
    client.close()


def test_crlf_lines_and_tracebacks_reach_the_client(server: Any) -> None:
    address, _thread, _ns = server
    client = Client(address)
    client.read_banner()
    assert client.run("print('crlf')", newline="\r\n") == "crlf\n"
    out = client.run("1/0")
    assert "Traceback" in out and "ZeroDivisionError" in out
    client.close()


def test_output_of_other_green_threads_is_not_sent_to_the_console(
        server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    address, _thread, _ns = server
    client = Client(address)
    client.read_banner()  # the console is now waiting for a line, with streams routed
    assert isinstance(sys.stdout, _StreamRouter)
    done = Event()

    def elsewhere() -> None:
        print("from another green thread")
        done.send()

    spawn(elsewhere)
    done.wait()
    assert client.run("print('from the console')") == "from the console\n"
    assert "from another green thread" in capsys.readouterr().out
    client.close()


def test_exit_closes_only_that_console(server: Any) -> None:
    address, _thread, _ns = server
    first = Client(address)
    first.read_banner()
    first.f.write("exit()\n")
    first.f.flush()
    assert first.f.read() == ""  # the server closed the connection
    first.close()
    second = Client(address)
    second.read_banner()
    assert second.run("print('still here')") == "still here\n"
    second.close()


def test_streams_are_restored_when_the_last_console_ends(server: Any) -> None:
    address, _thread, _ns = server
    before = sys.stdout
    client = Client(address)
    client.read_banner()
    assert sys.stdout is not before
    client.close()
    for _ in range(100):  # the console notices end of input on its next turns
        if sys.stdout is before:
            break
        sleep(0.01)
    assert sys.stdout is before


def test_killing_the_server_closes_its_consoles_and_socket(
        capsys: pytest.CaptureFixture[str]) -> None:
    listener = listen(("127.0.0.1", 0))
    address = listener.getsockname()
    thread = spawn(backdoor_server, listener)
    client = Client(address)
    client.read_banner()
    thread.kill()
    assert client.f.read() == ""  # the console was closed with its server
    client.close()
    with pytest.raises(OSError):
        connect(address)
    err = capsys.readouterr().err
    assert f"backdoor server listening on 127.0.0.1:{address[1]}" in err
    assert "backdoor closed to 127.0.0.1:" in err


def test_a_client_that_leaves_at_once_does_not_stop_the_server(server: Any) -> None:
    address, thread, _ns = server
    for _ in range(3):
        raw = connect(address)
        raw.close()
    client = Client(address)
    client.read_banner()
    assert client.run("print('ok')") == "ok\n"
    client.close()
    assert not thread.dead


def test_unix_socket_server_does_not_warn(tmp_path: Path) -> None:
    path = str(tmp_path / "bd.sock")
    listener = green_socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsafeBackdoorWarning)
        thread = spawn(backdoor_server, listener)
        client = Client(path)
        client.read_banner()
        assert client.run("print(2 ** 10)") == "1024\n"
    client.close()
    thread.kill()


def test_binding_beyond_loopback_warns() -> None:
    # Bound but never listening: nothing can connect, so nothing is exposed; accept() then
    # fails (EINVAL), which ends the server after the warning was given.
    sock = green_socket.socket(socket.AF_INET)
    sock.bind(("0.0.0.0", 0))
    with pytest.warns(UnsafeBackdoorWarning, match="not a loopback address"):
        with pytest.raises(OSError):
            backdoor_server(sock)
    assert sock.fileno() == -1  # closed on the way out


def test_file_proxy_ignores_a_vanished_peer() -> None:
    class Gone:
        def write(self, data: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            pass

    proxy = FileProxy(Gone())
    assert proxy.write("lost") == 0
    assert proxy.isatty()


def test_socket_console_reads_end_of_input_as_eof() -> None:
    a, b = green_socket.socketpair()
    f = a.makefile("rw")
    console = SocketConsole(f, ("peer", 1))
    b.close()
    with pytest.raises(EOFError):
        console.raw_input(">>> ")
    with pytest.raises(BrokenPipeError):
        f.close()  # the prompt is still buffered for a peer that left; close() says so
    a.close()
