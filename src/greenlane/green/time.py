"""The ``time`` module with a cooperative ``sleep``: ``greenlane.green.time``.

Every name of the stdlib ``time`` module is here; ``sleep`` is ``greenlane.sleep``, which
suspends only the calling green thread.
"""

from __future__ import annotations

import time as _stdtime
from time import *  # noqa: F403

from greenlane.greenthread import sleep as _green_sleep

__all__ = sorted({name for name in dir(_stdtime) if not name.startswith("_")} | {"sleep"})

sleep = _green_sleep  # type: ignore[assignment]
