"""The ``os`` module with cooperative descriptor I/O: ``greenlane.green.os``.

Every name of the stdlib ``os`` module is here. Replaced:

* ``read`` and ``write`` suspend only the calling green thread while a pipe, socket or terminal
  has no data (or no room). On a descriptor left in blocking mode they wait for readiness
  *before* the call, so they never block the process (eventlet's #973: ``os.read`` on an inotify
  descriptor froze everything). ``write`` on such a descriptor writes everything, like the
  blocking call. Regular files are read and written directly.
* ``open`` and ``close`` tell the hub about the descriptor (``notify_opened``/``notify_close``),
  so a green thread blocked on a descriptor that is closed gets ``IOClosed`` and a reused number
  never inherits an old registration.
* ``fdopen`` returns a ``GreenPipe``.

``waitpid``/``wait`` are the stdlib's (blocking) for now.
"""

from __future__ import annotations

import os as _stdos
from os import *  # noqa: F403
from typing import Any

from greenlane.greenio._pipe import GreenPipe, green_read, green_write
from greenlane.greenio._socket import _notify_close, _notify_opened

__all__ = sorted(set(_stdos.__all__) | {"close", "fdopen", "open", "read", "write"})

read = green_read
write = green_write


def open(path: Any, flags: int, mode: int = 0o777, *,  # type: ignore[no-redef]
         dir_fd: Any = None) -> int:
    """``os.open``, then forget whatever the hub remembered about the new descriptor number."""
    fd = _stdos.open(path, flags, mode, dir_fd=dir_fd)
    _notify_opened(fd)
    return fd


def close(fd: int) -> None:  # type: ignore[no-redef]
    """``os.close``; green threads blocked on ``fd`` get ``IOClosed`` first."""
    _notify_close(fd)
    _stdos.close(fd)


def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
    """Like ``os.fdopen``, but returns a ``GreenPipe`` (cooperative reads and writes)."""
    if not isinstance(fd, int):
        raise TypeError(f"fd should be int, not {type(fd).__name__}")
    return GreenPipe(fd, *args, **kwargs)
