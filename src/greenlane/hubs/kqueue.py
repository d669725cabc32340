"""Hub on BSD/macOS ``kqueue`` (level-triggered; see ``_selector.py``)."""

from __future__ import annotations

from greenlane import _originals as real
from greenlane.hubs._selector import KqueuePoller, SelectorHub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """True where ``select.kqueue`` exists on this platform."""
    return real.kqueue is not None


class Hub(SelectorHub):
    """Level-triggered hub on ``kqueue``."""

    poller_class = KqueuePoller

    def _after_fork_in_child(self) -> None:
        # A kqueue is not inherited by a child process: there is nothing to release but ours.
        self._close_wakeup()
