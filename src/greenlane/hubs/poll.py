"""Hub on ``poll(2)`` (level-triggered; see ``_selector.py``)."""

from __future__ import annotations

from greenlane import _originals as real
from greenlane.hubs._selector import PollPoller, SelectorHub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """True where ``select.poll`` exists on this platform."""
    return real.poll is not None


class Hub(SelectorHub):
    """Level-triggered hub on ``poll(2)``."""

    poller_class = PollPoller
