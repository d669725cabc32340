"""The compat runner's bookkeeping: expectations, verdicts, the stored baseline, the docs section.

Running eventlet's suite itself is ``make compat``'s job (minutes, and a pip download); these
tests check the logic that decides whether such a run passed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compat.eventlet import expected, runner
from compat.eventlet.expected import Expect


def _entries(monkeypatch: pytest.MonkeyPatch, *entries: Expect) -> None:
    monkeypatch.setattr(runner, "EXPECTED", list(entries))


def test_most_specific_entry_wins_and_modes_are_respected(
        monkeypatch: pytest.MonkeyPatch) -> None:
    whole = Expect("tests/a_test.py", "fail", "missing", "module a missing")
    cls = Expect("tests/a_test.py::C", "any", "internal", "C checks internals")
    one = Expect("tests/a_test.py::C::test_x", "skip", "difference", "see greenlane.a",
                 mode="one-process")
    _entries(monkeypatch, whole, cls, one)
    assert runner.find_expectation("tests/a_test.py::test_y", "per-file") is whole
    assert runner.find_expectation("tests/a_test.py", "per-file") is whole  # collect error
    assert runner.find_expectation("tests/a_test.py::C::test_x", "per-file") is cls
    assert runner.find_expectation("tests/a_test.py::C::test_x", "one-process") is one
    assert runner.find_expectation("tests/a_test.pyx::test", "per-file") is None
    assert runner.find_expectation("tests/b_test.py::C", "per-file") is None


def test_message_entries_cover_only_matching_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    cascade = Expect("tests/", "fail", "cascade", "an earlier test leaked", message="^Readers: ")
    own = Expect("tests/a_test.py::test_x", "fail", "bug", "its own bug")
    _entries(monkeypatch, cascade, own)
    assert runner.find_expectation("tests/b_test.py::t", "one-process", "Readers: fd 3") is cascade
    assert runner.find_expectation("tests/b_test.py::t", "one-process", "assert 1 == 2") is None
    assert runner.find_expectation("tests/a_test.py::test_x", "per-file", "Readers: x") is own
    run = runner.Run(outcomes={"tests/b_test.py::t": ("passed", ""),
                               "tests/b_test.py::u": ("failed", "Readers: fd 3"),
                               "tests/a_test.py::test_x": ("failed", "boom")})
    verdict = runner.judge(run, "one-process", {}, complete=True)
    assert verdict.unexpected == [] and verdict.stale == []
    assert verdict.listed == {"cascade": 1, "bug": 1}
    with pytest.raises(__import__("re").error):
        Expect("tests/", "fail", "cascade", "bad pattern", message="(")


def test_judge_flags_unexpected_failures_and_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    _entries(monkeypatch,
             Expect("tests/a_test.py::test_listed", "fail", "bug", "known bug"),
             Expect("tests/a_test.py::test_fixed", "fail", "missing", "was missing"),
             Expect("tests/a_test.py::test_gone", "fail", "missing", "no longer exists"))
    run = runner.Run(outcomes={
        "tests/a_test.py::test_ok": ("passed", ""),
        "tests/a_test.py::test_listed": ("error", "boom"),
        "tests/a_test.py::test_fixed": ("passed", ""),
        "tests/a_test.py::test_broken": ("failed", "assert 1 == 2"),
        "tests/a_test.py::test_eventlet_fails_too": ("failed", "flaky upstream"),
        "tests/a_test.py::test_skipped_here": ("skipped", "needs ipv6"),
    })
    baseline_nonpass = {"tests/a_test.py::test_eventlet_fails_too": "failed"}
    verdict = runner.judge(run, "per-file", baseline_nonpass, complete=True)
    unexpected = {test_id: got for test_id, got, _ in verdict.unexpected}
    assert unexpected == {"tests/a_test.py::test_fixed": "passed",
                          "tests/a_test.py::test_broken": "failed",
                          "tests/a_test.py::test_skipped_here": "skipped"}
    assert verdict.listed == {"bug": 1}
    assert verdict.not_compared == 1
    assert [e.test for e in verdict.stale] == ["tests/a_test.py::test_gone"]
    partial = runner.judge(run, "per-file", baseline_nonpass, complete=False)
    assert partial.stale == []  # a partial run cannot tell a stale entry


def test_entries_are_validated() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Expect("tests/a_test.py", "maybe", "bug", "x")
    with pytest.raises(ValueError, match="kind"):
        Expect("tests/a_test.py", "fail", "whatever", "x")
    with pytest.raises(ValueError, match="reason"):
        Expect("tests/a_test.py", "fail", "bug", "  ")


def test_the_expected_list_names_files_eventlet_has() -> None:
    baseline = json.loads(runner.BASELINE.read_text())
    files = set(baseline["modes"]["per-file"]["files"])
    unknown = [e.test for e in expected.EXPECTED
               if not e.test.endswith("/") and runner.file_of(e.test) not in files]
    assert unknown == []
    ids = [(e.test, e.mode) for e in expected.EXPECTED]
    assert len(ids) == len(set(ids)), "an id is listed twice for the same mode"


def test_baseline_holds_both_modes_and_their_counts() -> None:
    baseline = json.loads(runner.BASELINE.read_text())
    assert baseline["eventlet"] == runner.EVENTLET_VERSION
    for mode in runner.MODES:
        files = baseline["modes"][mode]["files"]
        assert sum(c["passed"] for c in files.values()) > 500
        for test_id, outcome in baseline["modes"][mode]["not_passed"].items():
            assert runner.file_of(test_id) in files and outcome != "passed"


def test_update_docs_replaces_only_its_own_section(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "compatibility.md"
    monkeypatch.setattr(runner, "DOCS", docs)
    monkeypatch.setattr(runner, "REPO", tmp_path)
    runner.update_docs(["| table | v1 |"], shim=False, python="CPython 3.x")
    text = docs.read_text()
    assert text.startswith("# Compatibility\n")
    assert runner.SECTION in text and "| table | v1 |" in text
    other = "## The standard library's tests\n\nwritten by someone else\n"
    docs.write_text(text.replace("# Compatibility\n", "# Compatibility\n\n" + other)
                    + "\n## A later section\n\nkept\n")
    runner.update_docs(["| table | v2 |"], shim=True, python="CPython 3.x")
    text = docs.read_text()
    assert "| table | v1 |" not in text and "| table | v2 |" in text
    assert "written by someone else" in text and "## A later section\n\nkept" in text
    assert text.count(runner.SECTION) == 1
    assert "Harness shim active" in text


def test_tiers() -> None:
    assert runner.tier_of("tests/wsgi_test.py") == 1
    assert runner.tier_of("tests/greendns_test.py") == 2
    assert runner.tier_of("tests/zmq_test.py") == 3
