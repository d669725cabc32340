"""Run CPython's own test modules under ``greenlane.monkey_patch()``: ``python -m compat.stdlib``.

Run it from the repository root with the interpreter under test (``.venv/bin/python -m
compat.stdlib``, or a venv of another CPython or of PyPy): it uses that interpreter's installed
``test`` package (pyenv builds have it; Debian's PyPy gets it from ``pypy3-lib-testsuite``).
Each module runs in a child process of its own (``compat.stdlib.bootstrap``), which patches
before anything else, so a broken patcher shows up as failing modules, not as a broken runner;
this parent never imports greenlane.

Modes: patched (default), ``--baseline`` (nothing patched: the reference), ``--compare`` (both,
then a table: tests that pass unpatched, how many of those pass patched, failures, errors and
hangs). A child that hangs in a test (``--test-timeout``) or dies is restarted without that
test and the tests it already ran, up to ``--max-restarts`` times, within the module's
``--timeout``; the test is reported as a hang or a crash.

Exit status: 0 if every module ran to completion with no hang and no crash, and (patched and
compare modes) no patched test failed or errored, except in compare mode those that fail
unpatched too; 1 otherwise; 2 for bad usage or an interpreter without a ``test`` package.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from compat.stdlib.skips import Platform, active_skips

__all__ = ["DEFAULT_MODULES", "ModuleResult", "Options", "Outcome", "main", "run_module"]

REPO_ROOT = Path(__file__).resolve().parents[2]

# The set issue 8 names, longest first (measured on CPython 3.11, 2 cores) so that two jobs
# finish close together.
DEFAULT_MODULES = (
    "test_socket", "test_subprocess", "test_ssl", "test_threading", "test_signal",
    "test_socketserver", "test_httplib", "test_selectors", "test_thread", "test_queue",
    "test_urllib2_localnet", "test_time", "test_wsgiref", "test_timeout", "test_context",
    "test_select",
)
DEFAULT_RESOURCES = ("subprocess",)
# A single stdlib test takes at most a few seconds with 'cpu' and 'walltime' off; a minute
# means it is stuck (the slowest seen on 2 loaded cores took about 10 s).
DEFAULT_TEST_TIMEOUT = 60.0
DEFAULT_MODULE_TIMEOUT = 600.0
DEFAULT_EXIT_TIMEOUT = 20.0
# How faulthandler's watchdog dump starts; mid-line when a test's name was printed before it.
_FAULTHANDLER_TIMEOUT = re.compile(rb"Timeout \(\d+:\d\d:\d\d(\.\d+)?\)!\n")


@dataclass
class Outcome:
    """One test's result: passed/failed/error/skipped/hang/crash, with why."""

    outcome: str
    seconds: float = 0.0
    reason: str = ""
    listed: str = ""
    details: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outcome": self.outcome, "seconds": self.seconds}
        if self.reason:
            data["reason"] = self.reason
        if self.listed:
            data["listed"] = self.listed
        if self.details:
            data["details"] = self.details
        return data


@dataclass
class ModuleResult:
    """What running one module in one mode gave, over all its attempts."""

    module: str
    patched: bool
    status: str = "ok"  # ok, skipped, hang, crash, exit-hang, bad-exit, fatal, missing
    seconds: float = 0.0
    attempts: int = 0
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    fatal: str = ""
    skipped_reason: str = ""
    groups: list[str] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return "patched" if self.patched else "baseline"

    def ids(self, *outcomes: str) -> set[str]:
        """The ids of tests whose outcome is one of ``outcomes``."""
        return {tid for tid, o in self.outcomes.items() if o.outcome in outcomes}

    def count(self, *outcomes: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.outcome in outcomes)

    @property
    def listed(self) -> int:
        return sum(1 for o in self.outcomes.values() if o.listed)

    @property
    def healthy(self) -> bool:
        """Ran to completion: no hang, no crash, no fatal error, exited cleanly."""
        return self.status in ("ok", "skipped")

    def counts(self) -> dict[str, int]:
        return {"total": len(self.outcomes), "passed": self.count("passed"),
                "failed": self.count("failed"), "errors": self.count("error"),
                "skipped": self.count("skipped"), "listed": self.listed,
                "hangs": self.count("hang"), "crashes": self.count("crash")}

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "mode": self.mode, "status": self.status,
                "seconds": round(self.seconds, 2), "attempts": self.attempts,
                "counts": self.counts(), "incidents": self.incidents, "logs": self.logs,
                "fatal": self.fatal, "skipped_reason": self.skipped_reason,
                "groups": self.groups, "environment": self.environment,
                "outcomes": {tid: o.to_json() for tid, o in sorted(self.outcomes.items())}}


