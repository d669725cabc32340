"""Small helpers eventlet code imports from ``eventlet.support``.

* ``greenlets``: the greenlet names (``greenlet``, ``GreenletExit``, ``getcurrent``);
* ``greendns``: eventlet's DNS names, on dnspython when it is installed, else on the system
  resolver;
* ``get_errno(exc)`` and ``bytes_to_str(b)``.

eventlet's other ``support`` modules (``pylib``, ``stacklesss``, ``psycopg2_patcher``, the
``wrap_deprecated`` helper) are internal to eventlet or long obsolete and are not offered.
"""

from __future__ import annotations

from typing import Any, Optional

from greenlane.support import greenlets

__all__ = ["bytes_to_str", "get_errno", "greenlets"]


def get_errno(exc: BaseException) -> Optional[Any]:
    """The error number of an exception: its ``errno`` if set, else its first argument.

    None when it has neither. Same contract as eventlet's helper (``OSError`` subclasses carry
    ``errno``; some older exceptions only put the number in ``args[0]``).
    """
    errno = getattr(exc, "errno", None)
    if errno is not None:
        return errno
    return exc.args[0] if exc.args else None


def bytes_to_str(b: bytes, encoding: str = "ascii") -> str:
    """Decode ``b`` (ASCII by default), as eventlet's helper does on Python 3."""
    return b.decode(encoding)
