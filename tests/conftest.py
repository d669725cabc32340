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
that kind; ``fresh_hub`` starts a test with no hub, so it may call ``use_hub()``. Helper:
``discard_hub()`` stops and forgets the current thread's hub.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from greenlet import GreenletExit, getcurrent

from greenlane.hubs import _context, use_hub
from greenlane.hubs.hub import BaseHub

# How many hub turns the hygiene check lets pending work run before calling it a leak. Each turn
# is one sleep(0); green threads that finish within a few yields settle well within this.
_SETTLE_TURNS = 20

HUB_BACKENDS = [
    name
    for name in ("epolls", "poll", "selects")
    if importlib.import_module(f"greenlane.hubs.{name}").is_available()
]


def discard_hub() -> None:
    """Stop the current thread's hub loop and forget the hub; the next use creates a new one.

    Green threads parked on the old hub stay parked forever (they are leaked, not resumed).
    """
    ctx = _context.current
    hub, ctx.hub = ctx.hub, None
    if hub is None:
        return
    _restore_defaults(hub)  # stops a blocking-detection watchdog
    loop = hub.greenlet
    if loop and not loop.dead and getcurrent() is not loop:
        # The loop is suspended inside run(): kill it so that run() unwinds (running=False).
        try:
            loop.throw(GreenletExit)
        except BaseException:  # noqa: BLE001 - a broken hub must not break the next test
            pass
    try:
        hub.close()
    except (OSError, ValueError):
        pass


def _live_timers(hub: BaseHub) -> list[Any]:
    return [entry[2] for entry in hub.timers if not entry[2].called]


def _settle(hub: BaseHub) -> None:
    """Let the hub run what is queued already (never waiting for timers or I/O)."""
    from greenlane.greenthread import sleep

    turns = 0
    while hub._ready and turns < _SETTLE_TURNS:
        sleep(0)
        turns += 1


def _restore_defaults(hub: BaseHub) -> None:
    # greenlane.debug switches are attributes of the hub; a test that flips one must not
    # change the behaviour of the tests after it.
    if not (hub.debug_exceptions and hub.prevent_multiple_readers) or hasattr(
            hub, "_greenlane_debug"):
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


def _registered(hub: BaseHub) -> set[Any]:
    return set(hub.get_readers() + hub.get_writers() + _live_timers(hub))


@pytest.fixture(autouse=True)
def _hub_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    ctx = _context.current
    hub_class = ctx.hub_class
    # Listeners and timers that exist before the test belong to wider-scoped fixtures.
    before = _registered(ctx.hub) if ctx.hub is not None else set()
    yield
    problems: list[str] = []
    if ctx.hub is not None and getcurrent().parent is None:
        try:
            _settle(ctx.hub)
        except BaseException as exc:  # noqa: BLE001 - reported as a hygiene failure below
            problems.append(f"letting queued work finish raised {exc!r}")
    hub = ctx.hub
    if hub is not None and request.node.get_closest_marker("hub_leftovers_ok") is None:
        problems += [f"fd listener left behind: {listener!r}"
                     for listener in hub.get_readers() + hub.get_writers()
                     if listener not in before]
        live = _live_timers(hub)
        problems += [f"timer left behind: {timer!r}" for timer in live if timer not in before]
        if hub.get_timers_count() != len(live):
            problems.append(f"hub.get_timers_count() is {hub.get_timers_count()} but "
                            f"{len(live)} timers are live")
        if hub._ready:
            problems.append(f"{len(hub._ready)} callbacks still queued after "
                            f"{_SETTLE_TURNS} hub turns: {list(hub._ready)[:5]!r}")
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
