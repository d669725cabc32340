"""The child side of the stdlib runner: load one test module, run it, report JSON events.

Imported by ``bootstrap`` after ``monkey_patch()`` (or without it, for ``--baseline``). It:

1. sets ``test.support`` up as regrtest would for a quiet run: ``verbose = 0`` and only the
   resources asked for (default ``subprocess``; never 'network' except for the loopback-only
   modules in ``skips.NETWORK_MODULES``, and never 'cpu', 'largefile' or 'walltime' unless
   ``--use`` names them);
2. in patched runs, replaces the ``test.support`` helpers that cannot work once the stdlib is
   patched (see ``_install_shims``);
3. runs in a fresh temporary directory (tests create ``@test_<pid>_tmp`` files in the current
   directory), loads the module's tests with ``unittest`` (``load_tests`` respected), takes
   out the skip-listed ones and those named by ``--exclude``, and runs the rest;
4. writes one JSON object per line to ``--events``: ``hello``, then ``start``/``outcome`` for
   each test, ``summary`` at the end (or ``fatal``/``module-skipped``). Each line is flushed as
   it is written, so the parent knows which test was running when a child hung or died.

A watchdog (``faulthandler.dump_traceback_later``) is re-armed at every test start and end:
a test that runs longer than ``--test-timeout`` gets every thread's stack dumped to stderr and
the process ends, which the parent reports as a hang in that test. After the summary the same
watchdog gives the interpreter ``--exit-timeout`` seconds to exit (threads left running, or a
blocked ``threading._shutdown``, are a hang at exit).

Event fields: ``hello`` (protocol, pid, python, implementation, patched, module, groups),
``environment`` (repairs: workarounds for a broken environment, see ``_repair_environment``),
``plan`` (tests, listed), ``start`` (id), ``outcome`` (id, outcome: passed/failed/error/
skipped, seconds, reason, listed, details: [{subtest, message, traceback}]), ``summary``
(seconds, tests_run), ``module-skipped`` (reason), ``fatal`` (stage: patch/setup/import/load,
traceback), ``aborted`` (id of the last test started, message, traceback: an exception such as
KeyboardInterrupt escaped unittest). Test ids drop the ``test.`` package prefix.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import unittest
from typing import Any, Callable, Optional

from compat.stdlib.skips import Platform, Skip, active_skips, find_skip

__all__ = ["PROTOCOL", "main", "report_fatal", "short_id"]

PROTOCOL = 1
DEFAULT_RESOURCES = ("subprocess",)
# Enough of a traceback to see the failing assertion and the frames that led to it.
_MAX_TRACEBACK = 8000
# greenlane's patch groups, asked one by one so the report says what was really patched.
_GROUPS = ("thread", "os", "time", "socket", "select", "subprocess")


def short_id(test_id: str) -> str:
    """``test.test_x.C.m`` -> ``test_x.C.m``; also inside ``setUpClass (test.test_x.C)``."""
    if test_id.startswith("test."):
        test_id = test_id[len("test."):]
    return test_id.replace(" (test.", " (")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m compat.stdlib.bootstrap")
    parser.add_argument("module", help="importable test module, e.g. test.test_socket")
    parser.add_argument("--events", required=True, help="file to write JSON event lines to")
    parser.add_argument("--baseline", action="store_true", help="run without monkey_patch()")
    parser.add_argument("--exclude", help="JSON file with a list of test ids to leave out")
    parser.add_argument("--test-timeout", type=float, default=0.0,
                        help="seconds one test may run before the child dumps stacks and exits")
    parser.add_argument("--exit-timeout", type=float, default=0.0,
                        help="seconds the interpreter may take to exit after the summary")
    parser.add_argument("--use", default=",".join(DEFAULT_RESOURCES),
                        help="test.support resources to enable, comma-separated")
    parser.add_argument("--skips-module", default="compat.stdlib.skips",
                        help="module whose SKIPS (and NETWORK_MODULES) to apply")
    return parser.parse_args(argv)


class _Events:
    """The JSON-lines channel to the parent; silent in a forked copy of this process."""

    def __init__(self, path: str) -> None:
        self._pid = os.getpid()
        self._file = open(path, "w", encoding="utf-8")

    def emit(self, event: str, **fields: Any) -> None:
        # A test that forks and lets the child fall back into unittest must not add its
        # outcomes to ours.
        if os.getpid() != self._pid:
            return
        self._file.write(json.dumps({"event": event, **fields}) + "\n")
        self._file.flush()


def report_fatal(argv: list[str], stage: str) -> None:
    """Report the exception being handled as a ``fatal`` event, print it, arm the exit watchdog.

    For ``bootstrap``, when ``monkey_patch()`` itself failed: ``argv`` is not parsed yet.
    """
    text = traceback.format_exc()
    sys.stderr.write(text)
    try:
        path = argv[argv.index("--events") + 1]
    except (ValueError, IndexError):
        return
    _Events(path).emit("fatal", stage=stage, traceback=text[-_MAX_TRACEBACK:])
    try:
        exit_timeout = float(argv[argv.index("--exit-timeout") + 1])
    except (ValueError, IndexError):
        return
    _Watchdog(0.0).arm(exit_timeout)


class _Watchdog:
    """faulthandler's timer: dump every thread's stack and exit if not re-armed in time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # A duplicate of fd 2: tests replace sys.stderr, and faulthandler needs a real fd.
        self._stream = os.fdopen(os.dup(2), "w")

    def arm(self, seconds: Optional[float] = None) -> None:
        delay = self.seconds if seconds is None else seconds
        if delay > 0:
            faulthandler.dump_traceback_later(delay, exit=True, file=self._stream)

    def disarm(self) -> None:
        faulthandler.cancel_dump_traceback_later()


