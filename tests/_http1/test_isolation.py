"""The sans-IO promise, checked in a fresh interpreter: ``import greenlane._http1`` loads neither
greenlet nor any greenlane module outside ``greenlane._http1`` (the ``greenlane`` package itself
is unavoidable, and loads its names lazily)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import greenlane

# The directory that holds the greenlane package, so the child imports the same code even when
# the tests run from a source tree that is not installed.
_PACKAGE_ROOT = str(Path(greenlane.__file__).resolve().parent.parent)


def modules_loaded_by(statement: str) -> List[str]:
    """Run ``statement`` in a new interpreter; return the sorted names in its sys.modules."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60, check=True)
    names: List[str] = json.loads(result.stdout.splitlines()[-1])
    return names


def offenders(modules: List[str]) -> List[str]:
    return [m for m in modules
            if m == "greenlet" or m.startswith("greenlet.")
            or (m.startswith("greenlane.") and not (m == "greenlane._http1"
                                                     or m.startswith("greenlane._http1.")))]


def test_importing_http1_loads_nothing_else_from_greenlane_nor_greenlet() -> None:
    modules = modules_loaded_by("import greenlane._http1")
    assert "greenlane._http1.connection" in modules  # the child really imported it
    assert offenders(modules) == []


def test_the_check_would_see_a_leak() -> None:
    # The same check on a module that does use the hub must complain, or it proves nothing.
    found = offenders(modules_loaded_by("import greenlane._http1, greenlane.event"))
    assert "greenlet" in found and "greenlane.event" in found
