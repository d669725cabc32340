"""Shared plumbing for the side-by-side benchmarks: child processes, best-of-N, tables, targets.

Each benchmark script runs every library in its own child process (so one library's imports or
monkey-patching never leak into another's numbers), pinned to a core with ``taskset``. Children
print one ``RESULT {json}`` line per workload; the parent keeps the best sample per library and
renders one Markdown table with the greenlane/peer ratios and whether each target is met.

The machine these run on is small (2 cores) and shared, so absolute numbers drift by tens of
percent between runs: quote the ratios, which are measured in the same run, interleaved.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

__all__ = [
    "NA",
    "Measurement",
    "Report",
    "Row",
    "Target",
    "emit",
    "is_missing_greenlane",
    "machine_summary",
    "pinned",
    "raise_nofile_limit",
    "rounds_note",
    "run_children",
    "run_scaled",
]

# A cell is a number or a string explaining why there is none ("n/a (not implemented)").
Cell = Union[float, str]

NA = "n/a (not implemented)"

RESULT_PREFIX = "RESULT "
META_PREFIX = "META "


def is_missing_greenlane(exc: BaseException) -> bool:
    """True when ``exc`` says a greenlane module (or lazily exported name) does not exist yet."""
    if isinstance(exc, ModuleNotFoundError):
        return (exc.name or "").startswith("greenlane")
    if isinstance(exc, (AttributeError, ImportError)):
        return "greenlane" in str(exc)
    return False


@dataclass
class Measurement:
    """One timed run of a workload: ``ops`` operations in ``seconds`` (rate = ops/seconds)."""

    ops: float
    seconds: float

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Target:
    """What greenlane should reach on one row; ``None`` fields are not targets.

    For higher-is-better rows ``vs_eventlet=2`` means greenlane/eventlet >= 2; for lower-is-better
    rows (latency, memory) ``vs_eventlet=0.2`` means greenlane/eventlet <= 0.2. ``vs_best_peer``
    compares with the better of eventlet and gevent; ``absolute`` with the row's own value.
    """

    vs_eventlet: Optional[float] = None
    vs_gevent: Optional[float] = None
    vs_best_peer: Optional[float] = None
    absolute: Optional[float] = None

    def describe(self, higher_is_better: bool) -> str:
        op = ">=" if higher_is_better else "<="
        parts = []
        if self.vs_eventlet is not None:
            parts.append(f"{op} {self.vs_eventlet:g}x ev")
        if self.vs_gevent is not None:
            parts.append(f"{op} {self.vs_gevent:g}x gev")
        if self.vs_best_peer is not None:
            parts.append(f"{op} {self.vs_best_peer:g}x best peer")
        if self.absolute is not None:
            parts.append(f"{op} {self.absolute:g}")
        return ", ".join(parts) or "-"

    def check(self, values: Dict[str, Cell], higher_is_better: bool) -> Optional[bool]:
        """True/False once every stated target can be evaluated; None if a value is missing."""
        mine = values.get("greenlane")
        if not isinstance(mine, float):
            return None

        def ok(limit: float, reference: Cell) -> Optional[bool]:
            if not isinstance(reference, float) or reference <= 0:
                return None
            ratio = mine / reference
            return ratio >= limit if higher_is_better else ratio <= limit

        verdicts: List[Optional[bool]] = []
        if self.vs_eventlet is not None:
            verdicts.append(ok(self.vs_eventlet, values.get("eventlet", "")))
        if self.vs_gevent is not None:
            verdicts.append(ok(self.vs_gevent, values.get("gevent", "")))
        if self.vs_best_peer is not None:
            peers = [v for k, v in values.items() if k in ("eventlet", "gevent")
                     and isinstance(v, float)]
            best = (max(peers) if higher_is_better else min(peers)) if peers else ""
            verdicts.append(ok(self.vs_best_peer, best))
        if self.absolute is not None:
            verdicts.append(mine >= self.absolute if higher_is_better else mine <= self.absolute)
        if not verdicts or None in verdicts:
            return None
        return all(verdicts)


@dataclass
class Row:
    """One line of a results table: a workload (or one metric of it) across libraries."""

    name: str
    unit: str
    higher_is_better: bool = True
    target: Optional[Target] = None
    values: Dict[str, Cell] = field(default_factory=dict)
    samples: Dict[str, List[float]] = field(default_factory=dict)
    note: str = ""

    def add_sample(self, lib: str, value: Cell) -> None:
        """Record one sample; the best numeric sample wins, a string only fills an empty cell."""
        if isinstance(value, str):
            if lib not in self.values or isinstance(self.values[lib], str):
                self.values[lib] = value
            return
        value = float(value)
        self.samples.setdefault(lib, []).append(value)
        current = self.values.get(lib)
        better = (value > current if self.higher_is_better else value < current) \
            if isinstance(current, float) else True
        if better:
            self.values[lib] = value


@dataclass
class Report:
    """A results table plus what is needed to reproduce it."""

    key: str
    title: str
    libs: List[str]
    rows: List[Row]
    command: str = ""
    date: str = ""
    versions: Dict[str, str] = field(default_factory=dict)
    machine: str = ""
    notes: List[str] = field(default_factory=list)

    def stamp(self) -> None:
        """Record how, when and where this run was made (shown above the table)."""
        self.command = command_line()
        self.date = today()
        self.machine = machine_summary()

    def publish(self, json_path: Optional[str]) -> None:
        """Print the table as Markdown, and save it as JSON for run_all.py when asked."""
        print(f"## {self.title}\n")
        print(self.markdown())
        if json_path:
            self.save(json_path)

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    # ------------------------------------------------------------------ rendering
    def markdown(self) -> str:
        """The table as Markdown, with the command, date and versions above it."""
        out = [f"Command: `{self.command}`", "",
               f"Date: {self.date}; {self.machine}", ""]
        if self.versions:
            out += ["Versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()), ""]
        ratio_libs = [lib for lib in ("eventlet", "gevent") if lib in self.libs]
        header = ["workload", "unit", *self.libs,
                  *(f"gl/{_short(lib)}" for lib in ratio_libs), "target", "met?"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 4)
                                  + ["---", "---"]) + "|")
        for row in self.rows:
            cells = [row.name, row.unit]
            cells += [_fmt(row.values.get(lib, "-")) for lib in self.libs]
            cells += [_ratio(row.values.get("greenlane"), row.values.get(lib))
                      for lib in ratio_libs]
            if row.target is None:
                cells += ["-", "-"]
            else:
                verdict = row.target.check(row.values, row.higher_is_better)
                cells += [row.target.describe(row.higher_is_better),
                          {True: "yes", False: "**no**", None: "-"}[verdict]]
            out.append("| " + " | ".join(cells) + " |")
        for note in self.notes:
            out += ["", note]
        return "\n".join(out) + "\n"

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> Report:
        rows = []
        for raw in data.pop("rows"):
            target = raw.pop("target")
            rows.append(Row(target=Target(**target) if target else None, **raw))
        return cls(rows=rows, **data)

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1)


def _short(lib: str) -> str:
    return {"eventlet": "ev", "gevent": "gev"}.get(lib, lib)


def _fmt(value: Cell) -> str:
    if isinstance(value, str):
        return value
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(mine: Optional[Cell], other: Optional[Cell]) -> str:
    if isinstance(mine, float) and isinstance(other, float) and other > 0:
        return f"{mine / other:.2f}"
    return "-"


# ---------------------------------------------------------------------- environment
def parse_only(text: str, known: Sequence[str]) -> Optional[List[str]]:
    """Workload names from ``--only``: comma-separated, though names may contain commas.

    Pieces are joined back until they spell a known name, so ``--only "echo 64 B, 1 client"``
    selects one workload. An unknown name is an error; nothing selected means all (None).
    """
    names: List[str] = []
    pending = ""
    for piece in text.split(","):
        pending = f"{pending},{piece}" if pending else piece
        if pending.strip() in known:
            names.append(pending.strip())
            pending = ""
    if pending.strip():
        raise SystemExit(f"unknown workload in --only: {pending.strip()!r}; "
                         f"choose from {', '.join(map(repr, known))}")
    return names or None


def machine_summary() -> str:
    """CPU model, core count, Python and the load average when the run started."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    return (f"{model}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, load average at start {load}")


