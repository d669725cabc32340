"""Run every side-by-side benchmark and (optionally) refresh docs/benchmarks.md.

    .venv/bin/python benchmarks/run_all.py                     # all of SCRIPTS; print tables
    .venv/bin/python benchmarks/run_all.py --write-docs        # ... and update the doc
    .venv/bin/python benchmarks/run_all.py --only core --write-docs -- --rounds 5

Each script runs as its own process with its default (short) settings unless arguments follow
``--``; those are passed to every script selected, so use them with ``--only``. With
``--write-docs`` each table replaces the section between its ``<!-- bench:NAME -->`` markers in
docs/benchmarks.md, leaving the rest of the file (analysis, profiles) untouched; a missing doc
is created with an outline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from typing import List, Optional

from _harness import Report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
SCRIPTS = {
    "core": "bench_core.py",
    "io": "bench_io.py",
    "wsgi": "bench_wsgi.py",
    "ws": "bench_ws.py",
    "blocking": "bench_blocking.py",
    "gunicorn": "bench_gunicorn.py",
    "pg": "bench_pg.py",
}
TITLES = {
    "core": "Core primitives",
    "io": "Green socket I/O",
    "wsgi": "WSGI servers",
    "ws": "WebSocket servers",
    "blocking": "Blocking calls under patching (tpool, subprocess, DNS)",
    "gunicorn": "Gunicorn, one worker",
    "pg": "PostgreSQL under patching",
}

OUTLINE = """# Benchmarks

Side-by-side measurements of greenlane against eventlet 0.41 and gevent 26 (and bjoern, a C
server, as the WSGI reference). Produced by `benchmarks/run_all.py --write-docs`; the tables
between the `bench:` markers are rewritten by it, everything else is kept.

""" + "".join(f"## {TITLES[k]}\n\n<!-- bench:{k} -->\n(not run yet)\n<!-- /bench:{k} -->\n\n"
              for k in SCRIPTS)


def run_one(key: str, extra: List[str]) -> Optional[Report]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, f"{key}.json")
        argv = [sys.executable, os.path.join(HERE, SCRIPTS[key]), *extra, "--json", out]
        print(f"$ {' '.join(argv)}", flush=True)
        proc = subprocess.run(argv)
        if proc.returncode != 0 or not os.path.exists(out):
            print(f"{SCRIPTS[key]} failed (exit {proc.returncode})", file=sys.stderr)
            return None
        with open(out) as f:
            return Report.from_json(json.load(f))


def replace_section(doc: str, key: str, body: str) -> str:
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(doc):
        return pattern.sub(lambda _m: block, doc)
    return doc.rstrip() + f"\n\n## {TITLES[key]}\n\n{block}\n"


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: List[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SCRIPTS),
                        help=f"comma-separated: {','.join(SCRIPTS)} (default all)")
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite the matching sections of docs/benchmarks.md")
    parser.add_argument("--doc", default=DOC, help="the Markdown file to update")
    args = parser.parse_args(argv)

    keys = [k for k in args.only.split(",") if k]
    unknown = [k for k in keys if k not in SCRIPTS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}")
    reports = {}
    for key in keys:
        report = run_one(key, passthrough)
        if report is not None:
            reports[key] = report
    if args.write_docs and reports:
        doc = OUTLINE
        if os.path.exists(args.doc):
            with open(args.doc) as f:
                doc = f.read()
        for key, report in reports.items():
            doc = replace_section(doc, key, report.markdown())
        with open(args.doc, "w") as f:
            f.write(doc)
        print(f"updated {os.path.relpath(args.doc, ROOT)}: {', '.join(reports)}")
    return 0 if len(reports) == len(keys) else 1


if __name__ == "__main__":
    sys.exit(main())
