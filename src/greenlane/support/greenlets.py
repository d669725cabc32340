"""The greenlet names eventlet re-exports as ``eventlet.support.greenlets``.

``greenlet`` is the class ``greenlet.greenlet``, ``GreenletExit`` the exception a killed
greenlet receives, and ``getcurrent()`` returns the running greenlet. They are greenlet's own
objects, not wrappers: ``isinstance(x, greenlets.greenlet)`` is true of every green thread.
"""

from __future__ import annotations

from greenlet import GreenletExit, getcurrent, greenlet

__all__ = ["GreenletExit", "getcurrent", "greenlet"]
