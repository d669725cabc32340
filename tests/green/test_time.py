"""greenlane.green.time: the stdlib module with a green sleep."""

from __future__ import annotations

import time as stdtime

from greenlane.green import time
from greenlane.greenthread import sleep as green_sleep
from greenlane.greenthread import spawn


def test_sleep_is_greenlane_sleep_and_the_rest_is_stdlib() -> None:
    assert time.sleep is green_sleep
    assert time.monotonic is stdtime.monotonic
    assert time.time is stdtime.time
    assert "sleep" in time.__all__ and "perf_counter" in time.__all__


def test_sleep_lets_other_green_threads_run() -> None:
    ran = []
    gt = spawn(ran.append, 1)
    start = stdtime.monotonic()
    time.sleep(0.01)
    assert ran == [1]
    assert stdtime.monotonic() - start >= 0.009
    gt.wait()
