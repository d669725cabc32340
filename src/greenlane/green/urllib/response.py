"""``urllib.response``'s names, unchanged (no I/O here): ``greenlane.green.urllib.response``."""

from __future__ import annotations

import urllib.response as _std
from urllib.response import *  # noqa: F403

__all__ = list(_std.__all__)
