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

import importlib
from types import ModuleType

__all__: list[str] = []


def __getattr__(name: str) -> ModuleType:
    # As in eventlet, where importing the server happens to import them, the green modules are
    # attributes of the package: ``import eventlet.green`` then ``eventlet.green.socket``
    # (Flask-SocketIO's ``socketio.run()`` does exactly that). Imported on first use.
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise  # the submodule exists; something it imports is missing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