@dataclass
class Options:
    """How to run: the interpreter, limits, resources and where logs go."""

    python: str = sys.executable
    timeout: float = DEFAULT_MODULE_TIMEOUT
    test_timeout: float = DEFAULT_TEST_TIMEOUT
    exit_timeout: float = DEFAULT_EXIT_TIMEOUT
    max_restarts: int = 3
    resources: tuple[str, ...] = DEFAULT_RESOURCES
    skips_module: str = "compat.stdlib.skips"
    log_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))


def _importable(module: str) -> str:
    # "test_socket" is CPython's; anything dotted (or not test_*) is taken as given.
    return f"test.{module}" if module.startswith("test_") and "." not in module else module


def _short(module: str) -> str:
    return module[len("test."):] if module.startswith("test.") else module


def _read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - size))
            return file.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _log_has_watchdog_dump(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return any(_FAULTHANDLER_TIMEOUT.search(line) for line in file)
    except OSError:
        return False


def _kill_group(pgid: int) -> None:
    # The child leads its own session; tests start servers and subprocesses under it.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _attempt(module: str, patched: bool, options: Options, attempt: int, exclude: set[str],
             budget: float) -> tuple[list[dict[str, Any]], Optional[int], Path]:
    stem = f"{_short(module)}-{'patched' if patched else 'baseline'}-{attempt}"
    events_path = options.log_dir / f"{stem}.jsonl"
    log_path = options.log_dir / f"{stem}.log"
    cmd = [options.python, "-X", "faulthandler", "-m", "compat.stdlib.bootstrap",
           _importable(module), "--events", str(events_path),
           "--test-timeout", str(options.test_timeout),
           "--exit-timeout", str(options.exit_timeout), "--use", ",".join(options.resources),
           "--skips-module", options.skips_module]
    if not patched:
        cmd.append("--baseline")
    if exclude:
        exclude_path = options.log_dir / f"{stem}.exclude.json"
        exclude_path.write_text(json.dumps(sorted(exclude)), encoding="utf-8")
        cmd += ["--exclude", str(exclude_path)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode: Optional[int] = proc.wait(timeout=max(budget, 1.0))
        except subprocess.TimeoutExpired:
            returncode = None
            _kill_group(proc.pid)
            proc.wait()
        _kill_group(proc.pid)  # whatever the tests left running in the child's session
    return _read_events(events_path), returncode, log_path


def run_module(module: str, patched: bool, options: Options) -> ModuleResult:
    """Run one test module in one mode, restarting past hung or crashed tests.

    ``module`` is a CPython test module name (``test_socket``) or any importable module.
    """
    result = ModuleResult(module=_short(module), patched=patched)
    started = time.monotonic()
    deadline = started + options.timeout
    if importlib.util.find_spec(_importable(module)) is None:
        result.status = "missing"
        result.fatal = f"{_importable(module)} is not importable by {sys.executable}"
        return result
    done: set[str] = set()
    while True:
        result.attempts += 1
        events, returncode, log_path = _attempt(
            module, patched, options, result.attempts, done,
            budget=deadline - time.monotonic())
        result.logs.append(str(log_path))
        restart_past = _interpret(result, events, returncode, log_path)
        done |= set(result.outcomes)
        if (restart_past is None or result.attempts > options.max_restarts
                or deadline - time.monotonic() < 5.0):
            break
    result.seconds = time.monotonic() - started
    if result.incidents:
        result.status = result.incidents[0]["kind"]
    return result


def _interpret(result: ModuleResult, events: list[dict[str, Any]],
               returncode: Optional[int], log_path: Path) -> Optional[str]:
    """Fold one attempt's events into ``result``; return the id to restart past, if any."""
    started: Optional[str] = None
    summary = False
    aborted: Optional[dict[str, Any]] = None
    for event in events:
        kind = event["event"]
        if kind == "hello":
            result.groups = list(event.get("groups", []))
        elif kind == "environment":
            result.environment = list(event.get("repairs", []))
        elif kind == "start":
            started = event["id"]
        elif kind == "outcome":
            result.outcomes[event["id"]] = Outcome(
                outcome=event["outcome"], seconds=float(event.get("seconds", 0.0)),
                reason=event.get("reason", ""), listed=event.get("listed", ""),
                details=list(event.get("details", [])))
            if event["id"] == started:
                started = None
        elif kind == "module-skipped":
            result.skipped_reason = event.get("reason", "")
            if result.status == "ok":
                result.status = "skipped"
        elif kind == "fatal":
            result.fatal = f"{event.get('stage', '?')}: {event.get('traceback', '')}"
        elif kind == "summary":
            summary = True
        elif kind == "aborted":
            aborted = event
    attempt = result.attempts
    if result.fatal:
        result.incidents.append({"kind": "fatal", "test": None, "attempt": attempt,
                                 "returncode": returncode})
        return None
    if summary:
        if returncode == 0:
            return None
        if returncode is None or _log_has_watchdog_dump(log_path):
            kind = "exit-hang"
        else:
            kind = "bad-exit"
        result.incidents.append({"kind": kind, "test": None, "attempt": attempt,
                                 "returncode": returncode, "tail": _tail(log_path)})
        return None
    if aborted is not None:
        blamed: Optional[str] = str(aborted.get("id") or "") or None
        result.incidents.append({"kind": "crash", "test": blamed, "attempt": attempt,
                                 "returncode": returncode, "tail": aborted.get("traceback", "")})
        if blamed is None:
            return None
        result.outcomes[blamed] = Outcome(
            outcome="crash", reason=f"{aborted.get('message', '')} escaped unittest during or "
                                    f"after this test (attempt {attempt})",
            details=[{"subtest": "", "message": aborted.get("message", ""),
                      "traceback": aborted.get("traceback", "")}])
        return blamed
    if not events:
        result.incidents.append({"kind": "crash", "test": None, "attempt": attempt,
                                 "returncode": returncode, "tail": _tail(log_path)})
        return None
    hung = returncode is None or _log_has_watchdog_dump(log_path)
    kind = "hang" if hung else "crash"
    result.incidents.append({"kind": kind, "test": started, "attempt": attempt,
                             "returncode": returncode, "tail": _tail(log_path)})
    if started is None:
        return None  # stuck or died between tests (a fixture): nothing to step past
    result.outcomes[started] = Outcome(outcome=kind, reason=f"{kind} (attempt {attempt})")
    return started


# ----------------------------------------------------------------------------- comparison
@dataclass
class Comparison:
    """One module's patched run against its baseline."""

    module: str
    baseline: ModuleResult
    patched: ModuleResult

    @property
    def passing_unpatched(self) -> set[str]:
        return self.baseline.ids("passed")

    @property
    def still_passing(self) -> set[str]:
        return self.passing_unpatched & self.patched.ids("passed")

    @property
    def percent(self) -> Optional[float]:
        base = len(self.passing_unpatched)
        return 100.0 * len(self.still_passing) / base if base else None

    @property
    def regressions(self) -> dict[str, str]:
        """Tests passing unpatched and not patched -> what they did patched."""
        lost = self.passing_unpatched - self.patched.ids("passed")
        return {tid: self.patched.outcomes[tid].outcome if tid in self.patched.outcomes
                else "not run" for tid in sorted(lost)}

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "passing_unpatched": len(self.passing_unpatched),
                "still_passing": len(self.still_passing),
                "percent": None if self.percent is None else round(self.percent, 1),
                "patched": self.patched.counts(), "patched_status": self.patched.status,
                "baseline_status": self.baseline.status,
                "baseline_seconds": round(self.baseline.seconds, 1),
                "patched_seconds": round(self.patched.seconds, 1),
                "regressions": self.regressions}


