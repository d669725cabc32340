"""Tables for the stdlib runner: one line per module, a summary, the problems, and the docs.

``update_docs`` owns the section ``## CPython's test suite under monkey_patch()`` of
docs/compatibility.md: it rewrites the section's text and, inside it, the block of the running
interpreter (between ``<!-- stdlib: KEY -->`` and ``<!-- /stdlib: KEY -->`` markers), keeping
the blocks of other interpreters and every other section of the file as they are.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from compat.stdlib.runner import Comparison, ModuleResult

__all__ = ["SECTION_TITLE", "interpreter_key", "one_line", "problems", "render_block",
           "summary_table", "update_docs"]

SECTION_TITLE = "## CPython's test suite under monkey_patch()"
_FILE_HEADER = """# Compatibility

How much of existing code and test suites works with greenlane, measured by running them.
Each section below is produced by a runner in `compat/`; rerun it rather than editing its
tables by hand.
"""
_SECTION_TEXT = """\
`python -m compat.stdlib` runs CPython's own test modules for the running interpreter (its
installed `test` package, not a copy) with `greenlane.monkey_patch()` applied before anything
else, each module in a subprocess of its own, and the same modules without patching as the
reference. The modules are those issue 8 names: `test_socket`, `test_select`,
`test_selectors`, `test_threading`, `test_thread`, `test_queue`, `test_subprocess`,
`test_timeout`, `test_httplib`, `test_urllib2_localnet`, `test_ssl`, `test_socketserver`,
`test_wsgiref`, `test_context`, `test_time`, `test_signal`. Nothing goes to the internet:
the 'network' resource is off except for the loopback-only modules, and 'cpu', 'largefile'
and 'walltime' are off.

