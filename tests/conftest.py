"""Shared test fixtures: hub hygiene after every test, and a fixture looping over hub backends.

Every test gets the ``_hub_hygiene`` check for free. After the test (and after its function-
scoped fixtures are torn down) it lets the hub run work that is already queued (green threads
spawned and never waited for), then fails the test if fd listeners or live timers that were not
there before the test are still registered, naming each one: a leaked listener or timer is a bug
in the code under test (a missing ``finally: hub.remove(...)`` or ``timer.cancel()``), and it
would wake or slow down the tests that follow. It never waits for timers or I/O, so it costs a
few microseconds per test. ``@pytest.mark.hub_leftovers_ok`` turns the check off for a test.

A test that failed, or leaked, or switched hub backend leaves a fresh hub to the next test, so
one failure does not cascade. (Consequence: a module- or session-scoped fixture that keeps green
threads on the hub loses them when a test fails; prefer function-scoped servers.)

Fixtures: ``hub_backend`` runs a test once per backend (epolls, poll, selects) on a fresh hub of
that kind; ``fresh_hub`` starts a test with no hub, so it may call ``use_hub()``. The checks are
``greenlane.testing``'s (``settle``, ``assert_hub_clean``, ``discard_hub``), the same ones users
get for their own tests.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from greenlet import getcurrent

from greenlane.hubs import _context, use_hub
from greenlane.testing import assert_hub_clean, discard_hub, hub_snapshot, settle

# How many hub turns the hygiene check lets pending work run before calling it a leak. Each turn
# is one sleep(0); green threads that finish within a few yields settle well within this.
_SETTLE_TURNS = 20

HUB_BACKENDS = [
    name
    for name in ("epolls", "poll", "selects")
    if importlib.import_module(f"greenlane.hubs.{name}").is_available()
]

__all__ = ["HUB_BACKENDS", "discard_hub"]


def _restore_defaults(hub: Any) -> None:
    # greenlane.debug switches are attributes of the hub; a test that flips one must not
    # change the behaviour of the tests after it.
    if not (hub.debug_exceptions and hub.prevent_multiple_readers) or hub.debug_state is not None:
        from greenlane import debug

        debug._reset_hub(hub)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hub_leftovers_ok: skip the check for fd listeners and timers left on the hub")


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    if outcome.get_result().failed:
        item.stash[_FAILED] = True


@pytest.fixture(autouse=True)
def _no_eventlet_alias_leak() -> Iterator[None]:
    # Installing the eventlet alias also switches process-wide server defaults to eventlet's
    # (greenlane.compat.install), and importing greenlane.compat.eventlet_alias installs it
    # (tests/test_exports.py imports every module): later tests must see greenlane's defaults.
    alias = sys.modules.get("greenlane.compat._alias")
    was_installed = alias is not None and alias.is_installed()
    yield
    alias = sys.modules.get("greenlane.compat._alias")
    if alias is not None and alias.is_installed() and not was_installed:
        alias.uninstall()


@pytest.fixture(autouse=True)
def _hub_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    ctx = _context.current
    hub_class = ctx.hub_class
    # Listeners and timers that exist before the test belong to wider-scoped fixtures.
    before = hub_snapshot(ctx.hub) if ctx.hub is not None else None
    yield
    problems: list[str] = []
    if ctx.hub is not None and getcurrent().parent is None:
        try:
            settle(ctx.hub, _SETTLE_TURNS)
        except BaseException as exc:  # noqa: BLE001 - reported as a hygiene failure below
            problems.append(f"letting queued work finish raised {exc!r}")
    hub = ctx.hub
    if hub is not None and request.node.get_closest_marker("hub_leftovers_ok") is None:
        try:
            assert_hub_clean(hub, before if before is not None and before.hub is hub else None)
        except AssertionError as exc:
            problems.append(str(exc))
    failed = request.node.stash.get(_FAILED, False)
    if problems or failed or ctx.hub_class is not hub_class:
        discard_hub()
        ctx.hub_class = hub_class
    elif hub is not None:
        _restore_defaults(hub)
    if problems and not failed:
        pytest.fail("the test left work on the hub:\n  " + "\n  ".join(problems),
                    pytrace=False)


@pytest.fixture(params=HUB_BACKENDS)
def hub_backend(request: pytest.FixtureRequest) -> str:
    """Run the test on a fresh hub of each backend; its value is the backend's short name."""
    name: str = request.param
    discard_hub()
    use_hub(name)
    return name


@pytest.fixture
def fresh_hub() -> None:
    """Start the test with no hub in this thread, so that ``use_hub()`` may be called."""
    discard_hub()
