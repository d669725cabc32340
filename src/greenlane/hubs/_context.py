"""The one piece of mutable global state in greenlane: the current hub of each OS thread.

It is a ``threading.local`` of the *real* threading module, captured at import time, so that
monkey patching ``threading`` later cannot turn it into a green-thread-local (which would give
every green thread its own hub).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from greenlane.hubs.hub import BaseHub


class _HubLocal(threading.local):
    hub: Optional[BaseHub] = None
    hub_class: Optional[type[BaseHub]] = None


current = _HubLocal()
