"""The ``http`` package, green: ``greenlane.green.http``.

``HTTPStatus`` and ``HTTPMethod`` are the stdlib's (they do no I/O); ``greenlane.green.http.client``
is the cooperative HTTP client. eventlet spells the same thing ``eventlet.green.http``.
"""

from __future__ import annotations

import http as _stdhttp
from typing import TYPE_CHECKING

if not TYPE_CHECKING:
    from http import *  # noqa: F403

__all__ = list(_stdhttp.__all__)
