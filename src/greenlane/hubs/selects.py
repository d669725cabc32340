"""Hub on ``select(2)`` (level-triggered; see ``_selector.py``): works everywhere, but only
with descriptors below ``FD_SETSIZE`` (usually 1024)."""

from __future__ import annotations

from greenlane.hubs._selector import SelectorHub, SelectPoller

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """True: ``select.select`` exists on every platform."""
    return True


class Hub(SelectorHub):
    """Level-triggered hub on ``select(2)``."""

    poller_class = SelectPoller
