"""greenlane's internals keep the real stdlib when the stdlib modules are replaced (patched)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import _thread, select, selectors, socket, threading, time

    from greenlane import _originals as real     # captured before anything is replaced
    import greenlane
    from greenlane import debug, greenthread, timeout
    from greenlane.green import socket as green_socket
    from greenlane.hubs import epolls, get_hub, poll, selects, use_hub
    from greenlane.testing import discard_hub

    saved = [(m, name, getattr(m, name)) for m, names in (
        (select, ("select", "poll", "epoll", "kqueue")),
        (selectors, ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector")),
        (threading, ("Thread", "Lock", "RLock", "Event", "Condition", "local", "Timer",
                     "get_ident", "current_thread")),
        (_thread, ("start_new_thread",)),
        (time, ("sleep", "monotonic", "time"))) for name in names if hasattr(m, name)]

    def stand_in(*args, **kwargs):
        raise AssertionError("a stand-in for a stdlib callable was called by greenlane")

    class StandIn:
        def __init__(self, *args, **kwargs):
            stand_in()

    for name in ("select", "poll", "epoll", "kqueue"):
        if hasattr(select, name):
            setattr(select, name, stand_in)
    for name in ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector"):
        if hasattr(selectors, name):
            setattr(selectors, name, StandIn)
    for name in ("Thread", "Lock", "RLock", "Event", "Condition", "local", "Timer"):
        setattr(threading, name, StandIn)
    threading.get_ident = threading.current_thread = stand_in
    # (_thread.allocate_lock and _thread.get_ident stay: the import machinery's own module
    # locks use them, on 3.10 even for a module that is already imported.)
    _thread.start_new_thread = stand_in
    time.sleep = time.monotonic = time.time = stand_in

    for backend in ("epolls", "poll", "selects"):
        discard_hub()
        use_hub(backend)
        a, b = green_socket.socketpair()
        got = []
        gt = greenlane.spawn(lambda: got.append(a.recv(10)))
        greenlane.sleep(0.01)
        b.sendall(b"ping")
        gt.wait()
        assert got == [b"ping"], (backend, got)
        assert type(get_hub()).__module__ == "greenlane.hubs." + backend
        a.close()
        b.close()
        print(backend, "ok")

    reports = []
    debug.hub_blocking_detection(True, 0.05, report=reports.append)
    deadline = real.monotonic() + 0.5
    while not reports and real.monotonic() < deadline:
        pass                    # hog the hub: only a real OS thread can notice
    debug.hub_blocking_detection(False)
    assert reports and "kept the hub from running" in reports[0], reports
    print("blocking detector ok")
    for module, name, value in saved:   # interpreter shutdown uses some of them
        setattr(module, name, value)
""")


def test_hubs_and_blocking_detector_survive_stdlib_stand_ins() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == ["epolls ok", "poll ok", "selects ok",
                                           "blocking detector ok"]