def _message(exc_type: Any, exc: Any) -> str:
    # One line: assertion messages (list and tuple diffs) run over many.
    text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    return (text.splitlines() or [""])[0][:300]


_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


class _EventResult(unittest.TextTestResult):
    """A TextTestResult that also reports each test's outcome as an event.

    A test's outcome is the worst of what happened to it and its subtests (error > failed >
    skipped > passed); an expected failure counts as passed, an unexpected success as failed.
    Errors and skips of class and module fixtures (``setUpClass (test_x.C)``) are reported as
    outcomes of their own.
    """

    events: _Events
    watchdog: _Watchdog

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._current: Optional[unittest.TestCase] = None
        self.last_started = ""  # kept after the test ends: the one to blame for an abort
        self._outcome = "passed"
        self._reason = ""
        self._details: list[dict[str, str]] = []
        self._started = 0.0

    # -- the test being run
    def startTest(self, test: unittest.TestCase) -> None:
        self._current = test
        self._outcome, self._reason, self._details = "passed", "", []
        self.last_started = short_id(test.id())
        self.events.emit("start", id=self.last_started)
        self.watchdog.arm()
        self._started = time.perf_counter()
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        seconds = time.perf_counter() - self._started
        if test is self._current:
            self.events.emit("outcome", id=short_id(test.id()), outcome=self._outcome,
                             seconds=round(seconds, 4), reason=self._reason,
                             details=self._details)
        self._current = None
        self.watchdog.arm()  # class and module fixtures between tests are watched too

    def _worsen(self, outcome: str) -> None:
        if _RANK[outcome] > _RANK[self._outcome]:
            self._outcome = outcome

    def _detail(self, err: Any, subtest: str = "") -> dict[str, str]:
        return {"subtest": subtest, "message": _message(err[0], err[1]),
                "traceback": "".join(traceback.format_exception(*err))[-_MAX_TRACEBACK:]}

    def _owner(self, test: Any) -> str:
        # "current": the test being run; "subtest": one of its subtests; "fixture": an
        # _ErrorHolder that unittest makes for setUpClass/setUpModule and their tearDowns.
        if test is self._current and test is not None:
            return "current"
        if self._current is not None and getattr(test, "test_case", None) is self._current:
            return "subtest"
        return "fixture"

    def _fixture(self, test: Any, outcome: str, err: Any = None, reason: str = "") -> None:
        details = [self._detail(err)] if err is not None else []
        self.events.emit("outcome", id=short_id(str(test)), outcome=outcome, seconds=0.0,
                         reason=reason, details=details, fixture=True)

    # -- unittest's result protocol
    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        if self._owner(test) == "current":
            self._worsen("error")
            self._details.append(self._detail(err))
        else:
            self._fixture(test, "error", err)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        if self._owner(test) == "current":
            self._worsen("failed")
            self._details.append(self._detail(err))
        else:
            self._fixture(test, "failed", err)

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase,
                   err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is None:
            return
        failed = issubclass(err[0], test.failureException)
        self._worsen("failed" if failed else "error")
        self._details.append(self._detail(err, subtest=str(subtest)))

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        owner = self._owner(test)
        if owner == "current":
            self._worsen("skipped")
            self._reason = reason
        elif owner == "fixture":
            self._fixture(test, "skipped", reason=reason)

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._worsen("failed")
        self._details.append({"subtest": "", "message": "unexpected success",
                              "traceback": ""})


