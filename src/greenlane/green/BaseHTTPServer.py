"""The ``http.server`` module with cooperative servers: eventlet's ``green.BaseHTTPServer``.

Every name of the stdlib ``http.server`` module is here (``BaseHTTPServer`` is its Python 2
name). ``HTTPServer`` and ``ThreadingHTTPServer`` are subclasses of the stdlib's built on
``greenlane.green.SocketServer``: their sockets are green, ``serve_forever()`` and
``handle_request()`` wait on the hub, and ``ThreadingHTTPServer`` handles each request in a
green thread (see ``greenlane.green.SocketServer`` for the details and for ``shutdown()``).
The request handlers (``BaseHTTPRequestHandler``, ``SimpleHTTPRequestHandler``, ...) are the
stdlib's own classes: they only talk to the socket they are given.

Differs from eventlet, whose module is a private copy of ``http.server`` with green modules
injected: here the classes are subclasses of the stdlib's, and the HTTPS servers Python 3.14
adds are the stdlib's (not green).
"""

from __future__ import annotations

import http.server as _std
from typing import TYPE_CHECKING, Any

from greenlane.green import SocketServer as _green_socketserver
from greenlane.green import socket as _green_socket

if not TYPE_CHECKING:
    # The stdlib's names; hidden from mypy, for which the classes below would otherwise be
    # redefinitions of the stdlib's.
    from http.server import *  # noqa: F403

__all__ = list(_std.__all__)


class HTTPServer(_green_socketserver.TCPServer, _std.HTTPServer):
    """``http.server.HTTPServer`` on a green socket (same constructor and attributes)."""

    def server_bind(self) -> None:
        """Bind, and record ``server_name`` and ``server_port`` as the stdlib does.

        The name comes from the green ``getfqdn``, so the look-up does not block the hub.
        """
        _green_socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = _green_socket.getfqdn(str(host))
        self.server_port = int(port)


class ThreadingHTTPServer(_green_socketserver.ThreadingMixIn, HTTPServer):
    """An ``HTTPServer`` handling each request in its own green thread."""

    daemon_threads = True


def __getattr__(name: str) -> Any:
    """The stdlib module's other attributes (``DEFAULT_ERROR_MESSAGE``, ``test``, ...)."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(_std, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
