"""``greenlane.green.httplib``: eventlet's Python 2 name for ``greenlane.green.http.client``.

The same objects under the old name: ``httplib.HTTPConnection`` is
``greenlane.green.http.client.HTTPConnection``.
"""

from __future__ import annotations

from greenlane.green.http import client as _client
from greenlane.green.http.client import *  # noqa: F403

__all__ = list(_client.__all__)