class _Runner(unittest.TextTestRunner):
    """TextTestRunner whose results also go to the event channel."""

    def __init__(self, events: _Events, watchdog: _Watchdog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._events = events
        self._watchdog = watchdog
        self.result: Optional[_EventResult] = None

    def _makeResult(self) -> unittest.TextTestResult:
        result_class = type("_BoundEventResult", (_EventResult,),
                            {"events": self._events, "watchdog": self._watchdog})
        try:
            self.result = result_class(self.stream, self.descriptions, self.verbosity,
                                       durations=getattr(self, "durations", None))
        except TypeError:  # before 3.12 results take no durations
            self.result = result_class(self.stream, self.descriptions, self.verbosity)
        return self.result


def _filter(suite: unittest.TestSuite, keep: Callable[[unittest.TestCase], bool]
            ) -> unittest.TestSuite:
    # Rebuilt rather than edited in place: unittest only runs setUpClass for classes that
    # still have tests, which is what a skipped class needs.
    kept = unittest.TestSuite()
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            sub = _filter(item, keep)
            if sub.countTestCases():
                kept.addTest(sub)
        elif keep(item):
            kept.addTest(item)
    return kept


def _patched_groups() -> list[str]:
    from greenlane import patcher

    return [group for group in _GROUPS if patcher.is_monkey_patched(group)]


def _install_shims() -> None:
    """Replace the ``test.support`` helpers that cannot work after ``monkey_patch()``.

    ``import_fresh_module(name)`` executes a second copy of ``name`` from its source; for a
    module that monkey_patch() patched, the copy binds the real, blocking objects again (a
    fresh ``queue`` takes ``_queue.SimpleQueue`` from C), which is not what an application
    sees after patching. For such modules the shim returns the patched module itself (when
    the fresh import works at all), so test_queue's "C" and "pure Python" variants both
    exercise the patched queue. Other modules are imported fresh as before.
    """
    from greenlane import patcher

    support: Any = importlib.import_module("test.support")
    try:
        helper: Any = importlib.import_module("test.support.import_helper")  # 3.10+
    except ImportError:  # 3.9 (PyPy): the helpers live in test.support itself
        helper = support
    real = helper.import_fresh_module

    def import_fresh_module(name: str, fresh: Any = (), blocked: Any = (),
                            **kwargs: Any) -> Any:
        module = real(name, fresh, blocked, **kwargs)
        # None: a module in ``fresh`` does not exist here (no C ``_queue`` on PyPy); the test
        # skips itself, as it does unpatched.
        if module is not None and patcher.is_monkey_patched(name):
            return importlib.import_module(name)
        return module

    import_fresh_module.__doc__ = real.__doc__
    helper.import_fresh_module = import_fresh_module
    if getattr(support, "import_fresh_module", None) is real:
        support.import_fresh_module = import_fresh_module


def _repair_environment() -> list[str]:
    """Work around a broken environment, in both modes; return what was done.

    Debian's PyPy ships ``_testcapi.py``, which compiles ``_testcapimodule.c`` on import, but
    not the C file: the import raises FileNotFoundError, which the test modules' ``try: import
    _testcapi except ImportError`` does not catch, so test_socket, test_time and others could
    not even be imported. Made an ImportError, the tests that need ``_testcapi`` skip
    themselves, as on any interpreter without it.
    """
    repairs = []
    # A runner started in the background by a non-interactive shell inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler: every test of SIGINT,
    # interrupt_main() or Ctrl-C in a subprocess fails or hangs, patched or not.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        repairs.append("SIGINT was ignored (inherited from a background shell): Python's "
                       "KeyboardInterrupt handler restored")
    try:
        importlib.import_module("_testcapi")
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - any other failure is the broken install
        sys.modules["_testcapi"] = None  # type: ignore[assignment]
        repairs.append(f"_testcapi made unimportable: its import raised {_message(type(exc), exc)}")
    return repairs


def _setup_support(module_name: str, resources: list[str],
                   network_modules: frozenset[str]) -> None:
    support: Any = importlib.import_module("test.support")
    support.verbose = 0
    enabled = set(resources)
    if module_name.rpartition(".")[2] in network_modules:
        enabled.add("network")
    support.use_resources = sorted(enabled)


