"""The builtin ``open`` that keeps the hub's records right: ``greenlane.green.builtin``.

``monkey_patch(builtins=True)`` (off by default, as in eventlet) replaces ``builtins.open`` with
``open`` below: the builtin's own, after which the hub forgets whatever it still remembered
about the new descriptor's number (``greenlane.hubs.notify_opened``). A number is reused as soon
as it is closed; code that closed a descriptor without telling the hub (a C library, a plain
``os.close`` before patching) would otherwise leave a registration that the new file inherits.
Reads and writes of the file are not made cooperative: regular files are always "ready", see
``greenlane.green.os``.

Differences from eventlet: ``open(fd)`` of a descriptor number the caller already holds tells
the hub nothing (the descriptor is not new, and green threads may be waiting on it); only
``open`` is here (eventlet's module also copies every other builtin); ``open`` is not a
descriptor, like the builtin (it stays a plain function as a class attribute).
"""

from __future__ import annotations

import builtins as _stdbuiltins
from typing import Any

from greenlane import hubs as _hubs
from greenlane.green.os import _plain

__all__ = ["open"]

__patches__ = (("builtins", "builtins", ("open",)),)

# Taken at import, before patching replaces builtins.open with the function below.
_real_open = _stdbuiltins.open


def _open(file: Any, *args: Any, **kwargs: Any) -> Any:
    """The builtin ``open``; the hub then forgets what it knew about the new descriptor number.

    Takes and returns what the builtin does. Looks ``notify_opened`` up on ``greenlane.hubs``
    at each call (a test may replace it there).
    """
    opened = _real_open(file, *args, **kwargs)
    if not isinstance(file, int):
        _hubs.notify_opened(opened.fileno())
    return opened


open = _plain(_open, "open", __name__)
