"""``urllib.parse``'s names, unchanged (no I/O here): ``greenlane.green.urllib.parse``."""

from __future__ import annotations

import urllib.parse as _std
from urllib.parse import *  # noqa: F403

__all__ = list(_std.__all__)
