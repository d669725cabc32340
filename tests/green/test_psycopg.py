"""greenlane.green.psycopg without a database: the import hook, the checks, the wait itself.

The drivers against a real PostgreSQL server: tests/integration/test_postgres.py.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenlane import patcher
from greenlane.green import psycopg as green_psycopg
from greenlane.green import socket as green_socket
from greenlane.greenthread import sleep, spawn


@pytest.fixture
def probe_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throw-away package on sys.path standing in for a driver, imported by nobody yet."""
    name = f"greenlane_probe_{abs(hash(str(tmp_path))) % 10**8}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        def answer():
            return 42
        """))
    (package / "data.txt").write_text("resource")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_module_declares_nothing_by_name() -> None:
    assert green_psycopg.__patches__ == ()
    assert set(green_psycopg.__all__) == {"green_wait_callback", "make_psycopg_green",
                                          "patch_psycopg", "patch_psycopg2"}


def test_after_import_hook_patches_once_imported(probe_package: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # What monkey_patch() does for a driver that is installed but not imported yet.
    seen: list[Any] = []
    monkeypatch.setitem(green_psycopg._PATCHERS, probe_package,
                        lambda: seen.append(sys.modules[probe_package].answer()))
    assert not patcher._saved.after_import  # the test process is not patched
    patcher.after_import(probe_package,
                         functools.partial(green_psycopg._patch_quietly, probe_package))
    try:
        assert seen == []
        assert any(isinstance(f, patcher._PatchOnImport) for f in sys.meta_path)
        module = importlib.import_module(probe_package)
        assert seen == [42]  # right after the package's own code ran
        # Nothing left to wait for: the finder is gone.
        assert not any(isinstance(f, patcher._PatchOnImport) for f in sys.meta_path)
        # The module keeps its real loader: resources and source stay reachable.
        assert not isinstance(module.__loader__, patcher._ThenPatch)
        assert module.__spec__ is not None
        assert not isinstance(module.__spec__.loader, patcher._ThenPatch)
        assert "def answer" in inspect.getsource(module)
        from importlib import resources

        assert (resources.files(module) / "data.txt").read_text() == "resource"
        # Already imported: called at once.
        patcher.after_import(probe_package, lambda: seen.append("again"))
        assert seen == [42, "again"]
    finally:
        patcher._saved.after_import.pop(probe_package, None)
        for finder in [f for f in sys.meta_path if isinstance(f, patcher._PatchOnImport)]:
            sys.meta_path.remove(finder)


def test_after_import_hook_ignores_other_modules(probe_package: str) -> None:
    patcher._saved.after_import["not_" + probe_package] = []
    try:
        finder = patcher._PatchOnImport()
        assert finder.find_spec(probe_package, None) is None
        assert finder.find_spec("json", None) is None
        assert finder.find_spec("not_" + probe_package, None) is None  # not installed
    finally:
        del patcher._saved.after_import["not_" + probe_package]


def test_a_driver_that_cannot_be_patched_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"driver_{id(monkeypatch)}"

    def refuse() -> None:
        raise RuntimeError(f"{name} 9.9: unknown seam")
    monkeypatch.setitem(green_psycopg._PATCHERS, name, refuse)
    with pytest.warns(RuntimeWarning, match=f"{name} 9.9: unknown seam; it is left blocking"):
        green_psycopg._patch_quietly(name)


def test_patch_functions_need_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    # A driver that is not installed: the explicit call says so.
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    monkeypatch.setitem(sys.modules, "psycopg2.extensions", None)
    with pytest.raises(ImportError):
        green_psycopg.patch_psycopg2()
    with pytest.raises(ImportError):
        green_psycopg.make_psycopg_green()


def test_wait_ready_directions_and_timeout() -> None:
    a, b = green_socket.socketpair()
    with a, b:
        # Writable at once, readable only once the peer sends.
        assert green_psycopg._wait_ready(a.fileno(), 2, 1.0) == 2
        assert green_psycopg._wait_ready(a.fileno(), 1, 0.05) == 0
        spawn(lambda: (sleep(0.02), b.send(b"!")))
        assert green_psycopg._wait_ready(a.fileno(), 1, 5.0) == 1
        assert a.recv(1) == b"!"
        assert green_psycopg._wait_ready(a.fileno(), 3, 1.0) == 2  # nothing left to read
