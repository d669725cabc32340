"""``urllib.error``'s names, unchanged (no I/O here): ``greenlane.green.urllib.error``."""

from __future__ import annotations

import urllib.error as _std
from urllib.error import *  # noqa: F403

__all__ = list(_std.__all__)
