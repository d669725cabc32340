"""The ``.pth`` file that installs the eventlet alias at interpreter start, when asked to.

``site`` runs a ``.pth`` line that starts with ``import`` at every interpreter start in the
environment. Ours imports ``greenlane.compat.eventlet_alias`` only when the environment
variable ``GREENLANE_EVENTLET_ALIAS`` is set to a true value (``1``, ``yes``, ``true``, ``on``),
so it costs one dictionary look-up otherwise. The variable is inherited by subprocesses, which
is the point: a test suite or a supervisor that starts more interpreters gets the alias in each
one. An unconditional line would alias ``eventlet`` for *every* program in the environment,
hijacking a real eventlet that other programs installed there rely on.

The file is named so that it sorts after setuptools' editable-install ``.pth`` files
(``__editable__*``), whose path entries must be in place before ``greenlane`` can be imported.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Optional

__all__ = ["ENV_VAR", "PTH_NAME", "PTH_LINE", "env_enabled", "install_pth", "site_packages",
           "uninstall_pth"]

ENV_VAR = "GREENLANE_EVENTLET_ALIAS"
"""Set to ``1`` (or yes/true/on) to have the ``.pth`` install the alias in every interpreter;
``strict`` installs it with greenlane's defaults, not eventlet's (``greenlane.compat.install``)."""

PTH_NAME = "greenlane_eventlet_alias.pth"
"""The file name ``install_pth`` writes into site-packages."""

_FALSE = ("", "0", "no", "false", "off")

# One line: site.py executes a .pth line only if it starts with "import". The test is inlined
# so that interpreters without the variable never import greenlane.
PTH_LINE = (
    f"import os; os.environ.get({ENV_VAR!r}, '').strip().lower() not in {_FALSE!r} "
    f"and __import__('greenlane.compat.eventlet_alias')\n"
)
"""The content of the ``.pth`` file."""


def env_enabled(environ: Optional[dict[str, str]] = None) -> bool:
    """Whether ``GREENLANE_EVENTLET_ALIAS`` asks for the alias (same test as the .pth line)."""
    env = os.environ if environ is None else environ
    return env.get(ENV_VAR, "").strip().lower() not in _FALSE


def site_packages() -> Path:
    """The running environment's site-packages directory (a venv's, when run from one)."""
    return Path(sysconfig.get_paths()["purelib"])


def install_pth(site_dir: Optional[Path] = None) -> Path:
    """Write the ``.pth`` file into ``site_dir`` (default: this environment's site-packages).

    Returns its path. Rewrites the file if it exists, so an upgrade picks up a changed line.
    """
    directory = site_packages() if site_dir is None else Path(site_dir)
    if not directory.is_dir():
        raise FileNotFoundError(f"site-packages directory {str(directory)!r} does not exist")
    path = directory / PTH_NAME
    path.write_text(PTH_LINE)
    return path


def uninstall_pth(site_dir: Optional[Path] = None) -> Optional[Path]:
    """Remove the ``.pth`` file; returns its path, or None if there was none."""
    directory = site_packages() if site_dir is None else Path(site_dir)
    path = directory / PTH_NAME
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path
