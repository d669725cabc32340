"""``python -m compat.stdlib``: see ``compat.stdlib.runner``."""

from __future__ import annotations

import sys

from compat.stdlib.runner import main

sys.exit(main())
