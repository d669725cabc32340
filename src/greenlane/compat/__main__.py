"""``python -m greenlane.compat install-pth | uninstall-pth | status``.

``install-pth`` writes ``greenlane_eventlet_alias.pth`` into the running environment's
site-packages (or ``--site-dir``). It installs the eventlet alias in an interpreter only when
``GREENLANE_EVENTLET_ALIAS`` is set, so programs that rely on a real eventlet in the same
environment are not affected. ``uninstall-pth`` removes it; ``status`` says where things stand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from greenlane.compat._pth import ENV_VAR, PTH_NAME, env_enabled, install_pth, site_packages
from greenlane.compat._pth import uninstall_pth as _uninstall_pth

__all__ = ["main"]


def main(argv: Optional[list[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m greenlane.compat",
        description="Manage the opt-in .pth that aliases 'eventlet' to greenlane in every "
                    f"interpreter of this environment started with {ENV_VAR}=1.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("install-pth", "write the .pth file"),
                       ("uninstall-pth", "remove the .pth file"),
                       ("status", "show where the .pth goes and whether it is active")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--site-dir", type=Path, default=None,
                         help="directory to use instead of this environment's site-packages")
    args = parser.parse_args(argv)
    site_dir: Path = args.site_dir or site_packages()
    if args.command == "install-pth":
        path = install_pth(site_dir)
        print(f"wrote {path}; interpreters started with {ENV_VAR}=1 now alias eventlet "
              f"to greenlane")
    elif args.command == "uninstall-pth":
        removed = _uninstall_pth(site_dir)
        print(f"removed {removed}" if removed else f"no {PTH_NAME} in {site_dir}")
    else:
        path = site_dir / PTH_NAME
        print(f"{path}: {'present' if path.exists() else 'absent'}; "
              f"{ENV_VAR} is {'set' if env_enabled() else 'not set'} in this environment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
