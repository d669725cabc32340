"""Importing this module installs the ``eventlet`` alias (``greenlane.compat.install()``).

Put ``import greenlane.compat.eventlet_alias`` first in a program, before anything imports
eventlet; from then on ``import eventlet`` is ``import greenlane``. Importing it a second time
does nothing (Python caches modules): after ``greenlane.compat.uninstall()``, call
``greenlane.compat.install()`` to put the alias back. The ``.pth`` written by
``python -m greenlane.compat install-pth`` imports this module when ``GREENLANE_EVENTLET_ALIAS``
is set. If the real eventlet is already imported, an ``EventletAliasWarning`` is issued and the
alias is not installed (see ``greenlane.compat``).

The alias comes with eventlet's defaults (``install()``'s default: HTTP/1.1 requests without
Host served, 4 KiB response buffering in ``wsgi.server()``, hixie-75/76 websockets accepted,
``threading.currentThread()`` without its DeprecationWarning),
unless ``GREENLANE_EVENTLET_ALIAS`` is ``strict``.
"""

from __future__ import annotations

import os

from greenlane.compat._alias import install
from greenlane.compat._pth import ENV_VAR

__all__: list[str] = []

install(eventlet_defaults=os.environ.get(ENV_VAR, "").strip().lower() != "strict")
