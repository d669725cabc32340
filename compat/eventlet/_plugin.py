"""pytest plugin the compat runner loads into each pytest process it starts (``-p``).

It writes one JSON object per line to the file named by ``GREENLANE_COMPAT_RESULTS``: first
the ids collected, then one line per test with its outcome, and one per file that failed to
collect. Lines are flushed as they come, so a process that dies (a hang killed by the runner,
a crash) still leaves the outcomes of the tests before it; the runner counts the collected
tests with no outcome as errors.

Failure isolation, as in greenlane's own suite: after a test that failed, the next one starts
on a fresh hub. eventlet's harness checks in every ``tearDown`` that the hub holds no fd
listener, so one failing test that leaves a green thread parked (an expected failure such as
``convenience_test``'s ``test_excepting_server``, which waits for a ``serve()`` that greenlane
deliberately keeps running) would otherwise fail every later test in the same process and hide
their real outcome. Tests that pass are not touched: a leak of theirs still fails them.
"""

from __future__ import annotations

import json
import os
from typing import Any

_PATH = os.environ.get("GREENLANE_COMPAT_RESULTS", "")
_SEEN: dict[str, str] = {}


def _emit(record: dict[str, Any]) -> None:
    if not _PATH:
        return
    with open(_PATH, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _message(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    crash = getattr(longrepr, "reprcrash", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])  # a skip: (path, line, reason)
    elif crash is not None and getattr(crash, "message", None):
        text = str(crash.message)
    else:
        text = str(getattr(report, "longreprtext", "") or report.longrepr or "")
        lines = [line for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    return " ".join(text.split())[:300]  # one line: the runner prints it after the test id


def _fresh_hub() -> None:
    try:
        from greenlane.testing import discard_hub
    except ImportError:  # running against something else than greenlane (the baseline)
        return
    discard_hub()


def pytest_collection_finish(session: Any) -> None:
    _emit({"collected": [item.nodeid for item in session.items]})


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _emit({"id": report.nodeid, "outcome": "error", "when": "collect",
               "message": _message(report)})


def pytest_runtest_logreport(report: Any) -> None:
    nodeid, when = report.nodeid, report.when
    if hasattr(report, "wasxfail"):
        outcome = "skipped" if report.skipped else "passed"
    elif report.passed:
        if when != "call":
            return  # setup/teardown passing says nothing about the test
        outcome = "passed"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "failed" if when == "call" else "error"
    if when == "teardown" and (outcome in ("failed", "error")
                               or _SEEN.get(nodeid) in ("failed", "error")):
        _fresh_hub()
    if _SEEN.get(nodeid) in ("failed", "error"):
        return  # a teardown error after a failure: the test already counts as failed
    _SEEN[nodeid] = outcome
    _emit({"id": nodeid, "outcome": outcome, "when": when,
           "message": _message(report) if outcome in ("failed", "error", "skipped") else ""})
