"""The sans-IO promise, checked in a fresh interpreter: ``import greenlane._ws`` loads neither
greenlet nor any greenlane module outside ``greenlane._ws``."""

from __future__ import annotations

from tests._http1.test_isolation import modules_loaded_by


def offenders(modules: list) -> list:
    return [m for m in modules
            if m == "greenlet" or m.startswith("greenlet.")
            or (m.startswith("greenlane.") and not (m == "greenlane._ws"
                                                     or m.startswith("greenlane._ws.")))]


def test_importing_ws_loads_nothing_else_from_greenlane_nor_greenlet() -> None:
    modules = modules_loaded_by("import greenlane._ws")
    assert "greenlane._ws.connection" in modules
    assert offenders(modules) == []


def test_the_check_would_see_a_leak() -> None:
    found = offenders(modules_loaded_by("import greenlane._ws, greenlane.event"))
    assert "greenlet" in found and "greenlane.event" in found
