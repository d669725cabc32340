"""The ``time`` module with a cooperative ``sleep``: ``greenlane.green.time``.

Every name of the stdlib ``time`` module is here; ``sleep`` suspends only the calling green
thread, and otherwise behaves as ``time.sleep``: it takes one positional argument, an int or a
float, and rejects what the stdlib rejects, with the same exceptions (``TypeError`` for other
types, ``ValueError`` for negative numbers and NaN, ``OverflowError`` past the C clock's range).
``greenlane.sleep`` (eventlet's ``sleep``) is the lenient form: no argument means 0, negative
means 0.
"""

from __future__ import annotations

import time as _stdtime
from time import *  # noqa: F403

from greenlane.greenio._io import seconds_argument
from greenlane.greenthread import sleep as _green_sleep

__all__ = sorted({name for name in dir(_stdtime) if not name.startswith("_")} | {"sleep"})

__patches__ = (("time", "time", ("sleep",)),)


def sleep(secs: float, /) -> None:  # type: ignore[no-redef]
    """Suspend the calling green thread for ``secs`` seconds (an int or a float).

    Raises:
        TypeError: ``secs`` is neither a float nor an integer.
        ValueError: ``secs`` is negative or NaN.
        OverflowError: ``secs`` is too large for the C clock.
    """
    seconds = seconds_argument(secs)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    _green_sleep(seconds)
