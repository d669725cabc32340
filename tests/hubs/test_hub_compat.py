"""Hub details code written for eventlet relies on: ``Timer.tpl``, and no references kept.

eventlet's ``tests/test__refcount.py`` checks that a socket handed to a green thread is freed
once the thread has finished, even while the hub then sleeps: the run loop must not hold the
last callback's arguments while it blocks.
"""

from __future__ import annotations

import gc
import weakref

from greenlane.greenthread import sleep, spawn
from greenlane.hubs import get_hub
from greenlane.hubs.timer import Timer


def _noop(*args: object, **kwargs: object) -> None:
    pass


def test_timer_tpl_is_what_it_will_call() -> None:
    timer = Timer(1, _noop, 1, 2, key="value")
    assert timer.tpl == (_noop, (1, 2), {"key": "value"})
    assert timer.copy().tpl == timer.tpl
    timer.cancel()
    assert timer.tpl[0] is None


class _Payload:
    pass


def test_hub_drops_a_finished_green_threads_arguments_before_blocking() -> None:
    payload = _Payload()
    ref = weakref.ref(payload)
    # Not waited for: the thread's start is then the last callback the hub ran before it
    # blocks (waiting for it would queue one more, waking this thread).
    spawn(_noop, payload)
    del payload
    # The hub now blocks in its poller (a timer wakes it): nothing it ran may keep the
    # argument alive meanwhile. Checked from a timer callback, i.e. right after the block.
    alive: list[bool] = []

    def check() -> None:
        gc.collect()
        alive.append(ref() is not None)

    get_hub().schedule_call_global(0.01, check)
    sleep(0.05)
    assert alive == [False]