class _Fatal(Exception):
    """A stage of the child failed; the message is the stage, the cause the error."""


def main(argv: list[str]) -> int:
    """Run one test module and report events; 0 once a summary was written, 3 on a fatal error.

    Whatever happens, the watchdog is armed: from the start for the first test's
    ``--test-timeout``, and on the way out for ``--exit-timeout``.
    """
    args = _parse(argv)
    events = _Events(args.events)
    patched = not args.baseline
    faulthandler.enable(all_threads=True)
    watchdog = _Watchdog(args.test_timeout)
    watchdog.arm()  # setting up, importing the module and setUpModule can hang too
    stage = "setup"
    try:
        events.emit("hello", protocol=PROTOCOL, pid=os.getpid(),
                    python=sys.version.split()[0], implementation=sys.implementation.name,
                    patched=patched, module=args.module,
                    groups=_patched_groups() if patched else [])
        repairs = _repair_environment()
        if repairs:
            events.emit("environment", repairs=repairs)
        skip_list = importlib.import_module(args.skips_module)
        _setup_support(args.module, [r for r in args.use.split(",") if r],
                       getattr(skip_list, "NETWORK_MODULES", frozenset()))
        if patched:
            _install_shims()
        exclude: set[str] = set()
        if args.exclude:
            with open(args.exclude, encoding="utf-8") as file:
                exclude = set(json.load(file))
        skips = active_skips(Platform.current(patched=patched), skip_list.SKIPS)
        workdir = tempfile.mkdtemp(prefix="greenlane-stdlib-")
        home = os.getcwd()
        os.chdir(workdir)
        try:
            _run(args, events, watchdog, skips, exclude)
        finally:
            os.chdir(home)
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    except _Fatal as exc:
        if str(exc) != "run":  # an abort was reported as such already
            events.emit("fatal", stage=str(exc), traceback=_format_cause(exc))
        return 3
    except Exception:  # noqa: BLE001 - reported to the parent, which decides
        events.emit("fatal", stage=stage, traceback=traceback.format_exc()[-_MAX_TRACEBACK:])
        return 3
    finally:
        sys.stdout.flush()
        # Threads the tests left behind, or a blocked threading._shutdown, must not hang
        # the exit forever.
        watchdog.arm(args.exit_timeout)


def _format_cause(exc: BaseException) -> str:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    lines = traceback.format_exception(type(cause), cause, cause.__traceback__)
    return "".join(lines)[-_MAX_TRACEBACK:]


def _run(args: argparse.Namespace, events: _Events, watchdog: _Watchdog, skips: list[Skip],
         exclude: set[str]) -> None:
    started = time.perf_counter()
    try:
        module = importlib.import_module(args.module)
    except unittest.SkipTest as exc:  # test.support.requires() at import time
        events.emit("module-skipped", reason=str(exc))
        events.emit("summary", seconds=round(time.perf_counter() - started, 3), tests_run=0)
        return
    except Exception as exc:
        raise _Fatal("import") from exc
    try:
        loaded = unittest.defaultTestLoader.loadTestsFromModule(module)
    except Exception as exc:
        raise _Fatal("load") from exc

    listed: list[str] = []

    def keep(test: unittest.TestCase) -> bool:
        test_id = short_id(test.id())
        if test_id in exclude:
            return False
        skip = find_skip(test_id, skips)
        if skip is None:
            return True
        listed.append(test_id)
        events.emit("outcome", id=test_id, outcome="skipped", seconds=0.0,
                    reason=f"skip list ({skip.kind}): {skip.reason}", listed=skip.pattern,
                    details=[])
        return False

    suite = _filter(loaded, keep)
    events.emit("plan", tests=suite.countTestCases(), listed=len(listed))
    runner = _Runner(events, watchdog, stream=sys.stdout, verbosity=2)
    try:
        result = runner.run(suite)
    except BaseException as exc:
        # unittest lets KeyboardInterrupt through (a stray _thread.interrupt_main() or
        # SIGINT from an earlier test, for instance): the rest of the suite cannot run in
        # this process, so the parent is told which test was last started and restarts past it.
        last = runner.result.last_started if runner.result is not None else ""
        events.emit("aborted", id=last, message=_message(type(exc), exc),
                    traceback=traceback.format_exc()[-_MAX_TRACEBACK:])
        raise _Fatal("run") from exc
    watchdog.disarm()
    events.emit("summary", seconds=round(time.perf_counter() - started, 3),
                tests_run=result.testsRun)
