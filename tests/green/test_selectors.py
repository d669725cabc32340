"""greenlane.green.selectors: the stdlib's selector classes, waiting cooperatively.

CPython's test_selectors runs against these under patching too; here: every class waits
without blocking other green threads, times out, reports the right keys and events, and the
patched ``selectors`` module is what stdlib code that builds selectors after patching gets.
"""

from __future__ import annotations

import selectors as stdselectors
import subprocess
import sys
import time
from typing import Any

import pytest

from greenlane import _originals as real
from greenlane.green import select as green_select
from greenlane.green import selectors
from greenlane.green import socket as green_socket
from greenlane.greenthread import sleep, spawn

CLASSES = [name for name in ("SelectSelector", "PollSelector", "EpollSelector")
           if hasattr(selectors, name)]


@pytest.fixture(params=CLASSES)
def selector_class(request: pytest.FixtureRequest) -> Any:
    return getattr(selectors, request.param)


def test_module_mirrors_the_stdlib() -> None:
    for name in ("EVENT_READ", "EVENT_WRITE", "BaseSelector", "SelectorKey"):
        assert getattr(selectors, name) is getattr(stdselectors, name), name
    for name in CLASSES:
        green_class = getattr(selectors, name)
        assert issubclass(green_class, getattr(stdselectors, name)), name
        assert green_class is not getattr(stdselectors, name)
    expected = "EpollSelector" if real.epoll is not None else "PollSelector"
    assert selectors.DefaultSelector is getattr(selectors, expected)
    [(group, target, names)] = selectors.__patches__
    assert (group, target) == ("select", "selectors")
    assert set(names) == {*CLASSES, "DefaultSelector"}
    for name in selectors.__all__:
        assert hasattr(selectors, name), name


def test_selector_objects_use_the_green_waits() -> None:
    with selectors.SelectSelector() as sel:
        assert sel._select is green_select.select
    if "PollSelector" in CLASSES:
        with selectors.PollSelector() as sel:
            assert type(sel._selector).__module__ == "greenlane.green.select"
    if "EpollSelector" in CLASSES:
        with selectors.EpollSelector() as sel:
            assert isinstance(sel._selector, green_select.epoll)
            assert sel.fileno() == sel._selector.fileno()


def test_select_waits_cooperatively(selector_class: Any) -> None:
    a, b = green_socket.socketpair()
    with a, b, selector_class() as sel:
        key = sel.register(a, selectors.EVENT_READ, data="mine")
        ran = []
        spawn(ran.append, 1)
        sender = spawn(lambda: (sleep(0.02), b.send(b"!")))
        ready = sel.select(5)
        assert ran == [1]
        assert ready == [(key, selectors.EVENT_READ)]
        assert ready[0][0].data == "mine"
        sender.wait()


def test_select_reports_read_and_write(selector_class: Any) -> None:
    a, b = green_socket.socketpair()
    with a, b, selector_class() as sel:
        sel.register(a, selectors.EVENT_READ | selectors.EVENT_WRITE)
        [(key, events)] = sel.select(5)
        assert key.fileobj is a and events == selectors.EVENT_WRITE
        b.send(b"!")
        [(key, events)] = sel.select(5)
        assert events == selectors.EVENT_READ | selectors.EVENT_WRITE
        sel.modify(a, selectors.EVENT_READ)
        a.recv(1)
        assert sel.select(0) == []


def test_select_times_out(selector_class: Any) -> None:
    a, b = green_socket.socketpair()
    with a, b, selector_class() as sel:
        sel.register(a, selectors.EVENT_READ)
        start = time.monotonic()
        assert sel.select(0.1) == []
        assert 0.09 <= time.monotonic() - start < 2
        assert sel.select(0) == []
        assert sel.select(-1) == []  # negative: a poll, as in the stdlib


def test_empty_selector_sleeps(selector_class: Any) -> None:
    with selector_class() as sel:
        start = time.monotonic()
        assert sel.select(0.05) == []
        assert time.monotonic() - start >= 0.04


def test_concurrent_selectors_overlap(selector_class: Any) -> None:
    pairs = [green_socket.socketpair() for _ in range(30)]
    sels = []
    try:
        for a, _ in pairs:
            sel = selector_class()
            sel.register(a, selectors.EVENT_READ)
            sels.append(sel)
        start = time.monotonic()
        gts = [spawn(sel.select, 0.2) for sel in sels]
        assert [gt.wait() for gt in gts] == [[]] * 30
        assert time.monotonic() - start < 2.0  # one at a time: 6 s
    finally:
        for sel in sels:
            sel.close()
        for a, b in pairs:
            a.close()
            b.close()


def test_stdlib_code_gets_green_selectors_once_patched() -> None:
    # socketserver binds its selector class when imported: imported after patching, its
    # handle_request() (a selector wait with the server's timeout) lets other green threads
    # run. (serve_forever's shutdown() needs the thread group, patched separately.)
    code = """
import greenlane
greenlane.monkey_patch(select=True, socket=True, time=True, thread=False, os=False,
                       subprocess=False, psycopg=False)
import selectors, socket, socketserver
from greenlane.green import selectors as green
assert selectors.DefaultSelector is green.DefaultSelector
assert issubclass(socketserver._ServerSelector, (green.PollSelector, green.SelectSelector))

class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(self.request.recv(100).upper())

server = socketserver.TCPServer(("127.0.0.1", 0), Echo)
server.timeout = 5
def serve():
    for _ in range(5):
        server.handle_request()
loop = greenlane.spawn(serve)
replies = []
def client(i):
    with socket.create_connection(server.server_address, timeout=5) as c:
        c.sendall(b"hello %d" % i)
        replies.append(c.recv(100))
pool = greenlane.GreenPool()
for i in range(5):
    pool.spawn(client, i)
pool.waitall()
loop.wait()
server.server_close()
print(sorted(replies))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted(b"HELLO %d" % i for i in range(5)))
