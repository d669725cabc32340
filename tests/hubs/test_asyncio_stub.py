"""greenlane.hubs.asyncio (a stub that refuses clearly) and choosing a hub as eventlet code does.

``EVENTLET_HUB`` is honoured when ``GREENLANE_HUB`` is unset. Each hub choice is made in a new
OS thread, which starts without a hub, so the test thread's own hub is left alone.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from greenlane.hubs import HubError, asyncio, get_hub, use_hub
from greenlane.hubs.hub import BaseHub


def _in_new_thread(fn: Callable[[], Any]) -> Any:
    # The outcome of fn() in a fresh OS thread: its result, or the exception it raised.
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert outcome, "the thread did not finish"
    return outcome[0]


def _hub_class_chosen() -> Any:
    use_hub()
    hub = get_hub()
    try:
        return type(hub)
    finally:
        hub.close()


def test_asyncio_hub_is_never_available() -> None:
    assert asyncio.is_available() is False
    assert issubclass(asyncio.Hub, BaseHub)
    assert not isinstance(get_hub(), asyncio.Hub)


def test_making_an_asyncio_hub_says_there_is_none() -> None:
    with pytest.raises(HubError, match="greenlane has no asyncio hub"):
        asyncio.Hub()


def test_use_hub_asyncio_is_refused_by_name() -> None:
    error = _in_new_thread(lambda: use_hub("asyncio"))
    assert isinstance(error, HubError)
    assert "greenlane.hubs.asyncio is not available" in str(error)


@pytest.mark.parametrize("value", ["selects", "eventlet.hubs.selects",
                                   "greenlane.hubs.selects:Hub"])
def test_eventlet_hub_is_honoured_without_greenlane_hub(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from greenlane.hubs import selects

    monkeypatch.delenv("GREENLANE_HUB", raising=False)
    monkeypatch.setenv("EVENTLET_HUB", value)
    assert _in_new_thread(_hub_class_chosen) is selects.Hub


def test_greenlane_hub_wins_over_eventlet_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenlane.hubs import poll

    monkeypatch.setenv("GREENLANE_HUB", "poll")
    monkeypatch.setenv("EVENTLET_HUB", "selects")
    assert _in_new_thread(_hub_class_chosen) is poll.Hub


def test_eventlet_hub_asyncio_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GREENLANE_HUB", raising=False)
    monkeypatch.setenv("EVENTLET_HUB", "asyncio")
    error = _in_new_thread(_hub_class_chosen)
    assert isinstance(error, HubError)


def test_empty_variables_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from greenlane.hubs import get_default_hub

    monkeypatch.setenv("GREENLANE_HUB", "")
    monkeypatch.setenv("EVENTLET_HUB", "")
    assert _in_new_thread(_hub_class_chosen) is get_default_hub().Hub