def pinned(cpu: Optional[str], argv: Sequence[str]) -> List[str]:
    """``argv`` prefixed with ``taskset -c cpu`` when pinning is asked for and possible."""
    if cpu is None or shutil.which("taskset") is None:
        return list(argv)
    return ["taskset", "-c", cpu, *argv]


def raise_nofile_limit() -> int:
    """Raise the soft open-files limit to the hard one (10k sockets need it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def today() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def command_line() -> str:
    """How this script was invoked, relative to the repository root."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), _repo_root())
    args: List[str] = []
    skip = False
    for arg in sys.argv[1:]:
        # Where the JSON copy went does not change the numbers; leave it out.
        if skip or arg.startswith("--json="):
            skip = False
            continue
        if arg == "--json":
            skip = True
            continue
        args.append(arg)
    return " ".join(shlex.quote(a) for a in [".venv/bin/python", script, *args])


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------- child side
def quiet_warnings() -> None:
    """Silence import-time deprecation notices (eventlet prints one) in a child's stderr."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # eventlet's own EventletDeprecationWarning derives from Warning, not DeprecationWarning.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def emit(workload: str, value: Cell) -> None:
    """From a child process: report one sample of ``workload`` to the parent."""
    print(RESULT_PREFIX + json.dumps({"workload": workload, "value": value}), flush=True)


def emit_meta(version: str) -> None:
    print(META_PREFIX + json.dumps({"version": version}), flush=True)


def run_workloads(
    lib: str,
    workloads: Dict[str, Callable[[float], Cell]],
    scale: float,
    warmup: bool = True,
) -> None:
    """Child side: run each workload once (after a small warm-up) and emit its result.

    A workload needing a greenlane module that does not exist yet reports ``NA``; any other
    exception is reported as an error cell and the next workload still runs.
    """
    quiet_warnings()
    for name, fn in workloads.items():
        try:
            if warmup:
                fn(scale * 0.05)
            value = fn(scale)
        except Exception as exc:  # noqa: BLE001 - one broken workload must not hide the others
            if lib == "greenlane" and is_missing_greenlane(exc):
                value = NA
            else:
                value = f"error: {type(exc).__name__}: {exc}"[:120]
                import traceback

                traceback.print_exc()
        emit(name, value)


# ---------------------------------------------------------------------- parent side
def run_children(
    script: str,
    report: Report,
    cpu: Optional[str],
    rounds: int,
    extra_args: Sequence[str],
    timeout: float = 900.0,
    verbose: bool = True,
) -> None:
    """Run ``script --child LIB ...`` once per library per round, interleaved, into ``report``.

    Interleaving the libraries round by round spreads the machine's background noise over all
    of them instead of penalising whichever ran during a busy spell.
    """
    for round_no in range(rounds):
        for lib in report.libs:
            argv = pinned(cpu, [sys.executable, script, "--child", lib, *extra_args])
            started = time.perf_counter()
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                for row in report.rows:
                    row.add_sample(lib, f"error: timeout after {timeout:.0f}s")
                continue
            seen = set()
            for line in proc.stdout.splitlines():
                if line.startswith(RESULT_PREFIX):
                    data = json.loads(line[len(RESULT_PREFIX):])
                    report.row(data["workload"]).add_sample(lib, data["value"])
                    seen.add(data["workload"])
                elif line.startswith(META_PREFIX):
                    report.versions[lib] = json.loads(line[len(META_PREFIX):])["version"]
            if proc.returncode != 0 or len(seen) < len(report.rows):
                sys.stderr.write(f"--- {lib} child exited {proc.returncode}:\n"
                                 f"{proc.stderr[-3000:]}\n")
                for row in report.rows:
                    if row.name not in seen:
                        row.add_sample(lib, f"error: child exit {proc.returncode}")
            elif proc.stderr.strip() and verbose:
                sys.stderr.write(f"--- {lib} stderr:\n{proc.stderr[-2000:]}\n")
            if verbose:
                sys.stderr.write(f"round {round_no + 1}/{rounds} {lib}: "
                                 f"{time.perf_counter() - started:.1f}s\n")


def rounds_note(rounds: int, cpu: Optional[str]) -> str:
    """The sentence for a report's notes that says how the samples were taken."""
    return (f"Best of {rounds} interleaved rounds, each library in its own process pinned with "
            f"taskset -c {cpu or '(none)'}.")


def run_scaled(script: str, report: Report, args: Any) -> None:
    """Parent side of a script with ``--scale``/``--only``/``--cpu``/``--rounds``/``--json``:
    run its children with the same scale and selection, then publish the report."""
    extra = ["--scale", str(args.scale)]
    if args.only:
        extra += ["--only", args.only]
    run_children(os.path.abspath(script), report, args.cpu or None, args.rounds, extra)
    report.publish(args.json)


def workload_parser(doc: str, libs: list[str], rounds: int = 5) -> argparse.ArgumentParser:
    """The options every interleaved side-by-side script takes (core, io, blocking, pg)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"runs per library, interleaved; the best is kept (default {rounds})")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every workload's size (default 1)")
    parser.add_argument("--cpu", default="0", help="core(s) to pin to with taskset ('' = no pin)")
    parser.add_argument("--libs", default=",".join(libs), help="comma-separated libraries")
    parser.add_argument("--only", default="",
                        help="comma-separated workload names (names may contain commas)")
    parser.add_argument("--json", help="also write the results here (run_all.py reads it)")
    return parser
