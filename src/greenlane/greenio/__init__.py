"""Cooperative sockets and pipes: ``GreenSocket``, ``GreenPipe`` and eventlet's helpers.

Same names as ``eventlet.greenio``: ``GreenSocket``, ``GreenPipe``, ``shutdown_safe``,
``set_nonblocking``, ``socket_timeout``, ``SOCKET_BLOCKING``, ``SOCKET_CLOSED``,
``CONNECT_ERR``, ``CONNECT_SUCCESS``, ``IOClosed``. TLS lives in ``greenlane.green.ssl``.
Not offered: ``GreenSocket.makeGreenFile`` (deprecated in eventlet) and ``greenio.SSL`` (the
pyOpenSSL wrapper).

Inside: ``_io.py`` is the green I/O toolkit every green I/O object is built from (the one
try -> EAGAIN -> wait -> retry helper, socket-style timeouts, descriptor open/close
bookkeeping); ``_socket.py`` is GreenSocket, ``_pipe.py`` GreenPipe and the green ``os.read``
and ``os.write``.
"""

from __future__ import annotations

from greenlane.greenio._pipe import GreenFileIO, GreenPipe
from greenlane.greenio._socket import (
    CONNECT_ERR,
    CONNECT_SUCCESS,
    SOCKET_BLOCKING,
    SOCKET_CLOSED,
    GreenSocket,
    set_nonblocking,
    shutdown_safe,
    socket_timeout,
)
from greenlane.hubs.hub import IOClosed

__all__ = [
    "CONNECT_ERR",
    "CONNECT_SUCCESS",
    "SOCKET_BLOCKING",
    "SOCKET_CLOSED",
    "GreenFileIO",
    "GreenPipe",
    "GreenSocket",
    "IOClosed",
    "set_nonblocking",
    "shutdown_safe",
    "socket_timeout",
]
