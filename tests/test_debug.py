"""greenlane.debug: hub switches, listener/timer inspection, blocking detection, spew."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator

import greenlet
import pytest

from greenlane import debug
from greenlane.greenthread import kill, sleep, spawn
from greenlane.hubs import get_hub, notify_close, trampoline


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    notify_close(a.fileno())
    a.close()
    b.close()


def test_hub_switches_set_hub_attributes() -> None:
    hub = get_hub()
    debug.hub_exceptions(False)
    assert hub.debug_exceptions is False
    debug.hub_exceptions()
    assert hub.debug_exceptions is True
    debug.hub_prevent_multiple_readers(False)
    assert hub.prevent_multiple_readers is False
    debug.hub_prevent_multiple_readers()
    assert hub.prevent_multiple_readers is True


def _wait_for_data(sock: socket.socket) -> None:
    trampoline(sock, read=True)


def test_format_hub_listeners(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    assert debug.format_hub_listeners() == "READERS:\nWRITERS:"
    gt = spawn(_wait_for_data, a)
    sleep(0)
    text = debug.format_hub_listeners()
    assert text.startswith("READERS:\n  <FdListener read fd=")
    assert f"fd={a.fileno()}" in text
    assert ", in _wait_for_data" not in text  # no stacks unless asked for
    kill(gt)


def test_hub_listener_stacks(pair: tuple[socket.socket, socket.socket]) -> None:
    a, _ = pair
    hub = get_hub()
    debug.hub_listener_stacks(True)
    debug.hub_listener_stacks(True)  # idempotent
    assert hub.listener_hook is not None
    gt = spawn(_wait_for_data, a)
    sleep(0)
    text = debug.format_hub_listeners()
    assert ", in _wait_for_data" in text
    kill(gt)
    debug.hub_listener_stacks(False)
    assert hub.listener_hook is None  # nothing left on the hot path
    gt = spawn(_wait_for_data, a)
    sleep(0)
    assert ", in _wait_for_data" not in debug.format_hub_listeners()
    kill(gt)


def _recv_green(sock: object) -> object:
    return sock.recv(1)  # type: ignore[attr-defined]


def test_hub_listener_stacks_cover_green_socket_waits() -> None:
    from greenlane.green import socket as green_socket

    a, b = green_socket.socketpair()
    try:
        hub = get_hub()
        debug.hub_listener_stacks(True)
        assert hub.listener_hook is not None
        gt = spawn(_recv_green, a)
        sleep(0)
        assert ", in _recv_green" in debug.format_hub_listeners()
        b.sendall(b"x")
        assert gt.wait() == b"x"
        debug.hub_listener_stacks(False)
        assert hub.listener_hook is None
    finally:
        a.close()
        b.close()


def _schedule_something() -> object:
    return get_hub().schedule_call_global(30, lambda: None)


def test_format_hub_timers_and_stacks() -> None:
    hub = get_hub()
    assert debug.format_hub_timers() == "TIMERS:"
    timer = _schedule_something()
    text = debug.format_hub_timers()
    assert text.startswith("TIMERS:\n  in ") and "s: <Timer 30s" in text
    assert ", in _schedule_something" not in text
    timer.cancel()  # type: ignore[attr-defined]
    assert debug.format_hub_timers() == "TIMERS:"

    debug.hub_timer_stacks(True)
    assert hub.timer_hook is not None
    timer = _schedule_something()
    assert ", in _schedule_something" in debug.format_hub_timers()
    timer.cancel()  # type: ignore[attr-defined]
    debug.hub_timer_stacks(False)
    assert hub.timer_hook is None


def test_stack_records_are_pruned() -> None:
    hub = get_hub()
    debug.hub_timer_stacks(True)
    for _ in range(1100):
        hub.schedule_call_global(30, lambda: None).cancel()
    stacks = hub.debug_state.timer_stacks
    assert stacks is not None and len(stacks) <= 1025


def test_format_threads_info() -> None:
    text = debug.format_threads_info()
    assert "MainThread" in text
    assert "test_format_threads_info" in text


# ---------------------------------------------------------------------------- blocking
def _hog(seconds: float) -> None:
    time.sleep(seconds)  # a blocking call that keeps the hub from running


def test_blocking_detection_reports_the_offender_with_its_stack() -> None:
    reports: list[str] = []
    debug.hub_blocking_detection(True, resolution=0.02, report=reports.append)
    assert get_hub().debug_blocking is True
    gt = spawn(_hog, 0.15)
    gt.wait()
    debug.hub_blocking_detection(False)
    assert len(reports) == 1, reports
    assert f"{id(gt):#x}" in reports[0]
    assert ", in _hog" in reports[0]
    assert "time.sleep(seconds)" in reports[0]


def test_blocking_detection_quiet_for_cooperative_code() -> None:
    reports: list[str] = []
    debug.hub_blocking_detection(True, resolution=0.05, report=reports.append)

    def polite() -> None:
        for _ in range(15):
            time.sleep(0.005)  # short bursts of work...
            sleep(0)  # ...with yields in between

    threads = [spawn(polite) for _ in range(2)]
    for gt in threads:
        gt.wait()
    sleep(0.1)  # the hub idling in poll is not blocking
    debug.hub_blocking_detection(False)
    assert reports == []


def test_blocking_detection_off_costs_nothing() -> None:
    assert greenlet.gettrace() is None
    debug.hub_blocking_detection(True, resolution=0.5, report=lambda message: None)
    assert greenlet.gettrace() is not None
    debug.hub_blocking_detection(False)
    assert greenlet.gettrace() is None
    assert get_hub().debug_blocking is False
    assert get_hub().debug_state.blocking is None


def test_blocking_detection_chains_existing_trace() -> None:
    events: list[str] = []

    def tracer(event: str, args: object) -> None:
        events.append(event)

    greenlet.settrace(tracer)
    try:
        debug.hub_blocking_detection(True, resolution=1, report=lambda message: None)
        sleep(0)
        debug.hub_blocking_detection(False)
        assert greenlet.gettrace() is tracer
        assert "switch" in events
    finally:
        greenlet.settrace(None)


def test_blocking_detection_default_reports_to_stderr(capfd: pytest.CaptureFixture[str]
                                                      ) -> None:
    debug.hub_blocking_detection(True, resolution=0.02)
    spawn(_hog, 0.1).wait()
    debug.hub_blocking_detection(False)
    assert "has kept the hub from running" in capfd.readouterr().err


def test_blocking_detection_rejects_bad_resolution() -> None:
    with pytest.raises(ValueError):
        debug.hub_blocking_detection(True, resolution=0)
    assert greenlet.gettrace() is None


def test_blocking_detection_without_settrace_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(greenlet, "settrace")
    with pytest.warns(RuntimeWarning, match="settrace"):
        debug.hub_blocking_detection(True, resolution=0.1)
    assert get_hub().debug_blocking is False


# ---------------------------------------------------------------------------- spew
def _traced_function(x: int) -> int:
    y = x + 1
    return y * 2


def test_spew(capsys: pytest.CaptureFixture[str]) -> None:
    previous = sys.gettrace()
    try:
        debug.spew(trace_names=[__name__], show_values=True)
        _traced_function(20)
        debug.unspew()
    finally:
        sys.settrace(previous)
    out = capsys.readouterr().out
    assert f"{__name__}:" in out
    assert "y = x + 1" in out
    # eventlet's format: the values of the line's names on one tab-indented line.
    assert "\ty=21 x=20\n" not in out  # in the order the names appear, not sorted
    assert "\tx=20\n" in out  # the line 'y = x + 1' before y is bound
    assert "\ty=21\n" in out  # the line 'return y * 2'


def test_spew_filters_modules(capsys: pytest.CaptureFixture[str]) -> None:
    previous = sys.gettrace()
    try:
        debug.spew(trace_names=["no.such.module"])
        _traced_function(1)
        debug.unspew()
    finally:
        sys.settrace(previous)
    assert "y = x + 1" not in capsys.readouterr().out


def test_spew_line_format_lists_values_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    frame = sys._getframe()
    lineno = frame.f_lineno + 1
    debug.Spew()(frame, "line", None)
    out = capsys.readouterr().out
    # The source line as it is, indentation included (as eventlet prints it).
    assert out.startswith(f'{__name__}:{lineno}:     debug.Spew()(frame, "line", None)\n')
    values = out.split("\n")[1]
    assert values.startswith(f"\tdebug={debug!r} frame=<frame ")  # the repr of a live frame
    assert out.count("\n") == 2


def test_spew_without_values_prints_the_line_only(capsys: pytest.CaptureFixture[str]) -> None:
    frame = sys._getframe()
    debug.Spew(show_values=False)(frame, "line", None)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\t" not in out


def test_spew_cuts_long_values(capsys: pytest.CaptureFixture[str]) -> None:
    long_value = "x" * 1000
    frame = sys._getframe()
    debug.Spew()(frame, "line", long_value)
    values = capsys.readouterr().out.split("\n")[1]
    shown = values.split("long_value=", 1)[1].split(" ", 1)[0]
    assert len(shown) == 200 and shown.startswith("'xxx") and shown.endswith("...")


def test_spew_code_without_a_file_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = {"sys": sys}  # no __file__: code compiled from a string
    frame = eval("sys._getframe()", namespace)
    debug.Spew()(frame, "line", None)
    out = capsys.readouterr().out
    assert out.startswith(f"[unknown]:{frame.f_lineno}: ")
    assert "VM instruction #" in out


def test_spew_trace_names_take_submodules(capsys: pytest.CaptureFixture[str]) -> None:
    frame = sys._getframe()
    debug.Spew(trace_names=[__name__.split(".")[0]], show_values=False)(frame, "line", None)
    assert capsys.readouterr().out.startswith(f"{__name__}:")
    debug.Spew(trace_names=[__name__ + "x"], show_values=False)(frame, "line", None)
    assert capsys.readouterr().out == ""


def _fails_in_worker() -> None:
    raise KeyError("from the worker")


def test_tpool_exceptions_is_accepted_and_reports_nothing_more(
        capfd: pytest.CaptureFixture[str]) -> None:
    from greenlane import tpool

    assert "tpool_exceptions" in debug.__all__
    debug.tpool_exceptions(True)
    try:
        with pytest.raises(KeyError) as info:
            tpool.execute(_fails_in_worker)
    finally:
        debug.tpool_exceptions(False)
    # The caller gets the error with the worker's frame in its traceback, and nothing is
    # printed besides.
    assert any(entry.name == "_fails_in_worker" for entry in info.traceback)
    captured = capfd.readouterr()
    assert "from the worker" not in captured.err + captured.out
