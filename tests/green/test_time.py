"""greenlane.green.time: the stdlib module with a green sleep that checks as the stdlib does."""

from __future__ import annotations

import math
import sys
import time as stdtime
from decimal import Decimal
from typing import Any

import pytest

from greenlane.green import time
from greenlane.greenthread import sleep as green_sleep
from greenlane.greenthread import spawn
from greenlane.hubs import get_hub


def test_the_rest_is_stdlib() -> None:
    assert time.sleep is not green_sleep and time.sleep is not stdtime.sleep
    assert time.monotonic is stdtime.monotonic
    assert time.time is stdtime.time
    assert "sleep" in time.__all__ and "perf_counter" in time.__all__
    assert time.__patches__ == (("time", "time", ("sleep",)),)


def test_sleep_lets_other_green_threads_run() -> None:
    ran = []
    gt = spawn(ran.append, 1)
    start = stdtime.monotonic()
    time.sleep(0.01)
    assert ran == [1]
    assert stdtime.monotonic() - start >= 0.009
    gt.wait()
    time.sleep(0)
    time.sleep(-0.0)


@pytest.mark.parametrize("bad,kind", [
    (-2, ValueError), (-1, ValueError), (-0.001, ValueError), (math.nan, ValueError),
    (-math.inf, OverflowError), (math.inf, OverflowError), (2 ** 70, OverflowError),
    ("1", TypeError), (None, TypeError), (Decimal("0.1"), TypeError), ([], TypeError),
    (object(), TypeError)])
def test_sleep_rejects_what_the_stdlib_rejects(bad: Any, kind: type) -> None:
    # CPython's test_time.TimeTestCase.test_sleep: time.sleep(-2) must raise ValueError. The
    # rules are CPython's (PyPy's own sleep also takes a Decimal).
    with pytest.raises(kind):
        time.sleep(bad)
    if sys.implementation.name == "cpython":
        with pytest.raises(kind):
            stdtime.sleep(bad)
    assert get_hub().get_timers_count() == 0


def test_sleep_takes_exactly_one_positional_argument() -> None:
    with pytest.raises(TypeError):
        time.sleep()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        time.sleep(secs=0)  # type: ignore[call-arg]
