"""The ``selectors`` module with cooperative selectors: ``greenlane.green.selectors``.

Every name of the stdlib ``selectors`` module is here. ``SelectSelector``, ``PollSelector`` and
``EpollSelector`` (Linux) are subclasses of the stdlib classes whose ``select()`` suspends only
the calling green thread: they wait with ``greenlane.green.select``'s ``select``, ``poll`` and
``epoll``. Registration, keys, events and results are the stdlib's own code, unchanged.
``DefaultSelector`` is the best of them: ``EpollSelector`` on Linux, else ``PollSelector``.

The stdlib classes have to be subclassed because they bind ``select.select``, ``select.poll``
and ``select.epoll`` when the ``selectors`` module is first imported, before patching can
replace them. ``DevpollSelector`` and ``KqueueSelector`` (Solaris, BSD/macOS) are the stdlib's
and block the OS thread; ``DefaultSelector`` never picks them here, unlike the stdlib's on
those systems. eventlet's green ``selectors`` offered only ``SelectSelector`` and made the
other classes unavailable.
"""

from __future__ import annotations

import selectors as _stdselectors
from typing import TYPE_CHECKING, Any

from greenlane.green import select as _green_select

if not TYPE_CHECKING:
    # The stdlib's names; hidden from mypy, for which the classes below would otherwise be
    # redefinitions of the stdlib's.
    from selectors import *  # noqa: F403

__all__ = [name for name in ("EVENT_READ", "EVENT_WRITE", "BaseSelector", "SelectorKey",
                             "DefaultSelector", "SelectSelector", "PollSelector",
                             "EpollSelector", "DevpollSelector", "KqueueSelector")
           if hasattr(_stdselectors, name)]


class SelectSelector(_stdselectors.SelectSelector):
    """``selectors.SelectSelector`` waiting with the cooperative ``select()``."""

    _select = staticmethod(_green_select.select)


_classes = ["SelectSelector"]
DefaultSelector: Any = SelectSelector

if hasattr(_stdselectors, "PollSelector") and hasattr(_green_select, "poll"):

    class PollSelector(_stdselectors.PollSelector):
        """``selectors.PollSelector`` over the cooperative ``select.poll`` object."""

        _selector_cls = staticmethod(_green_select.poll)

    _classes.append("PollSelector")
    DefaultSelector = PollSelector

if hasattr(_stdselectors, "EpollSelector") and hasattr(_green_select, "epoll"):

    class EpollSelector(_stdselectors.EpollSelector):
        """``selectors.EpollSelector`` over the cooperative ``select.epoll``.

        ``fileno()`` is its epoll instance's descriptor, as in the stdlib.
        """

        _selector_cls = _green_select.epoll

    _classes.append("EpollSelector")
    DefaultSelector = EpollSelector

__patches__ = (("select", "selectors", (*_classes, "DefaultSelector")),)

del _classes
