"""os.fork(): the child gets a fresh hub that works; the parent's hub is unaffected."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable, TypeVar

import pytest

from greenlane import tpool
from greenlane.event import Event
from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub, notify_close, trampoline

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture(autouse=True)
def _no_pool_threads() -> None:
    # Thread-pool workers left by earlier tests (tpool, greendns, db_pool) would make each fork
    # here a fork of a multi-threaded process, which CPython 3.12+ warns may deadlock; these
    # tests are about the hub, so they fork a single-threaded process.
    tpool.killall()
    # killall() returns once each worker has said it exits; the OS thread ends a moment later,
    # and the kernel gives no event for that: poll its count of this process's threads.
    tasks = "/proc/self/task"
    deadline = time.monotonic() + 5
    while os.path.isdir(tasks) and len(os.listdir(tasks)) > 1 and time.monotonic() < deadline:
        time.sleep(0.001)

T = TypeVar("T")


def _nap_then(seconds: float, value: T) -> T:
    """Sleep (yielding to the hub), then return ``value``."""
    sleep(seconds)
    return value


def _in_child(body: Callable[[], Any]) -> Any:
    """Run ``body`` in a forked child; return what it returned (JSON) or raise its error."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        os.close(r)
        try:
            result = {"ok": body()}
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            result = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while True:
        # A blocking read in the parent: the child is short-lived and exits in any case.
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    outcome = json.loads(b"".join(chunks) or b"{}")
    if "error" in outcome:
        raise AssertionError(f"child failed: {outcome['error']}")
    return outcome["ok"]


@pytest.fixture
def busy_parent_hub(hub_backend: str) -> Iterator[tuple[Any, socket.socket, Any]]:
    """A running parent hub of each backend, with a green thread waiting on a socket."""
    a, b = socket.socketpair()
    sleep(0)
    parent_hub = get_hub()
    reader = spawn(trampoline, a, read=True, timeout=10)
    sleep(0)
    yield parent_hub, b, reader
    notify_close(a.fileno())
    a.close()
    b.close()


def test_child_gets_fresh_working_hub(busy_parent_hub: tuple[Any, socket.socket, Any]) -> None:
    parent_hub, b, reader = busy_parent_hub
    parent_hub_id = id(parent_hub)

    def child() -> Any:
        hub = get_hub()
        done = Event[str]()
        spawn(lambda: done.send(_nap_then(0.001, "spawned ran")))
        sleep(0.002)
        x, y = socket.socketpair()
        try:
            y.send(b"c")
            trampoline(x, read=True, timeout=2)
        finally:
            notify_close(x.fileno())
            x.close()
            y.close()
        return {
            "fresh": id(hub) != parent_hub_id,
            "parent_readers_inherited": len(hub.get_readers()),
            "spawned": done.wait(),
            "timers": hub.get_timers_count(),
        }

    result = _in_child(child)
    assert result == {"fresh": True, "parent_readers_inherited": 0,
                      "spawned": "spawned ran", "timers": 0}
    # The parent's hub is untouched: same object, its waiter is still registered and works.
    assert get_hub() is parent_hub
    assert len(parent_hub.get_readers()) == 1
    b.send(b"p")
    assert reader.wait() is not None
    sleep(0.001)


def test_parent_epoll_registrations_survive_child_exit(
        busy_parent_hub: tuple[Any, socket.socket, Any]) -> None:
    # The child shares the parent's epoll instance; it must not unregister anything in it.
    parent_hub, b, reader = busy_parent_hub

    def child() -> Any:
        sleep(0.001)
        x, y = socket.socketpair()
        try:
            trampoline(x, write=True)
        finally:
            notify_close(x.fileno())
            x.close()
            y.close()
        return True

    for _ in range(2):
        assert _in_child(child) is True
    b.send(b"after the children")
    reader.wait()


def test_fork_from_green_thread() -> None:
    def forker() -> Any:
        return _in_child(lambda: spawn(_nap_then, 0.001, 42).wait())

    assert spawn(forker).wait() == 42
    sleep(0.001)


def test_child_without_prior_hub() -> None:
    assert _in_child(lambda: spawn(lambda: 7).wait()) == 7


def test_fork_in_subprocess_with_default_hub(tmp_path: Any) -> None:
    # Same check without pytest around: a forked child can sleep and spawn.
    import subprocess

    code = (
        "import os, greenlane\n"
        "greenlane.sleep(0.001)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    gt = greenlane.spawn(lambda: greenlane.sleep(0.001) or 3)\n"
        "    os._exit(gt.wait())\n"
        "_, status = os.waitpid(pid, 0)\n"
        "greenlane.sleep(0.001)\n"
        "print(os.WEXITSTATUS(status))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert out.strip() == "3"
