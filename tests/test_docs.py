"""Generated documentation stays true to the code it is generated from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_differences_page_matches_the_docstrings() -> None:
    # docs/differences.md is built from the modules' docstrings; a docstring changed without
    # rerunning `python tools/differences.py` leaves the page lying.
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "differences.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_differences_collector_finds_each_form(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import differences
    finally:
        sys.path.pop(0)
    doc = """Title.

    Differences from eventlet, all deliberate:

    * one;
    * two, over
      two lines.

    Unrelated paragraph.

    Differs from eventlet, whose thing did this.

    Keys, and where they differ from eventlet 0.41:

    * ``a`` key.
    """
    import inspect

    passages = list(differences._passages(inspect.cleandoc(doc)))
    assert passages == [
        "Differences from eventlet, all deliberate:\n\n* one;\n* two, over\n  two lines.",
        "Differs from eventlet, whose thing did this.",
        "Keys, and where they differ from eventlet 0.41:\n\n* ``a`` key.",
    ]
