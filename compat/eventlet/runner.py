"""The mechanics of ``python -m compat.eventlet``: fetch, prepare, run, compare, report.

How eventlet is aliased in every interpreter: the runner installs greenlane's opt-in ``.pth``
(``python -m greenlane.compat install-pth``) into the site-packages of the interpreter it runs
with, and sets ``GREENLANE_EVENTLET_ALIAS=1`` for the pytest processes. The suite's
``run_isolated`` starts more interpreters (``sys.executable``, inheriting the environment), and
the ``.pth`` aliases eventlet in each of them too. The ``.pth`` is left in place: it does
nothing in an interpreter started without the variable, and it is the mechanism greenlane
ships for users, so the runner exercises it rather than a stand-in. (A ``sitecustomize`` on
``PYTHONPATH`` would shadow the interpreter's own ``sitecustomize``, which Debian's Python
has.)

Why only ``tests/`` is copied: eventlet's own ``eventlet/`` package next to it would be found
first (pytest puts the scratch directory on ``sys.path``, and ``run_isolated`` puts it on
``PYTHONPATH``), shadowing the alias. An empty ``pytest.ini`` in the scratch directory keeps
greenlane's own pytest settings (found by walking up from the cache) out of the run.

The harness shim: eventlet's ``tests/__init__.py`` imports ``eventlet.tpool`` (for
``tpool.killall()`` in every tearDown), so without ``greenlane.tpool`` no test can even be
collected. While greenlane has no ``tpool`` the runner replaces that import, in the scratch
copy only, by a stand-in whose ``killall()`` does nothing, and says so in its report and in
docs/compatibility.md. ``tpool_test`` and the isolated tpool scripts still fail, as they
should. ``--no-shim`` turns it off.

Outcomes are compared per mode ("per-file": each test file in its own pytest process;
"one-process": every file in one process) with, in this order:

1. ``expected.py``: an entry (a test id, or a file or class prefix; the most specific wins)
   says the test fails, is skipped, or may do either (``any``), with its reason;
2. ``baseline.json``: a test the real eventlet does not pass here is not compared;
3. otherwise the test must pass.

Anything else is unexpected, and so is a listed failure that passes: the run exits 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from compat.eventlet.expected import EXPECTED, Expect

__all__ = ["main"]

EVENTLET_VERSION = "0.41.3"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = HERE / ".cache"
BASELINE = HERE / "baseline.json"
DOCS = REPO / "docs" / "compatibility.md"
SECTION = "## eventlet's test suite through the alias"
PLUGIN = "_greenlane_compat_plugin"

# These connect to 192.0.2.1 (TEST-NET-1) to provoke a connect timeout: not loopback-only.
DESELECT = (
    "tests/greenio_test.py::TestGreenSocket::test_connect_timeout",
    "tests/greenio_test.py::TestGreenSocket::test_connect_ex_timeout",
    "tests/socket_test.py::test_create_connection_error",
)

# Issue 10's tiers (reference eventlet.md, section 3). Tier 1 must pass in both modes except
# listed deliberate differences; tier 2 is implementation-coupled; tier 3 needs services.
TIER1 = frozenset({
    "greenthread_test", "greenpool_test", "queue_test", "event_test", "test__event",
    "semaphore_test", "timeout_test", "timeout_with_statement_test", "convenience_test",
    "pools_test", "dagpool_test", "wsgi_test", "websocket_test", "websocket_new_test",
    "api_test", "greenio_test", "socket_test", "ssl_test", "backdoor_test", "subprocess_test",
    "os_test", "thread_test", "tpool_test",
})
TIER3 = frozenset({"db_pool_test", "mysqldb_test", "patcher_psycopg_test", "zmq_test",
                   "openssl_test"})

MODES = ("per-file", "one-process")
PER_TEST_TIMEOUT = 30      # pytest-timeout, per test: a hang must not stall the whole run
FILE_TIMEOUT = 900         # a whole pytest process, per file
ALL_TIMEOUT = 2700         # the one-process run
FAILING = ("failed", "error")


def tier_of(file_id: str) -> int:
    """The issue-10 tier (1, 2 or 3) of a test file id ("tests/x_test.py")."""
    stem = Path(file_id).stem
    return 1 if stem in TIER1 else 3 if stem in TIER3 else 2


# ---------------------------------------------------------------- fetching and preparing

def sdist() -> Path:
    """eventlet's sdist, downloaded with pip into the cache on first use."""
    CACHE.mkdir(exist_ok=True)
    name = f"eventlet-{EVENTLET_VERSION}.tar.gz"
    path = CACHE / name
    if not path.exists():
        print(f"downloading {name} with pip", flush=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--no-binary", ":all:", f"eventlet=={EVENTLET_VERSION}",
                            "-d", tmp], check=True)
            shutil.move(str(Path(tmp) / name), path)
    return path


