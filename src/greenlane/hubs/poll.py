"""Hub on ``selectors.PollSelector`` (level-triggered; see ``_selector.py``)."""

from __future__ import annotations

import selectors

from greenlane.hubs._selector import SelectorHub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """True where ``select.poll`` exists on this platform."""
    return hasattr(selectors, "PollSelector")


class Hub(SelectorHub):
    """Level-triggered hub on ``selectors.PollSelector``."""

    selector_class = getattr(selectors, "PollSelector", selectors.SelectSelector)
