"""The one piece of mutable global state in greenlane: the current hub of each OS thread.

It is the C ``_thread._local`` captured by ``greenlane._originals`` before any patching, so that
monkey patching ``threading`` cannot turn it into a green-thread-local (which would give every
green thread its own hub).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from greenlane import _originals as real

if TYPE_CHECKING:
    from greenlane.hubs.hub import BaseHub


class _HubLocal(real.thread_local):
    hub: Optional[BaseHub] = None
    hub_class: Optional[type[BaseHub]] = None
    closer: Optional[CloseAtThreadExit] = None


class CloseAtThreadExit:
    """Closes a hub's poller when the thread that owns the hub ends.

    The hub and its loop greenlet refer to each other, and CPython does not collect a
    suspended greenlet of a finished thread, so without this every thread that used
    greenlane would leak its epoll descriptor. Only the thread-local refers to this object,
    so it is released with the thread's locals.
    """

    __slots__ = ("hub",)

    def __init__(self, hub: BaseHub) -> None:
        self.hub = hub

    def __del__(self) -> None:
        try:
            self.hub.close()
        except Exception:  # noqa: BLE001 - nothing useful can be done at thread exit
            pass


current = _HubLocal()
