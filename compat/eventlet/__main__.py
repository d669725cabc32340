"""``python -m compat.eventlet``: see ``compat/eventlet/__init__.py`` and ``runner.py``."""

from __future__ import annotations

import sys

from compat.eventlet.runner import main

sys.exit(main())
