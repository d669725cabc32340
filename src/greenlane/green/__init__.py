"""Stdlib-shaped modules whose blocking calls suspend only the calling green thread.

``greenlane.green.socket``, ``.ssl``, ``.os`` and ``.time`` have every name of the stdlib
module they mirror, with the blocking ones replaced; import them in place of the stdlib ones
(``from greenlane.green import socket``), or let ``greenlane.patcher.monkey_patch()`` patch the
stdlib. eventlet's other green modules (select, selectors, threading, subprocess, urllib, ...)
are not offered yet.
"""

from __future__ import annotations

__all__: list[str] = []
