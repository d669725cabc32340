"""Stdlib-shaped modules whose blocking calls suspend only the calling green thread.

Each module here (``socket``, ``ssl``, ``os``, ``time``, ``select``, ``subprocess``, ``thread``
for ``_thread``, ``threading``, ``queue``, ...) has every name of the stdlib module it mirrors,
with the blocking ones replaced; import them in place of the stdlib ones (``from greenlane.green
import socket``), or let ``greenlane.patcher.monkey_patch()`` patch the stdlib itself. Each
declares what patching replaces in a ``__patches__`` attribute (see ``greenlane.patcher``).
``threading``'s ``Thread``, ``Condition``, ``Event``, ``Semaphore``, ``Barrier`` and ``Timer`` are
the stdlib classes, green only once ``threading`` is patched (see docs/patching.md).
"""

from __future__ import annotations

__all__: list[str] = []
