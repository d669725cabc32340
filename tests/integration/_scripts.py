"""Helpers for integration tests: driver availability and scripts run in a subprocess."""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import platform
import subprocess
import sys
import textwrap
import weakref
from types import ModuleType
from typing import Any, Optional

import pytest

from tests._support import unavailable

# Package -> what to install, for the skip/fail message.
_INSTALL = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "redis": "redis",
            "requests": "requests"}


def need(package: str) -> ModuleType:
    """Import ``package`` for a test; skip on PyPy if it is missing there, else ``unavailable``.

    psycopg2 (a CPython extension) has no PyPy build; on CPython every driver is expected, and
    a missing one fails the test when ``CI=true``.
    """
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        if platform.python_implementation() == "PyPy":
            pytest.skip(f"{package} is not available on PyPy here ({exc})")
        unavailable(f"{package} is not installed (pip install {_INSTALL.get(package, package)})"
                    f": {exc}")


def psycopg3_works_here() -> Optional[str]:
    """None, or why psycopg 3 cannot work on this interpreter whatever greenlane does.

    Its pure-Python libpq binding (the only one on PyPy) keeps ``ctypes.py_object(weakref)``,
    which PyPy 7.3.11's ctypes refuses (TypeError), so no connection can be made there.
    """
    if platform.python_implementation() != "PyPy":
        return None
    probe = type("Probe", (), {})()
    try:
        ctypes.py_object(weakref.ref(probe))
    except TypeError as exc:
        return f"psycopg 3's ctypes libpq binding does not work on this PyPy ({exc})"
    return None


def run_script(code: str, *args: str, timeout: float = 120.0) -> Any:
    """Run ``code`` in a fresh interpreter with ``args`` as ``sys.argv[1:]``; returns the JSON
    it prints on its last line. Fails the test, with its output, if it exits with an error."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if done.returncode != 0 or not done.stdout.strip():
        pytest.fail(f"script failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
