"""Where eventlet has its asyncio hub: a stub that says greenlane has none.

eventlet 0.35+ can run its green threads on top of an asyncio event loop
(``EVENTLET_HUB=asyncio``), so that asyncio code and green threads share one thread.
greenlane does not offer that hub: its hubs run their own loop on the kernel's poller
(``greenlane.hubs`` docstring). This module exists so that code written for eventlet can
import ``hubs.asyncio`` and ask, as eventlet's own tests do
(``isinstance(get_hub(), asyncio.Hub)``):

* ``is_available()`` is always False, so ``use_hub("asyncio")`` refuses with ``HubError``;
* ``Hub`` is a ``BaseHub`` subclass that no hub in use is an instance of; creating one raises
  ``HubError`` naming what to use instead.
"""

from __future__ import annotations

from typing import Any, NoReturn

from greenlane.hubs.hub import BaseHub, HubError

__all__ = ["Hub", "is_available"]

_REFUSAL = ("greenlane has no asyncio hub: its hubs run their own event loop on epoll, kqueue, "
            "poll or select (use_hub() with one of those names, or leave the default); "
            "asyncio code can run in a real thread, next to the hub")


def is_available() -> bool:
    """False: greenlane has no hub running on an asyncio event loop."""
    return False


class Hub(BaseHub):
    """eventlet's asyncio hub class, which cannot be instantiated in greenlane.

    It exists for ``isinstance`` checks and imports; the constructor raises ``HubError``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._refuse()

    @staticmethod
    def _refuse() -> NoReturn:
        raise HubError(_REFUSAL)
