"""BaseHub.call_threadsafe: the one way in from other OS threads and signal handlers."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from greenlane import Event, sleep, spawn
from greenlane.hubs import HubError, get_hub
from greenlane.hubs._wakeup import Wakeup


def test_many_threads_at_once_every_call_runs_in_order(hub_backend: str) -> None:
    hub = get_hub()
    threads, per_thread = 16, 300
    seen: dict[int, list[int]] = {t: [] for t in range(threads)}
    done = Event[None]()
    total = threads * per_thread
    count = [0]

    def record(t: int, i: int) -> None:
        seen[t].append(i)
        count[0] += 1
        if count[0] == total:
            done.send()

    start = threading.Barrier(threads)

    def worker(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            hub.call_threadsafe(record, t, i)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    # The hub blocks in its poller while the threads push: only the wake-up can end the wait.
    done.wait(10)
    for w in workers:
        w.join()
    assert count[0] == total
    for t in range(threads):
        assert seen[t] == list(range(per_thread))
    assert hub.statistics().threadsafe == 0


def test_wakes_a_hub_blocked_in_its_poller(hub_backend: str) -> None:
    hub = get_hub()
    evt = Event[str]()
    t = threading.Timer(0.05, hub.call_threadsafe, (evt.send, "from a thread"))
    started = time.monotonic()
    t.start()
    # Nothing else can wake the hub: no timers, no fds; the default poll would last 60 s.
    assert evt.wait() == "from a thread"
    assert time.monotonic() - started < 5
    t.join()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_from_a_signal_handler() -> None:
    hub = get_hub()
    evt = Event[int]()
    previous = signal.signal(signal.SIGUSR1,
                             lambda signum, frame: hub.call_threadsafe(evt.send, signum))
    try:
        # The signal arrives while the hub blocks in epoll_wait; PEP 475 retries the wait
        # after the handler, so only the wake-up descriptor can end it.
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        assert evt.wait(10) == signal.SIGUSR1
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_from_the_hub_thread_itself() -> None:
    hub = get_hub()
    out: list[int] = []
    hub.call_threadsafe(out.append, 1)
    for _ in range(300):  # more than one batch of ready work, so the poller runs
        if out:
            break
        sleep(0)
    assert out == [1]


def test_an_exception_is_reported_and_the_hub_goes_on() -> None:
    hub = get_hub()
    reported: list[Any] = []
    previous = hub.exception_reporter
    hub.exception_reporter = lambda where, culprit: reported.append(where)
    evt = Event[None]()

    def boom() -> None:
        raise ValueError("boom")

    try:
        t = threading.Thread(target=lambda: (hub.call_threadsafe(boom),
                                             hub.call_threadsafe(evt.send)))
        t.start()
        evt.wait(10)
        t.join()
    finally:
        hub.exception_reporter = previous
    assert reported == ["green thread"]


def test_closed_hub_raises_instead_of_writing_to_a_reused_fd() -> None:
    from greenlane.testing import discard_hub

    hub = get_hub()
    sleep(0)
    discard_hub()
    with pytest.raises(HubError):
        hub.call_threadsafe(print)


def test_unused_wakeup_never_becomes_readable() -> None:
    # "Costs nothing while unused": the channel stays quiet, so the poller never reports it.
    hub = get_hub()
    gt = spawn(sleep, 0.01)
    gt.wait()
    import select

    wakeup = hub._wakeup  # the hub's own channel; a test may look
    assert wakeup is not None
    assert select.select([wakeup.fileno], [], [], 0)[0] == []


@pytest.mark.parametrize("eventfd", [True, False])
def test_wakeup_channel_eventfd_and_pipe(monkeypatch: pytest.MonkeyPatch, eventfd: bool) -> None:
    from greenlane import _originals

    if eventfd and _originals.eventfd is None:
        pytest.skip("no eventfd on this platform/interpreter")
    if not eventfd:
        monkeypatch.setattr(_originals, "eventfd", None)
    import select

    w = Wakeup()
    try:
        assert select.select([w.fileno], [], [], 0)[0] == []
        for _ in range(100_000 if not eventfd else 10):
            w.signal()  # a full pipe must not block or raise
        assert select.select([w.fileno], [], [], 0)[0] == [w.fileno]
        w.drain()
        assert select.select([w.fileno], [], [], 0)[0] == []
    finally:
        w.close()
    w.signal()  # after close: silently nothing
