"""The ``urllib`` package, green: ``greenlane.green.urllib``.

``request`` is the cooperative one; ``error``, ``parse`` and ``response`` do no I/O and are the
stdlib's names, offered here so that eventlet's imports (``eventlet.green.urllib.parse``, ...)
have a counterpart. eventlet's ``eventlet.green.urllib2`` (Python 2) is not offered.
"""

from __future__ import annotations

__all__: list[str] = []