def greenlane_has(module: str) -> bool:
    """Whether ``greenlane.<module>`` can be imported by the interpreter under test."""
    probe = f"import importlib; importlib.import_module('greenlane.{module}')"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


_SHIM = '''try:
    from eventlet import tpool
except ImportError:  # greenlane compat runner shim: greenlane has no tpool yet
    class tpool:  # noqa: N801
        @staticmethod
        def killall():
            pass
'''


def prepare(scratch: Path, shim: bool) -> None:
    """Unpack only ``tests/`` of the sdist into ``scratch`` (a fresh directory)."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    prefix = f"eventlet-{EVENTLET_VERSION}/tests/"
    with tarfile.open(sdist()) as tar:
        for member in tar.getmembers():
            if not member.name.startswith(prefix) or not (member.isfile() or member.isdir()):
                continue
            target = scratch / "tests" / member.name[len(prefix):]
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
    (scratch / "pytest.ini").write_text("[pytest]\n")
    shutil.copy(HERE / "_plugin.py", scratch / f"{PLUGIN}.py")
    if shim:
        init = scratch / "tests" / "__init__.py"
        text = init.read_text()
        line = "from eventlet import tpool\n"
        if line not in text:
            raise RuntimeError("eventlet's tests/__init__.py changed; update the tpool shim")
        init.write_text(text.replace(line, _SHIM, 1))


def test_files(scratch: Path, wanted: Optional[list[str]]) -> list[str]:
    """The test file ids to run: every ``*_test.py``/``test_*.py``, or those named."""
    found = sorted(f"tests/{p.name}" for p in (scratch / "tests").iterdir()
                   if p.suffix == ".py" and (p.stem.endswith("_test") or
                                             p.stem.startswith("test_")))
    if not wanted:
        return found
    chosen = []
    for name in wanted:
        stem = Path(name).stem
        match = [f for f in found if Path(f).stem == stem]
        if not match:
            raise SystemExit(f"no eventlet test file {name!r}; known: "
                             + ", ".join(Path(f).stem for f in found))
        chosen += match
    return chosen


# ---------------------------------------------------------------- running

@dataclass
class Run:
    """The outcomes of one pytest process: test id -> (outcome, message)."""

    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""


def run_pytest(python: str, scratch: Path, files: list[str], env: dict[str, str],
               timeout: float, timeout_per_test: bool) -> Run:
    """Run pytest on ``files`` in ``scratch``; collect the outcomes the plugin recorded."""
    fd, results_name = tempfile.mkstemp(prefix="results-", suffix=".jsonl", dir=scratch)
    os.close(fd)
    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", PLUGIN,
            "--rootdir", str(scratch), "-o", "console_output_style=classic",
            "--continue-on-collection-errors"]
    if timeout_per_test:
        args += [f"--timeout={PER_TEST_TIMEOUT}"]  # pytest-timeout loads as an entry point
    for test_id in DESELECT:
        args += ["--deselect", test_id]
    args += files
    run_env = dict(env, GREENLANE_COMPAT_RESULTS=results_name, PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    note = ""
    # A new session, so a hang can be killed with everything it started (isolated scripts).
    proc = subprocess.Popen(args, cwd=scratch, env=run_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        note = f"killed after {timeout:.0f} s"
    run = Run(seconds=time.monotonic() - start, note=note)
    collected: list[str] = []
    with open(results_name, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if "collected" in record:
                collected += record["collected"]
            else:
                run.outcomes[record["id"]] = (record["outcome"], record.get("message", ""))
    os.unlink(results_name)
    lost = [t for t in collected if t not in run.outcomes]
    if lost:
        reason = note or f"pytest exited with status {proc.returncode} before reporting it"
        for test_id in lost:
            run.outcomes[test_id] = ("error", f"no outcome: {reason}")
    if not run.outcomes and proc.returncode not in (0, 5):
        tail = output.decode(errors="replace").strip().splitlines()[-5:]
        for file_id in files:
            run.outcomes[file_id] = ("error", ("pytest failed: " + " | ".join(tail))[:500])
    return run


def run_modes(python: str, scratch: Path, files: list[str], env: dict[str, str],
              modes: Iterable[str], timeout_per_test: bool) -> dict[str, Run]:
    """Run ``files`` in each requested mode; returns mode -> merged outcomes."""
    results: dict[str, Run] = {}
    for mode in modes:
        if mode == "per-file":
            merged = Run()
            for file_id in files:
                run = run_pytest(python, scratch, [file_id], env, FILE_TIMEOUT,
                                 timeout_per_test)
                merged.outcomes.update(run.outcomes)
                merged.seconds += run.seconds
                counts = Counter(o for o, _ in run.outcomes.values())
                print(f"  {file_id:<42} {counts['passed']:>4} passed {counts['failed']:>4} "
                      f"failed {counts['error']:>4} errors {counts['skipped']:>4} skipped "
                      f"({run.seconds:.0f} s){' ' + run.note if run.note else ''}", flush=True)
            results[mode] = merged
        else:
            run = run_pytest(python, scratch, files, env, ALL_TIMEOUT, timeout_per_test)
            counts = Counter(o for o, _ in run.outcomes.values())
            print(f"  one process: {counts['passed']} passed, {counts['failed']} failed, "
                  f"{counts['error']} errors, {counts['skipped']} skipped "
                  f"({run.seconds:.0f} s){' ' + run.note if run.note else ''}", flush=True)
            results[mode] = run
    return results


def file_of(test_id: str) -> str:
    """The file id part of a test id."""
    return test_id.split("::", 1)[0]


def per_file_counts(run: Run, files: list[str]) -> dict[str, dict[str, int]]:
    """file id -> {"passed": n, "failed": n, "error": n, "skipped": n}."""
    table = {f: {"passed": 0, "failed": 0, "error": 0, "skipped": 0} for f in files}
    for test_id, (outcome, _) in run.outcomes.items():
        table.setdefault(file_of(test_id), {"passed": 0, "failed": 0, "error": 0,
                                            "skipped": 0})[outcome] += 1
    return table


# ---------------------------------------------------------------- comparing

def find_expectation(test_id: str, mode: str, message: str = "") -> Optional[Expect]:
    """The most specific ``expected.py`` entry covering ``test_id`` in ``mode``.

    Longer ids are more specific; at equal length an entry for this mode only, then one
    narrowed by a message pattern, wins.
    """
    best: Optional[Expect] = None
    best_rank: tuple[int, int, int] = (-1, 0, 0)
    for entry in EXPECTED:
        if entry.mode is not None and entry.mode != mode:
            continue
        covers = (test_id == entry.test or test_id.startswith(entry.test + "::")
                  or (entry.test.endswith(".py") and file_of(test_id) == entry.test)
                  or (entry.test.endswith("/") and test_id.startswith(entry.test)))
        if not covers:
            continue
        if entry.message is not None and not re.search(entry.message, message):
            continue
        rank = (len(entry.test), entry.mode is not None, entry.message is not None)
        if rank > best_rank:
            best, best_rank = entry, rank
    return best


def _matches(outcome: str, expected: str) -> bool:
    return (expected == "any" or (expected == "fail" and outcome in FAILING)
            or (expected == "skip" and outcome == "skipped"))


@dataclass
class Verdict:
    """How one mode's outcomes compare with expectations and the baseline."""

    unexpected: list[tuple[str, str, str]] = field(default_factory=list)  # id, got, why
    listed: Counter[str] = field(default_factory=Counter)        # Expect.kind -> tests
    not_compared: int = 0
    stale: list[Expect] = field(default_factory=list)  # entries that matched nothing


