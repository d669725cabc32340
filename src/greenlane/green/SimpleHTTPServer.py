"""eventlet's ``green.SimpleHTTPServer``: ``http.server`` with cooperative servers.

Python 3 merged the Python 2 modules ``SimpleHTTPServer`` and ``BaseHTTPServer`` into
``http.server``; this module offers the same objects as ``greenlane.green.BaseHTTPServer``
(``SimpleHTTPRequestHandler`` is the stdlib's class; the servers are green).
"""

from __future__ import annotations

from typing import Any

from greenlane.green import BaseHTTPServer as _base
from greenlane.green.BaseHTTPServer import *  # noqa: F403

__all__ = list(_base.__all__)


def __getattr__(name: str) -> Any:
    """The other attributes of ``http.server`` (``DEFAULT_ERROR_MESSAGE``, ``test``, ...)."""
    return getattr(_base, name)
