"""The ``http.client`` module with cooperative connections: ``greenlane.green.http.client``.

Every name of the stdlib ``http.client`` module is here. ``HTTPConnection`` and
``HTTPSConnection`` are subclasses of the stdlib's whose sockets are green whether or not the
stdlib is monkey patched: they connect with ``greenlane.green.socket.create_connection`` and
``HTTPSConnection`` wraps the socket with ``greenlane.green.ssl``, whatever ``SSLContext`` it was
given. The request/response code is the stdlib's own, unchanged: once ``monkey_patch()`` has run
the stdlib classes are cooperative anyway (they use the patched ``socket`` module), and these
subclasses behave the same.

Differences from eventlet's ``eventlet.green.http.client``: eventlet ships a modified copy of
the whole module (from an old CPython), so its classes and exceptions are distinct from the
stdlib's and it lags behind CPython fixes. Here only the two connection classes are new; every
other name (``HTTPResponse``, ``HTTPException``, ``responses``, ...) is the stdlib's object, so
``except http.client.HTTPException`` catches errors from either.
"""

from __future__ import annotations

import http.client as _stdclient
from typing import TYPE_CHECKING, Any

from greenlane.green import socket as _green_socket
from greenlane.green import ssl as _green_ssl

if not TYPE_CHECKING:
    # The stdlib's names; hidden from mypy, for which the classes below would otherwise be
    # redefinitions of the stdlib's.
    from http.client import *  # noqa: F403

__all__ = list(_stdclient.__all__)


class HTTPConnection(_stdclient.HTTPConnection):
    """``http.client.HTTPConnection`` over a green socket (same constructor and methods)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The stdlib's connect() calls this; it is an instance attribute there too.
        self._create_connection = _green_socket.create_connection


class HTTPSConnection(_stdclient.HTTPSConnection):
    """``http.client.HTTPSConnection`` over a green TLS socket (same constructor and methods).

    The ``context`` given (or the stdlib's default HTTPS context) is used as it is, for its
    settings; the TLS socket it wraps is always a ``greenlane.green.ssl.GreenSSLSocket``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _green_socket.create_connection

    def connect(self) -> None:
        """Connect (through the tunnel, if one is set) and do the TLS handshake."""
        _stdclient.HTTPConnection.connect(self)
        tunnel_host: Any = getattr(self, "_tunnel_host", None)
        server_hostname = tunnel_host if tunnel_host else self.host
        context: Any = getattr(self, "_context")  # noqa: B009 - not in the type stubs
        # Typed as the stdlib's wrap_socket (green.ssl star-imports it first): hence Any.
        wrap_socket: Any = _green_ssl.wrap_socket
        self.sock = wrap_socket(self.sock, context=context, server_hostname=server_hostname)