def judge(run: Run, mode: str, baseline_nonpass: dict[str, str], complete: bool) -> Verdict:
    """Compare one mode's outcomes; ``complete``: the whole selection ran (stale entries)."""
    verdict = Verdict()
    used: set[int] = set()
    for test_id, (outcome, message) in sorted(run.outcomes.items()):
        entry = find_expectation(test_id, mode, message if outcome != "passed" else "")
        if entry is not None:
            used.add(id(entry))
            if _matches(outcome, entry.outcome):
                verdict.listed[entry.kind] += 1
            elif outcome == "passed":
                verdict.unexpected.append((test_id, outcome,
                                           f"listed as {entry.outcome} ({entry.reason[:60]})"))
            else:
                verdict.unexpected.append((test_id, outcome,
                                           f"listed as {entry.outcome}: {message}"))
            continue
        if test_id in baseline_nonpass:
            verdict.not_compared += 1
            continue
        if outcome != "passed":
            verdict.unexpected.append((test_id, outcome, message))
    if complete:
        verdict.stale = [e for e in EXPECTED if id(e) not in used
                         and (e.mode is None or e.mode == mode)]
    return verdict


# ---------------------------------------------------------------- baseline

def load_baseline() -> dict[str, Any]:
    """The stored numbers of the real eventlet ({} if there are none yet)."""
    if not BASELINE.exists():
        return {}
    data: dict[str, Any] = json.loads(BASELINE.read_text())
    return data