# ----------------------------------------------------------------------------- command line
def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m compat.stdlib",
        description="Run CPython's own test modules under greenlane.monkey_patch(), one "
                    "subprocess per module, with the running interpreter's test package.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--baseline", action="store_true", help="run unpatched only")
    mode.add_argument("--compare", action="store_true",
                      help="run unpatched and patched, then compare them")
    parser.add_argument("--modules", help="comma-separated test modules (default: all "
                        f"{len(DEFAULT_MODULES)} of issue 8)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_MODULE_TIMEOUT,
                        help="seconds per module, restarts included (default %(default)s)")
    parser.add_argument("--test-timeout", type=float, default=DEFAULT_TEST_TIMEOUT,
                        help="seconds one test may take before it counts as hung "
                             "(default %(default)s)")
    parser.add_argument("--max-restarts", type=int, default=3,
                        help="restarts of a module past hung or crashed tests "
                             "(default %(default)s)")
    parser.add_argument("--jobs", "-j", type=int, default=2,
                        help="modules run at once (default %(default)s)")
    parser.add_argument("--use", default=",".join(DEFAULT_RESOURCES),
                        help="test.support resources, comma-separated (default %(default)s; "
                             "'network' only ever for loopback-only modules)")
    parser.add_argument("--json", metavar="FILE", help="write every result to FILE")
    parser.add_argument("--logs", metavar="DIR", help="keep child logs and events in DIR "
                        "(default: a new temporary directory)")
    parser.add_argument("--update-docs", action="store_true",
                        help="rewrite this interpreter's table in docs/compatibility.md "
                             "(needs --compare)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="list every failing test id, not only the first few per module")
    args = parser.parse_args(argv)
    if args.update_docs and not args.compare:
        parser.error("--update-docs needs --compare: the table compares unpatched and patched")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if "network" in args.use.split(","):
        parser.error("the 'network' resource reaches the internet; the runner enables it "
                     "only for the loopback-only modules in compat/stdlib/skips.py")
    return args


def interpreter_label() -> str:
    """``CPython 3.11.7`` or ``PyPy 7.3.11 (Python 3.9.16)``."""
    version = sys.version.split()[0]
    if sys.implementation.name == "pypy":
        pypy = ".".join(str(part) for part in sys.pypy_version_info[:3])  # type: ignore[attr-defined]
        return f"PyPy {pypy} (Python {version})"
    return f"{sys.implementation.name.replace('cpython', 'CPython')} {version}"


_OUTPUT_ONLY = {"--json": 1, "--logs": 1, "--verbose": 0, "-v": 0}


def command_line(argv: list[str]) -> str:
    """The command as typed from the repository root, without the options that only choose
    where output goes (``--json``, ``--logs``, ``--verbose``); a venv inside the repository
    is shown relative to it."""
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(REPO_ROOT))
    except ValueError:
        shown = str(python)
    kept: list[str] = []
    skip = 0
    for part in argv:
        if skip:
            skip -= 1
            continue
        name = part.split("=", 1)[0]
        if name in _OUTPUT_ONLY:
            skip = _OUTPUT_ONLY[name] if "=" not in part else 0
            continue
        kept.append(part)
    return " ".join(shlex.quote(part) for part in [shown, "-m", "compat.stdlib", *kept])


