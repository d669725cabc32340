"""Hub on ``selectors.SelectSelector`` (level-triggered; see ``_selector.py``)."""

from __future__ import annotations

import selectors

from greenlane.hubs._selector import SelectorHub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """True where ``select.select`` exists on this platform."""
    return True


class Hub(SelectorHub):
    """Level-triggered hub on ``selectors.SelectSelector``."""

    selector_class = getattr(selectors, "SelectSelector", selectors.SelectSelector)