def refresh_baseline(files_wanted: Optional[list[str]], timeout_per_test: bool) -> int:
    """Run the same files against the real eventlet in its own venv; write baseline.json."""
    venv = CACHE / f"venv-eventlet-{EVENTLET_VERSION}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with the real eventlet {EVENTLET_VERSION}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"eventlet=={EVENTLET_VERSION}",
                        "pytest", "pytest-timeout", "dnspython"], check=True)
    scratch = CACHE / "scratch-eventlet"
    prepare(scratch, shim=False)
    files = test_files(scratch, files_wanted)
    env = _clean_env()
    print(f"eventlet {EVENTLET_VERSION} itself, {len(files)} files:", flush=True)
    results = run_modes(str(python), scratch, files, env, MODES, timeout_per_test)
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    data: dict[str, Any] = {
        "eventlet": EVENTLET_VERSION,
        "python": f"{platform.python_implementation()} {version}",
        "platform": platform.platform(terse=True),
        "date": datetime.date.today().isoformat(),
        "deselected": list(DESELECT),
        "modes": {},
    }
    for mode, run in results.items():
        data["modes"][mode] = {
            "files": per_file_counts(run, files),
            "not_passed": {t: o for t, (o, _) in sorted(run.outcomes.items()) if o != "passed"},
        }
    BASELINE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE.relative_to(REPO)}")
    return 0


# ---------------------------------------------------------------- reporting

def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GREENLANE_EVENTLET_ALIAS", "PYTEST_", "COV_"))}
    env.pop("PYTHONPATH", None)
    env["EVENTLET_TESTS"] = "1"
    return env


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def report(results: dict[str, Run], verdicts: dict[str, Verdict], files: list[str],
           baseline: dict[str, Any]) -> list[str]:
    """The per-file table and totals, as Markdown lines."""
    base_files = {m: baseline.get("modes", {}).get(m, {}).get("files", {}) for m in MODES}
    lines = ["| file | tier | eventlet passed | " + " | ".join(
        f"greenlane {m}: passed / failed / errors / skipped" for m in results) + " |",
        "|---|---|---|" + "---|" * len(results)]
    totals: dict[str, Counter[str]] = {m: Counter() for m in results}
    base_total = 0
    counts = {m: per_file_counts(run, files) for m, run in results.items()}
    for file_id in files:
        base = base_files["per-file"].get(file_id, {}).get("passed")
        base_total += base or 0
        cells = []
        for mode in results:
            c = counts[mode][file_id]
            totals[mode].update(c)
            cells.append(f"{c['passed']} / {c['failed']} / {c['error']} / {c['skipped']}")
        lines.append(f"| `{Path(file_id).stem}` | {tier_of(file_id)} | "
                     f"{'?' if base is None else base} | " + " | ".join(cells) + " |")
    lines.append(f"| **total** | | **{base_total}** | " + " | ".join(
        f"**{t['passed']} / {t['failed']} / {t['error']} / {t['skipped']}**"
        for t in totals.values()) + " |")
    lines.append("")
    for mode in results:
        base_mode = sum(f.get("passed", 0) for f in base_files[mode].values()
                        if f is not None) if base_files[mode] else 0
        v = verdicts[mode]
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(v.listed.items())) or "none"
        lines.append(f"- {mode}: greenlane passes **{totals[mode]['passed']}** of the "
                     f"**{base_mode}** tests eventlet passes here "
                     f"({_pct(totals[mode]['passed'], base_mode)}); listed in expected.py: "
                     f"{kinds}; unexpected results: {len(v.unexpected)}.")
    return lines


