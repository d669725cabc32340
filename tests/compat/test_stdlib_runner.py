"""The stdlib runner (compat/stdlib): skip-list matching, the child's event protocol on small
fake test modules (outcomes, hangs, crashes, exit hangs, restarts), the comparison, the exit
status and the docs section it rewrites."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest
from compat.stdlib import report, runner, skips
from compat.stdlib._child import short_id
from compat.stdlib.runner import Comparison, ModuleResult, Options, Outcome, run_module
from compat.stdlib.skips import FLAKY, GREEN, INTERNET, Platform, Skip

CPY311 = Platform(version=(3, 11), implementation="cpython", ci=False, patched=True)


# ----------------------------------------------------------------------------- skip list
def test_pattern_matches_the_id_and_what_lies_under_it_at_a_dot() -> None:
    entry = Skip("test_x.Foo", "reason", GREEN)
    assert entry.matches("test_x.Foo")
    assert entry.matches("test_x.Foo.test_a")
    assert not entry.matches("test_x.FooBar.test_a")
    assert not entry.matches("test_y.Foo.test_a")
    assert Skip("test_x", "reason", GREEN).matches("test_x.Foo.test_a")


def test_pattern_wildcards() -> None:
    entry = Skip("test_x.Sendfile*Test.testNonBlocking", "reason", GREEN)
    assert entry.matches("test_x.SendfileUsingSendTest.testNonBlocking")
    assert entry.matches("test_x.SendfileUsingSendfileTest.testNonBlocking")
    assert not entry.matches("test_x.SendfileUsingSendTest.testNonBlockingX")


def test_green_entries_apply_to_patched_runs_only_others_to_both() -> None:
    baseline = Platform(version=(3, 11), implementation="cpython", ci=False, patched=False)
    assert Skip("t.A", "r", GREEN).applies(CPY311)
    assert not Skip("t.A", "r", GREEN).applies(baseline)
    for kind in (FLAKY, INTERNET, skips.ENVIRONMENT):
        assert Skip("t.A", "r", kind).applies(baseline)
        assert Skip("t.A", "r", kind).applies(CPY311)


def test_conditions_version_range_implementation_ci() -> None:
    ranged = Skip("t.A", "r", GREEN, since=(3, 11), before=(3, 13))
    for minor, expected in ((10, False), (11, True), (12, True), (13, False)):
        platform = Platform(version=(3, minor), implementation="cpython", ci=False,
                            patched=True)
        assert ranged.applies(platform) is expected
    pypy = Platform(version=(3, 9), implementation="pypy", ci=True, patched=True)
    assert Skip("t.A", "r", GREEN, implementation="pypy").applies(pypy)
    assert not Skip("t.A", "r", GREEN, implementation="pypy").applies(CPY311)
    assert Skip("t.A", "r", FLAKY, ci=True).applies(pypy)
    assert not Skip("t.A", "r", FLAKY, ci=True).applies(CPY311)
    assert Skip("t.A", "r", FLAKY, ci=False).applies(CPY311)


def test_active_skips_and_find_skip_pick_the_entry_in_force() -> None:
    entries = [Skip("t.A.test_1", "pypy only", GREEN, implementation="pypy"),
               Skip("t.A", "whole class", GREEN)]
    active = skips.active_skips(CPY311, entries)
    found = skips.find_skip("t.A.test_1", active)
    assert found is not None and found.reason == "whole class"
    assert skips.find_skip("t.B.test_1", active) is None


@pytest.mark.parametrize("kwargs, message", [
    ({"pattern": "", "reason": "r", "kind": GREEN}, "without spaces"),
    ({"pattern": "t.A b", "reason": "r", "kind": GREEN}, "without spaces"),
    ({"pattern": "t.A", "reason": " ", "kind": GREEN}, "no reason"),
    ({"pattern": "t.A", "reason": "r", "kind": "bug"}, "kind 'bug'"),
    ({"pattern": "t.A", "reason": "r", "kind": GREEN, "implementation": "jython"},
     "implementation"),
    ({"pattern": "t.A", "reason": "r", "kind": GREEN, "since": (3, 12), "before": (3, 12)},
     "since="),
])
def test_bad_entries_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Skip(**kwargs)  # type: ignore[arg-type]


def test_duplicate_entries_with_overlapping_conditions_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        skips.check_skips([Skip("t.A", "r", GREEN), Skip("t.A", "r2", GREEN, since=(3, 12))])
    skips.check_skips([Skip("t.A", "r", GREEN, before=(3, 12)),
                       Skip("t.A", "r2", GREEN, since=(3, 12))])
    skips.check_skips([Skip("t.A", "r", GREEN, implementation="pypy"),
                       Skip("t.A", "r2", GREEN, implementation="cpython")])


def test_the_real_skip_list_is_valid_and_every_entry_names_a_listed_module() -> None:
    skips.check_skips(skips.SKIPS)
    for entry in skips.SKIPS:
        assert entry.module in runner.DEFAULT_MODULES, entry.pattern
    assert skips.NETWORK_MODULES <= set(runner.DEFAULT_MODULES)


def test_short_id_drops_the_test_package() -> None:
    assert short_id("test.test_socket.A.test_b") == "test_socket.A.test_b"
    assert short_id("setUpClass (test.test_socket.A)") == "setUpClass (test_socket.A)"
    assert short_id("fake.A.test_b") == "fake.A.test_b"


# ----------------------------------------------------------------------------- the child
FAKE = '''
import os, socket, sys, threading, time, unittest

class Outcomes(unittest.TestCase):
    def test_pass(self):
        pass
    def test_fail(self):
        self.assertEqual(1, 2, "one is not two")
    def test_error(self):
        raise KeyError("boom")
    def test_skip(self):
        self.skipTest("not here")
    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertNotEqual(i, 1)
    @unittest.expectedFailure
    def test_expected_failure(self):
        self.fail("expected")
    @unittest.expectedFailure
    def test_unexpected_success(self):
        pass

class BrokenFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("no fixture")
    def test_never_runs(self):
        pass

class Patching(unittest.TestCase):
    def test_socket_is_green(self):
        self.assertTrue(socket.socket.__module__.startswith("greenlane"),
                        socket.socket.__module__)
'''


def _write(tmp_path: Path, name: str, source: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The parent checks the module is importable, the child imports it: both need the path.
    modules = tmp_path / "modules"
    modules.mkdir()
    monkeypatch.syspath_prepend(str(modules))
    monkeypatch.setenv("PYTHONPATH", str(modules))
    return modules


def _options(tmp_path: Path, *, test_timeout: float = 20.0, exit_timeout: float = 5.0
             ) -> Options:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    return Options(python=sys.executable, log_dir=logs, max_restarts=2, timeout=60.0,
                   test_timeout=test_timeout, exit_timeout=exit_timeout)


def _outcomes(result: ModuleResult) -> dict[str, str]:
    return {tid: o.outcome for tid, o in result.outcomes.items()}


def test_child_reports_every_kind_of_outcome(fake_path: Path, tmp_path: Path) -> None:
    name = _write(fake_path, "fake_outcomes", FAKE)
    result = run_module(name, patched=False, options=_options(tmp_path))
    assert result.status == "ok", result.incidents
    assert _outcomes(result) == {
        f"{name}.Outcomes.test_pass": "passed",
        f"{name}.Outcomes.test_fail": "failed",
        f"{name}.Outcomes.test_error": "error",
        f"{name}.Outcomes.test_skip": "skipped",
        f"{name}.Outcomes.test_subtests": "failed",
        f"{name}.Outcomes.test_expected_failure": "passed",
        f"{name}.Outcomes.test_unexpected_success": "failed",
        f"setUpClass ({name}.BrokenFixture)": "error",
        f"{name}.Patching.test_socket_is_green": "failed",  # baseline: nothing patched
    }
    fail = result.outcomes[f"{name}.Outcomes.test_fail"]
    assert "one is not two" in fail.details[0]["message"]
    assert "(i=1)" in result.outcomes[f"{name}.Outcomes.test_subtests"].details[0]["subtest"]
    assert result.outcomes[f"{name}.Outcomes.test_skip"].reason == "not here"
    assert "no fixture" in result.outcomes[f"setUpClass ({name}.BrokenFixture)"].details[0][
        "message"]
    assert result.counts()["total"] == 9 and result.attempts == 1


def test_patched_child_patches_before_the_tests_import_anything(fake_path: Path,
                                                                 tmp_path: Path) -> None:
    name = _write(fake_path, "fake_patched", FAKE)
    result = run_module(name, patched=True, options=_options(tmp_path, exit_timeout=2.0))
    assert not result.fatal, result.fatal
    assert "socket" in result.groups
    assert result.outcomes[f"{name}.Patching.test_socket_is_green"].outcome == "passed"


def test_a_hung_test_is_reported_and_the_module_goes_on_without_it(fake_path: Path,
                                                                   tmp_path: Path) -> None:
    name = _write(fake_path, "fake_hang", '''
        import threading, unittest
        class A(unittest.TestCase):
            def test_1_before(self):
                pass
            def test_2_hangs(self):
                threading.Event().wait()
            def test_3_after(self):
                pass
        ''')
    result = run_module(name, patched=False, options=_options(tmp_path, test_timeout=1.5))
    assert result.status == "hang"
    assert _outcomes(result) == {f"{name}.A.test_1_before": "passed",
                                 f"{name}.A.test_2_hangs": "hang",
                                 f"{name}.A.test_3_after": "passed"}
    assert result.incidents[0]["test"] == f"{name}.A.test_2_hangs"
    assert "test_2_hangs" in result.incidents[0]["tail"]  # faulthandler's dump of the stack
    assert result.attempts == 2
    assert not result.healthy


def test_a_crash_is_reported_and_the_module_goes_on_without_it(fake_path: Path,
                                                               tmp_path: Path) -> None:
    name = _write(fake_path, "fake_crash", '''
        import os, unittest
        class A(unittest.TestCase):
            def test_1_dies(self):
                os._exit(7)
            def test_2_after(self):
                pass
        ''')
    result = run_module(name, patched=False, options=_options(tmp_path))
    assert result.status == "crash"
    assert result.incidents[0]["returncode"] == 7
    assert _outcomes(result) == {f"{name}.A.test_1_dies": "crash",
                                 f"{name}.A.test_2_after": "passed"}


def test_keyboard_interrupt_escaping_unittest_is_a_crash_in_the_last_test(
        fake_path: Path, tmp_path: Path) -> None:
    name = _write(fake_path, "fake_interrupt", '''
        import unittest
        class A(unittest.TestCase):
            def test_1_interrupted(self):
                raise KeyboardInterrupt
            def test_2_after(self):
                pass
        ''')
    result = run_module(name, patched=False, options=_options(tmp_path))
    assert result.status == "crash"
    assert _outcomes(result) == {f"{name}.A.test_1_interrupted": "crash",
                                 f"{name}.A.test_2_after": "passed"}
    assert "KeyboardInterrupt" in result.outcomes[f"{name}.A.test_1_interrupted"].reason


def test_sigint_ignored_by_the_parent_is_restored_for_the_tests(fake_path: Path,
                                                                 tmp_path: Path) -> None:
    name = _write(fake_path, "fake_sigint", '''
        import os, signal, unittest
        class A(unittest.TestCase):
            def test_ctrl_c(self):
                with self.assertRaises(KeyboardInterrupt):
                    os.kill(os.getpid(), signal.SIGINT)
                    signal.pause() if hasattr(signal, "pause") else None
        ''')
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background shell leaves it
    try:
        result = run_module(name, patched=False, options=_options(tmp_path))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert _outcomes(result) == {f"{name}.A.test_ctrl_c": "passed"}
    if sys.implementation.name == "cpython":  # PyPy installs its handler whatever it inherits
        assert any("SIGINT was ignored" in repair for repair in result.environment)


def test_threads_left_running_are_an_exit_hang(fake_path: Path, tmp_path: Path) -> None:
    name = _write(fake_path, "fake_exit_hang", '''
        import threading, unittest
        class A(unittest.TestCase):
            def test_leaves_a_thread(self):
                threading.Thread(target=threading.Event().wait).start()
        ''')
    result = run_module(name, patched=False, options=_options(tmp_path, exit_timeout=1.0))
    assert result.status == "exit-hang"
    assert _outcomes(result) == {f"{name}.A.test_leaves_a_thread": "passed"}


def test_module_level_skip_and_import_error(fake_path: Path, tmp_path: Path) -> None:
    skipped = _write(fake_path, "fake_skipped", 'import unittest\nraise unittest.SkipTest("no")\n')
    result = run_module(skipped, patched=False, options=_options(tmp_path))
    assert (result.status, result.skipped_reason, result.healthy) == ("skipped", "no", True)
    broken = _write(fake_path, "fake_broken", 'import no_such_module_here\n')
    result = run_module(broken, patched=False, options=_options(tmp_path))
    assert result.status == "fatal" and "no_such_module_here" in result.fatal
    assert run_module("no_such_test_module", patched=False,
                      options=_options(tmp_path)).status == "missing"


def test_skip_listed_tests_are_not_run_and_their_class_fixture_neither(
        fake_path: Path, tmp_path: Path) -> None:
    name = _write(fake_path, "fake_listed", '''
        import unittest
        class Listed(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                raise RuntimeError("must not run")
            def test_a(self):
                raise RuntimeError("must not run")
        class Kept(unittest.TestCase):
            def test_b(self):
                pass
            def test_c(self):
                raise RuntimeError("must not run")
        ''')
    _write(fake_path, "fake_skip_list", f'''
        from compat.stdlib.skips import FLAKY, GREEN, Skip
        SKIPS = (Skip("{name}.Listed", "whole class", GREEN),
                 Skip("{name}.Kept.test_c", "one test", FLAKY))
        ''')
    options = _options(tmp_path, exit_timeout=2.0)
    options.skips_module = "fake_skip_list"
    result = run_module(name, patched=False, options=options)
    # GREEN entries apply to patched runs only, FLAKY ones to both.
    assert _outcomes(result) == {f"setUpClass ({name}.Listed)": "error",
                                 f"{name}.Kept.test_b": "passed",
                                 f"{name}.Kept.test_c": "skipped"}
    assert result.outcomes[f"{name}.Kept.test_c"].listed == f"{name}.Kept.test_c"
    assert result.outcomes[f"{name}.Kept.test_c"].reason == "skip list (flaky): one test"
    result = run_module(name, patched=True, options=options)
    # No setUpClass error: a class with every test skip-listed never runs its fixture.
    assert _outcomes(result) == {f"{name}.Listed.test_a": "skipped",
                                 f"{name}.Kept.test_b": "passed",
                                 f"{name}.Kept.test_c": "skipped"}
    assert result.outcomes[f"{name}.Listed.test_a"].listed == f"{name}.Listed"


# ----------------------------------------------------------------------------- comparison
def _result(module: str, patched: bool, **outcomes: str) -> ModuleResult:
    result = ModuleResult(module=module, patched=patched, seconds=1.0)
    result.outcomes = {f"{module}.A.{tid}": Outcome(outcome) for tid, outcome in
                       outcomes.items()}
    return result


def test_comparison_counts_what_passes_unpatched_and_still_passes() -> None:
    base = _result("t", False, a="passed", b="passed", c="passed", d="failed")
    patched = _result("t", True, a="passed", b="failed", c="hang", d="failed")
    comparison = Comparison("t", base, patched)
    assert comparison.still_passing == {"t.A.a"}
    assert comparison.percent == pytest.approx(100 / 3)
    assert comparison.regressions == {"t.A.b": "failed", "t.A.c": "hang"}


def test_exit_status() -> None:
    base = _result("t", False, a="passed", d="failed")
    clean = _result("t", True, a="passed", d="failed")
    # In compare mode a test that fails unpatched too does not fail the run...
    assert runner.exit_status({"t": base}, {"t": clean}, [Comparison("t", base, clean)]) == (
        0, [])
    # ...in patched mode alone it does; and a new failure always does.
    assert runner.exit_status({}, {"t": clean}, [])[0] == 1
    worse = _result("t", True, a="failed", d="failed")
    status, reasons = runner.exit_status({"t": base}, {"t": worse},
                                         [Comparison("t", base, worse)])
    assert status == 1 and reasons == ["t (patched): 1 tests failed or errored"]
    hung = _result("t", False, a="passed")
    hung.status = "exit-hang"
    assert runner.exit_status({"t": hung}, {}, [])[0] == 1


def test_update_docs_rewrites_only_this_interpreters_block(tmp_path: Path) -> None:
    path = tmp_path / "compatibility.md"
    path.write_text("# Compatibility\n\nintro\n\n"
                    f"{report.SECTION_TITLE}\n\nold text\n"
                    "<!-- stdlib: cpython-3.0 -->\nOTHER TABLE\n<!-- /stdlib: cpython-3.0 -->\n\n"
                    "## eventlet's test suite\n\nkept as is\n", encoding="utf-8")
    base = _result("test_x", False, a="passed", b="passed")
    patched = _result("test_x", True, a="passed", b="failed")
    report.update_docs(path, [Comparison("test_x", base, patched)], interpreter="CPython 9.9",
                       command=".venv/bin/python -m compat.stdlib --compare", wall=12.0)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Compatibility\n\nintro\n\n")
    assert text.endswith("## eventlet's test suite\n\nkept as is\n")
    assert "old text" not in text and "OTHER TABLE" in text
    assert "| test_x | 2 | 1 | 50.0% | 1 | 0 | 0 | 0 | 1.0s | 1.0s |" in text
    assert "`.venv/bin/python -m compat.stdlib --compare`" in text
    key = report.interpreter_key()
    # Blocks sorted: CPython by version, then PyPy.
    assert text.index("<!-- stdlib: cpython-3.0 -->") < text.index(f"<!-- stdlib: {key} -->")
    # Running again replaces the block instead of adding a second one.
    report.update_docs(path, [Comparison("test_x", base, base)], interpreter="CPython 9.9",
                       command="again", wall=1.0)
    again = path.read_text(encoding="utf-8")
    assert again.count(f"<!-- stdlib: {key} -->") == 1 and "`again`" in again
    assert "| test_x | 2 | 2 | 100.0% |" in again


def test_update_docs_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "compatibility.md"
    base = _result("test_x", False, a="passed")
    report.update_docs(path, [Comparison("test_x", base, base)], interpreter="CPython 9.9",
                       command="cmd", wall=1.0)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Compatibility\n") and report.SECTION_TITLE in text


def test_network_resource_cannot_be_asked_for() -> None:
    with pytest.raises(SystemExit):
        runner._parse(["--use", "subprocess,network"])
    with pytest.raises(SystemExit):
        runner._parse(["--update-docs"])


def test_command_line_leaves_out_output_only_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(runner.REPO_ROOT / ".venv" / "bin" / "python"))
    line = runner.command_line(["--compare", "--json", "out.json", "--logs=/tmp/x", "-v",
                                "--modules", "test_socket", "--update-docs"])
    assert line == (".venv/bin/python -m compat.stdlib --compare --modules test_socket "
                    "--update-docs")