Columns: *Pass unpatched* counts the tests that pass without greenlane; *Pass patched* how many
of those also pass with `monkey_patch()`, and *%* the ratio (the target in issue 8 is at least
95% per module). *Failed*, *Errors* and *Hangs, crashes* count every patched test in that state.
*Skip-listed* counts the patched tests `compat/stdlib/skips.py` skips, each for a stated
reason: those that cannot work under green threads are skipped in the patched run only and
count as not passing; those that reach the internet or fail on this machine without greenlane
too are skipped in both runs, so they are in neither count. A hung test is stopped after a
minute and the module goes on without it. The command shown leaves out the options that only
say where output goes. CI (`make stdlib-tests`, `make stdlib-tests-with`) runs the patched
mode on every interpreter below and fails on any hang, crash, or failing test that is not
skip-listed. How the runner works, and how to add a skip: `compat/stdlib/README.md`.
"""


def one_line(result: ModuleResult) -> str:
    """``test_socket  patched  ok  41.2s  pass 690 fail 28 err 16 skip 60 (3 listed)``."""
    c = result.counts()
    line = (f"{result.module:22} {result.mode:8} {result.status:9} {result.seconds:6.1f}s  "
            f"pass {c['passed']:4}  fail {c['failed']:3}  err {c['errors']:3}  "
            f"skip {c['skipped']:3} ({c['listed']} listed)")
    if c["hangs"] or c["crashes"]:
        line += f"  hangs {c['hangs']} crashes {c['crashes']}"
    if result.skipped_reason:
        line += f"  [module skipped: {result.skipped_reason}]"
    return line


def _percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).rjust(w) if i else str(cell).ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _compare_rows(comparisons: list[Comparison]) -> tuple[list[list[str]], list[str]]:
    rows = []
    totals = [0] * 7
    base_time = patched_time = 0.0
    for c in comparisons:
        counts = c.patched.counts()
        values = [len(c.passing_unpatched), len(c.still_passing), counts["failed"],
                  counts["errors"], counts["hangs"] + counts["crashes"], counts["listed"],
                  0]
        for i, value in enumerate(values):
            totals[i] += value
        base_time += c.baseline.seconds
        patched_time += c.patched.seconds
        status = "" if c.patched.healthy else f" ({c.patched.status})"
        rows.append([c.module + status, str(values[0]), str(values[1]),
                     _percent(c.percent), str(values[2]), str(values[3]), str(values[4]),
                     str(values[5]), f"{c.baseline.seconds:.1f}s",
                     f"{c.patched.seconds:.1f}s"])
    overall = 100.0 * totals[1] / totals[0] if totals[0] else None
    total = ["Total", str(totals[0]), str(totals[1]), _percent(overall), str(totals[2]),
             str(totals[3]), str(totals[4]), str(totals[5]), f"{base_time:.0f}s",
             f"{patched_time:.0f}s"]
    return rows, total


_COMPARE_HEADER = ["Module", "Pass unpatched", "Pass patched", "%", "Failed", "Errors",
                   "Hangs, crashes", "Skip-listed", "Time unpatched", "Time patched"]


def summary_table(results: list[ModuleResult], comparisons: list[Comparison],
                  wall: float) -> str:
    """The comparison table in compare mode; otherwise counts per module and mode."""
    if comparisons:
        rows, total = _compare_rows(comparisons)
        return _table(_COMPARE_HEADER, [*rows, total]) + f"\n(wall time {wall:.0f}s)"
    header = ["Module", "Mode", "Status", "Passed", "Failed", "Errors", "Skipped",
              "Skip-listed", "Hangs, crashes", "Time"]
    rows = []
    for r in sorted(results, key=lambda r: (r.module, r.patched)):
        c = r.counts()
        rows.append([r.module, r.mode, r.status, str(c["passed"]), str(c["failed"]),
                     str(c["errors"]), str(c["skipped"]), str(c["listed"]),
                     str(c["hangs"] + c["crashes"]), f"{r.seconds:.1f}s"])
    return _table(header, rows) + f"\n(wall time {wall:.0f}s)"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[-1][:160] if text.strip() else ""


def problems(baseline: dict[str, ModuleResult], patched: dict[str, ModuleResult],
             comparisons: list[Comparison], *, verbose: bool = False) -> str:
    """The failing, erroring, hung and crashed tests, module by module, with their message."""
    limit = None if verbose else 8
    lines: list[str] = []
    failing_unpatched = {c.module: c.baseline.ids("failed", "error") for c in comparisons}
    for mode, runs in (("unpatched", baseline), ("patched", patched)):
        for name, result in runs.items():
            bad = {tid: o for tid, o in sorted(result.outcomes.items())
                   if o.outcome in ("failed", "error", "hang", "crash")}
            if not bad and result.healthy:
                continue
            lines.append(f"{name} ({mode}): {result.status}, {len(bad)} not passing; "
                         f"log {result.logs[-1] if result.logs else '-'}")
            if result.fatal:
                lines.append("    " + _first_line(result.fatal))
            for incident in result.incidents:
                if not incident["test"]:
                    lines.append(f"    {incident['kind']} (attempt {incident['attempt']}, "
                                 f"exit status {incident.get('returncode')})")
            for i, (tid, outcome) in enumerate(bad.items()):
                if limit is not None and i >= limit:
                    lines.append(f"    ... and {len(bad) - limit} more (--verbose, --json)")
                    break
                message = outcome.details[0]["message"] if outcome.details else outcome.reason
                also = " [fails unpatched too]" if mode == "patched" and tid in \
                    failing_unpatched.get(name, set()) else ""
                lines.append(f"    {outcome.outcome:6} {tid}: {message[:140]}{also}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- docs
def interpreter_key() -> str:
    """``cpython-3.11``, ``pypy-3.9``: one docs block per implementation and minor version."""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"


def _sort_key(key: str) -> tuple[int, tuple[int, ...]]:
    implementation, _, version = key.partition("-")
    numbers = tuple(int(part) for part in version.split(".") if part.isdigit())
    return (0 if implementation == "cpython" else 1, numbers)


def _git_revision(root: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "src"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "an unknown revision"
    return f"commit {head}" + (" with uncommitted changes in src/" if dirty.strip() else "")


def render_block(comparisons: list[Comparison], *, interpreter: str, command: str,
                 wall: float, revision: str) -> str:
    """This interpreter's part of the section: heading, how it was run, table, incidents."""
    rows, total = _compare_rows(comparisons)

    def md_row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    lines = [f"### {interpreter}", "",
             f"`{command}`, {today}, greenlane at {revision}, {os.cpu_count()} cores; "
             f"wall time {wall:.0f}s for both modes.", "",
             md_row(_COMPARE_HEADER), md_row(["---"] + ["---:"] * (len(_COMPARE_HEADER) - 1))]
    lines += [md_row(row) for row in rows]
    lines.append(md_row([f"**{cell}**" for cell in total]))
    notes = []
    for c in comparisons:
        for mode, result in (("patched", c.patched), ("unpatched", c.baseline)):
            for incident in result.incidents:
                where = f"in `{incident['test']}`" if incident["test"] else "outside any test"
                notes.append(f"- {c.module} ({mode}): {incident['kind']} {where}")
            if result.skipped_reason:
                notes.append(f"- {c.module} ({mode}): module skipped: {result.skipped_reason}")
    if notes:
        lines += ["", "Hangs, crashes and skipped modules:", "", *notes]
    repairs = sorted({repair for c in comparisons for r in (c.baseline, c.patched)
                      for repair in r.environment})
    if repairs:
        lines += ["", "Worked around in this environment (both modes): "
                  + "; ".join(repairs) + "."]
    return "\n".join(lines) + "\n"


_BLOCK = re.compile(r"<!-- stdlib: (?P<key>[\w.-]+) -->\n(?P<body>.*?)<!-- /stdlib: (?P=key) -->\n",
                    re.DOTALL)


def update_docs(path: Path, comparisons: list[Comparison], *, interpreter: str, command: str,
                wall: float) -> Path:
    """Rewrite the stdlib section of ``path`` with this interpreter's block; return ``path``."""
    text = path.read_text(encoding="utf-8") if path.exists() else _FILE_HEADER
    block = render_block(comparisons, interpreter=interpreter, command=command, wall=wall,
                         revision=_git_revision(path.resolve().parents[1]))
    start = text.find(SECTION_TITLE + "\n")
    if start < 0:
        before, section, after = text.rstrip("\n") + "\n\n", "", ""
    else:
        end = text.find("\n## ", start + len(SECTION_TITLE))
        end = len(text) if end < 0 else end + 1
        before, section, after = text[:start], text[start:end], text[end:]
    blocks = {m.group("key"): m.group("body") for m in _BLOCK.finditer(section)}
    blocks[interpreter_key()] = block
    parts = [SECTION_TITLE, "", _SECTION_TEXT]
    for key in sorted(blocks, key=_sort_key):
        parts.append(f"<!-- stdlib: {key} -->\n{blocks[key]}<!-- /stdlib: {key} -->\n")
    new_section = "\n".join(parts)
    if after:
        new_section += "\n"
    path.write_text(before + new_section + after, encoding="utf-8")
    return path