def _check_interpreter() -> Optional[str]:
    if importlib.util.find_spec("test") is None or importlib.util.find_spec(
            "test.support") is None:
        return (f"{sys.executable} has no 'test' package (CPython's own tests); install it "
                f"(Debian: libpython3.X-testsuite, or pypy3-lib-testsuite for PyPy) or use "
                f"a pyenv build")
    return None


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point; returns the exit status."""
    from compat.stdlib import report

    args_list = sys.argv[1:] if argv is None else list(argv)
    args = _parse(args_list)
    problem = _check_interpreter()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    modules = ([m.strip() for m in args.modules.split(",") if m.strip()] if args.modules
               else list(DEFAULT_MODULES))
    log_dir = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(
        prefix=f"greenlane-stdlib-{sys.implementation.name}{sys.version_info[0]}"
               f"{sys.version_info[1]}-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    options = Options(timeout=args.timeout, test_timeout=args.test_timeout,
                      max_restarts=args.max_restarts, log_dir=log_dir.resolve(),
                      resources=tuple(r for r in args.use.split(",") if r))
    modes = [False, True] if args.compare else [not args.baseline]
    tasks = [(module, patched) for module in modules for patched in modes]
    print(f"{interpreter_label()}: {len(modules)} modules, "
          f"{' and '.join('patched' if p else 'unpatched' for p in modes)}, "
          f"{args.jobs} at a time; logs in {log_dir}", flush=True)

    started = time.monotonic()
    results: dict[tuple[str, bool], ModuleResult] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_module, module, patched, options): (module, patched)
                   for module, patched in tasks}
        for number, future in enumerate(concurrent.futures.as_completed(futures), 1):
            module_result = future.result()
            results[futures[future]] = module_result
            print(f"[{number:2}/{len(tasks)}] {report.one_line(module_result)}", flush=True)
    wall = time.monotonic() - started

    baseline = {_short(m): results[(m, False)] for m in modules if (m, False) in results}
    patched = {_short(m): results[(m, True)] for m in modules if (m, True) in results}
    comparisons = [Comparison(name, baseline[name], patched[name])
                   for name in baseline if name in patched]
    status, reasons = exit_status(baseline, patched, comparisons)

    print()
    print(report.summary_table(list(results.values()), comparisons, wall))
    print(report.problems(baseline, patched, comparisons, verbose=args.verbose))
    repairs = sorted({repair for r in results.values() for repair in r.environment})
    if repairs:
        print("worked around in this environment (both modes): " + "; ".join(repairs))
    stale = stale_skips(list(results.values()))
    if stale:
        print("skip-list entries that matched no test here: " + ", ".join(stale))
    for reason in reasons:
        print(f"FAIL: {reason}")
    print(f"exit status {status}; wall time {wall:.0f}s; logs in {log_dir}")

    if args.json:
        payload = {"runner": 1, "interpreter": interpreter_label(),
                   "command": command_line(args_list), "wall_seconds": round(wall, 1),
                   "exit_status": status, "reasons": reasons, "stale_skips": stale,
                   "runs": {"baseline": {k: v.to_json() for k, v in baseline.items()},
                            "patched": {k: v.to_json() for k, v in patched.items()}},
                   "compare": [c.to_json() for c in comparisons]}
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    if args.update_docs:
        path = report.update_docs(REPO_ROOT / "docs" / "compatibility.md", comparisons,
                                  interpreter=interpreter_label(),
                                  command=command_line(args_list), wall=wall)
        print(f"updated {path}")
    return status


def exit_status(baseline: dict[str, ModuleResult], patched: dict[str, ModuleResult],
                comparisons: list[Comparison]) -> tuple[int, list[str]]:
    """1 and the reasons if anything hung, crashed, or (patched) failed; else 0 and []."""
    reasons = []
    for result in [*baseline.values(), *patched.values()]:
        if not result.healthy:
            what = result.status if result.status != "fatal" else "fatal error"
            reasons.append(f"{result.module} ({result.mode}): {what}")
    failing_unpatched = {c.module: c.baseline.ids("failed", "error", "hang", "crash")
                         for c in comparisons}
    for name, result in patched.items():
        bad = result.ids("failed", "error") - failing_unpatched.get(name, set())
        if bad:
            reasons.append(f"{name} (patched): {len(bad)} tests failed or errored")
    return (1 if reasons else 0), reasons


def stale_skips(results: list[ModuleResult]) -> list[str]:
    """Skip patterns in force for a module that ran to completion, yet matching none of its tests.

    Such an entry outlived its test (renamed, removed, or never on this interpreter).
    """
    stale = set()
    for result in results:
        if result.status != "ok":
            continue
        used = {o.listed for o in result.outcomes.values() if o.listed}
        stale |= {skip.pattern for skip in active_skips(Platform.current(patched=result.patched))
                  if skip.module == result.module and skip.pattern not in used}
    return sorted(stale)