def update_docs(table: list[str], shim: bool, python: str) -> None:
    """Write (or replace) this runner's section of docs/compatibility.md."""
    baseline = load_baseline()
    body = [
        SECTION,
        "",
        f"eventlet {EVENTLET_VERSION}'s own `tests/`, run against greenlane with `eventlet` "
        f"aliased to it (`greenlane.compat`), by `make compat` (`python -m compat.eventlet`). "
        f"Each file runs in its own pytest process (per-file) and all of them in one process "
        f"(one-process). The three tests that need a non-loopback address are deselected. "
        f"\"eventlet passed\" is the real eventlet on the same machine, stored in "
        f"`compat/eventlet/baseline.json` ({baseline.get('python', '?')}, "
        f"{baseline.get('date', '?')}; refresh with `python -m compat.eventlet "
        f"--refresh-baseline`). Known failures, each with its reason, are listed in "
        f"`compat/eventlet/expected.py`; the run fails on any other result, an unexpected "
        f"pass included.",
        "",
        "The alias runs with eventlet's defaults, as a user's `GREENLANE_EVENTLET_ALIAS=1` "
        "does: HTTP/1.1 requests without `Host` are served, `wsgi.server()` buffers response "
        "pieces up to 4 KiB, `WebSocketWSGI` accepts hixie-75/76 and the patched "
        "`threading.currentThread()` does not warn, as with eventlet "
        "(`greenlane.compat.install`); every other difference, strict request framing and "
        "`debug=False` included, stays. With `GREENLANE_EVENTLET_ALIAS=strict` the tests that "
        "rely on those four (Host-less requests and response buffering in `wsgi_test`, hixie "
        "in `websocket_test`, the output of `currentThread()` in `patcher_test`) fail instead.",
        "",
        f"Measured with {python} on {platform.platform(terse=True)}, "
        f"{datetime.date.today().isoformat()}, with "
        f"`python -m compat.eventlet --update-docs`.",
        "",
    ]
    if shim:
        body += ["**Harness shim active:** greenlane has no `tpool` yet, so the runner "
                 "replaced `from eventlet import tpool` in the copied `tests/__init__.py` by a "
                 "stand-in with a no-op `killall()`; without it no test can be collected.", ""]
    body += table + [""]
    text = DOCS.read_text() if DOCS.exists() else "# Compatibility\n"
    start = text.find(SECTION)
    if start < 0:
        new = text.rstrip("\n") + "\n\n" + "\n".join(body)
    else:
        following = re.search(r"^## ", text[start + len(SECTION):], re.MULTILINE)
        end = start + len(SECTION) + following.start() if following else len(text)
        new = text[:start] + "\n".join(body) + ("\n" + text[end:] if following else "")
    DOCS.write_text(new.rstrip("\n") + "\n")
    print(f"updated {DOCS.relative_to(REPO)}")


def print_unexpected(verdicts: dict[str, Verdict]) -> int:
    """Print the unexpected results and stale entries; returns how many there are."""
    total = 0
    for mode, v in verdicts.items():
        if v.unexpected:
            print(f"\nUNEXPECTED in {mode} ({len(v.unexpected)}):")
            for test_id, outcome, why in v.unexpected:
                print(f"  {outcome:<7} {test_id}  -- {why}")
        if v.stale:
            print(f"\nentries of expected.py that matched no test in {mode} ({len(v.stale)}):")
            for entry in v.stale:
                print(f"  {entry.test}")
        total += len(v.unexpected) + len(v.stale)
    return total


