"""Choosing and finding the hub: get_hub per thread, use_hub, GREENLANE_HUB, get_default_hub."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any, TypeVar

import pytest

from greenlane.greenthread import sleep, spawn
from greenlane.hubs import (
    BaseHub,
    HubError,
    epolls,
    get_default_hub,
    get_hub,
    kqueue,
    poll,
    selects,
    use_hub,
)

T = TypeVar("T")


def _nap_then(seconds: float, value: T) -> T:
    """Sleep (yielding to the hub), then return ``value``."""
    sleep(seconds)
    return value


def test_get_hub_is_per_thread_and_stable() -> None:
    main_hub = get_hub()
    assert get_hub() is main_hub
    found: dict[str, Any] = {}

    def in_thread() -> None:
        try:
            hub = get_hub()
            found["same_twice"] = get_hub() is hub
            found["hub"] = hub
            # The thread's hub runs its own green threads.
            found["result"] = spawn(_nap_then, 0.005, "thread result").wait()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            found["error"] = exc

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    hubs = []
    for thread in threads:
        thread.start()
        thread.join(10)
        assert "error" not in found, found.get("error")
        assert found["same_twice"] and found["result"] == "thread result"
        hubs.append(found.pop("hub"))
    assert hubs[0] is not main_hub and hubs[1] is not main_hub and hubs[0] is not hubs[1]
    assert get_hub() is main_hub
    for hub in hubs:
        hub.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_thread_hub_released_when_thread_ends() -> None:
    import gc

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    def use_greenlane() -> None:
        spawn(sleep, 0.001).wait()

    before = open_fds()
    for _ in range(20):
        thread = threading.Thread(target=use_greenlane)
        thread.start()
        thread.join(10)
    gc.collect()
    assert open_fds() - before < 5  # not one poller descriptor per finished thread


def test_thread_hub_does_not_block_main_hub() -> None:
    release = threading.Event()
    done: list[str] = []

    def in_thread() -> None:
        sleep(0.01)
        release.wait(10)
        done.append("thread")

    thread = threading.Thread(target=in_thread)
    thread.start()
    try:
        # While the other thread's hub waits, this thread's hub keeps running.
        assert spawn(_nap_then, 0.005, "main").wait() == "main"
    finally:
        release.set()
        thread.join(10)
    assert done == ["thread"]


def test_default_hub_on_linux_is_epolls() -> None:
    if not epolls.is_available():
        pytest.skip("epoll is Linux-only")
    assert get_default_hub() is epolls


@pytest.mark.usefixtures("fresh_hub")
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("epolls", epolls.Hub),
        ("poll", poll.Hub),
        ("selects", selects.Hub),
        (poll, poll.Hub),
        (selects.Hub, selects.Hub),
        ("greenlane.hubs.poll:Hub", poll.Hub),
        ("greenlane.hubs.selects", selects.Hub),
    ],
)
def test_use_hub_accepts(spec: Any, expected: type[BaseHub]) -> None:
    use_hub(spec)
    hub = get_hub()
    assert type(hub) is expected
    assert spawn(_nap_then, 0.001, 1).wait() == 1


@pytest.mark.usefixtures("fresh_hub")
def test_use_hub_custom_subclass() -> None:
    class MyHub(poll.Hub):
        pass

    use_hub(MyHub)
    assert type(get_hub()) is MyHub


@pytest.mark.usefixtures("fresh_hub")
def test_use_hub_none_is_default() -> None:
    use_hub("selects")
    use_hub()
    expected = os.environ.get("GREENLANE_HUB")
    if expected:
        assert type(get_hub()).__module__.endswith(expected)
    else:
        assert type(get_hub()) is get_default_hub().Hub


@pytest.mark.usefixtures("fresh_hub")
def test_use_hub_replaces_idle_hub() -> None:
    use_hub("poll")
    first = get_hub()
    use_hub("selects")
    assert get_hub() is not first
    assert type(get_hub()) is selects.Hub


@pytest.mark.usefixtures("fresh_hub")
@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("no-such-hub", ValueError),
        (int, TypeError),
        (sys, TypeError),  # a module without a Hub class
    ],
)
def test_use_hub_rejects(spec: Any, error: type[BaseException]) -> None:
    with pytest.raises(error):
        use_hub(spec)


@pytest.mark.usefixtures("fresh_hub")
def test_use_hub_refuses_a_class_that_is_not_a_hub_and_keeps_the_current_one() -> None:
    class NotAHub:
        pass

    use_hub("poll")
    hub = get_hub()
    with pytest.raises(TypeError, match=r"subclass of greenlane\.hubs\.BaseHub, got "
                                        r".*test_hub_selection\..*NotAHub"):
        use_hub(NotAHub)
    with pytest.raises(ValueError, match="unknown hub"):
        use_hub("no-such-hub")
    # A refused argument changes nothing: the same hub, still usable.
    assert get_hub() is hub
    assert spawn(_nap_then, 0.001, 2).wait() == 2


@pytest.mark.usefixtures("fresh_hub")
def test_use_hub_unavailable_raises_hub_error() -> None:
    if kqueue.is_available():
        pytest.skip("kqueue is available here")
    with pytest.raises(HubError):
        use_hub("kqueue")


def test_use_hub_while_running_raises() -> None:
    sleep(0)  # the hub's loop is now started
    assert get_hub().running
    with pytest.raises(HubError):
        use_hub("poll")


@pytest.mark.usefixtures("fresh_hub")
def test_use_hub_after_abort() -> None:
    sleep(0)
    hub = get_hub()
    hub.abort(wait=True)
    assert not hub.running
    use_hub("selects")
    assert type(get_hub()) is selects.Hub


@pytest.mark.parametrize("value", ["selects", "poll", "greenlane.hubs.poll:Hub"])
def test_greenlane_hub_environment_variable(value: str) -> None:
    code = ("from greenlane.hubs import get_hub; from greenlane import sleep; sleep(0.001); "
            "h = get_hub(); print(type(h).__module__ + ':' + type(h).__name__)")
    env = dict(os.environ, GREENLANE_HUB=value)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=30, check=True).stdout.strip()
    expected_module = value.partition(":")[0]
    if "." not in expected_module:
        expected_module = f"greenlane.hubs.{expected_module}"
    assert out == f"{expected_module}:Hub"


def test_greenlane_hub_environment_variable_invalid() -> None:
    code = "from greenlane.hubs import get_hub; get_hub()"
    env = dict(os.environ, GREENLANE_HUB="bogus")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode != 0
    assert "unknown hub 'bogus'" in proc.stderr
