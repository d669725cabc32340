"""Hub on ``selectors.KqueueSelector`` (level-triggered; see ``_selector.py``)."""

from __future__ import annotations

import selectors

from greenlane.hubs._selector import SelectorHub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """True where ``select.kqueue`` exists on this platform."""
    return hasattr(selectors, "KqueueSelector")


class Hub(SelectorHub):
    """Level-triggered hub on ``selectors.KqueueSelector``."""

    selector_class = getattr(selectors, "KqueueSelector", selectors.SelectSelector)