# ---------------------------------------------------------------- entry point

def main(argv: Optional[list[str]] = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m compat.eventlet",
        description=f"Run eventlet {EVENTLET_VERSION}'s test suite against greenlane through "
                    f"the eventlet alias and compare with expected.py and baseline.json.")
    parser.add_argument("files", nargs="*",
                        help="test files to run (e.g. greenthread_test); default: all")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both")
    parser.add_argument("--update-docs", action="store_true",
                        help="write the results section of docs/compatibility.md "
                             "(needs the full selection in both modes)")
    parser.add_argument("--refresh-baseline", action="store_true",
                        help="measure the real eventlet in its own venv and rewrite "
                             "baseline.json, instead of testing greenlane")
    parser.add_argument("--no-shim", action="store_true",
                        help="do not stub eventlet.tpool in the harness even if greenlane "
                             "lacks it")
    parser.add_argument("--no-timeout", action="store_true",
                        help="no per-test timeout (pytest-timeout)")
    parser.add_argument("--show-messages", action="store_true",
                        help="print every non-passing test with its failure message")
    args = parser.parse_args(argv)
    timeout_per_test = not args.no_timeout
    if timeout_per_test and subprocess.run(
            [sys.executable, "-c", "import pytest_timeout"], capture_output=True).returncode:
        print("pytest-timeout is not installed: running without a per-test timeout")
        timeout_per_test = False
    if args.refresh_baseline:
        return refresh_baseline(args.files, timeout_per_test)

    missing = [m for m in ("pytest", "dns", "greenlane")
               if subprocess.run([sys.executable, "-c", f"import {m}"],
                                 capture_output=True).returncode]
    if missing:
        print(f"{sys.executable} lacks {', '.join(missing)}: install pytest, pytest-timeout, "
              f"dnspython and greenlane into it (make compat does)", file=sys.stderr)
        return 2
    subprocess.run([sys.executable, "-m", "greenlane.compat", "install-pth"], check=True)
    shim = not args.no_shim and not greenlane_has("tpool")
    scratch = CACHE / "scratch-greenlane"
    prepare(scratch, shim)
    files = test_files(scratch, args.files)
    modes = MODES if args.mode == "both" else (args.mode,)
    if args.update_docs and (args.files or len(modes) < 2):
        parser.error("--update-docs needs every file in both modes")
    env = dict(_clean_env(), GREENLANE_EVENTLET_ALIAS="1")
    print(f"eventlet {EVENTLET_VERSION}'s tests against greenlane, {len(files)} files"
          f"{' (harness shim: eventlet.tpool stubbed)' if shim else ''}:", flush=True)
    results = run_modes(sys.executable, scratch, files, env, modes, timeout_per_test)

    # Kept for reading the failures without a rerun (--show-messages prints them too).
    (CACHE / "last-run.json").write_text(json.dumps(
        {mode: run.outcomes for mode, run in results.items()}, indent=1, sort_keys=True))
    baseline = load_baseline()
    complete = not args.files
    verdicts = {}
    for mode, run in results.items():
        nonpass = baseline.get("modes", {}).get(mode, {}).get("not_passed", {})
        verdicts[mode] = judge(run, mode, nonpass, complete)
    table = report(results, verdicts, files, baseline)
    print()
    print("\n".join(table))
    if args.show_messages:
        for mode, run in results.items():
            print(f"\nnot passing in {mode}:")
            for test_id, (outcome, message) in sorted(run.outcomes.items()):
                if outcome != "passed":
                    print(f"  {outcome:<7} {test_id}  -- {message}")
    problems = print_unexpected(verdicts)
    if args.update_docs:
        version = f"{platform.python_implementation()} {platform.python_version()}"
        update_docs(table, shim, version)
    if problems:
        print(f"\n{problems} unexpected result(s): fix greenlane, or update "
              f"compat/eventlet/expected.py with the reason")
        return 1
    print("\nno unexpected results")
    return 0
