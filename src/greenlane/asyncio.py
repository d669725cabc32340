"""eventlet's ``eventlet.asyncio`` module, for a greenlane without an asyncio hub.

eventlet 0.35+ can run green threads on an asyncio event loop (``EVENTLET_HUB=asyncio``), and
``eventlet.asyncio.spawn_for_awaitable`` then turns an awaitable into a green thread. greenlane
has no asyncio hub (``greenlane.hubs.asyncio`` says why), so this module offers the name with
the behaviour eventlet has on every other hub: a ``RuntimeError`` saying so.

Differences from eventlet: the asyncio hub itself does not exist, so ``spawn_for_awaitable``
always raises; to combine asyncio and green threads, run the asyncio loop in a real thread
(``greenlane.tpool`` or ``greenlane.patcher.original("threading")``).
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["spawn_for_awaitable"]


def spawn_for_awaitable(coroutine: Any) -> NoReturn:
    """Refuse: only an asyncio hub can run an awaitable as a green thread, and there is none.

    The coroutine is closed first, so that Python does not warn that it was never awaited.

    Raises:
        RuntimeError: always (eventlet raises it too when the hub is not its asyncio hub).
    """
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
    raise RuntimeError("spawn_for_awaitable() needs an asyncio hub, and greenlane has none: "
                       "run asyncio code in a real thread next to the hub instead")
