"""Cost of monkey patching: ``import greenlane; greenlane.monkey_patch()`` vs eventlet and gevent.

Each sample is a fresh interpreter that times, from inside, the import of the library plus its
full patch (``eventlet.monkey_patch()``, ``gevent.monkey.patch_all()``); interpreter start-up is
not counted. Libraries are interleaved round by round and the best sample per library is kept.

Bytecode is cached, as for an installed package: the samples share a private
``PYTHONPYCACHEPREFIX``, filled by one unmeasured run per library, and ``PYTHONDONTWRITEBYTECODE``
is cleared for them. Without that, an editable install in a shell that sets
``PYTHONDONTWRITEBYTECODE`` compiles greenlane's sources at every start (about half the time
measured), while eventlet and gevent, installed with their bytecode, do not.

    .venv/bin/python benchmarks/bench_patch.py               # 15 rounds
    .venv/bin/python benchmarks/bench_patch.py --rounds 30

Target (issue 8): greenlane <= 0.06 s (eventlet is about 0.24 s, gevent 0.13 s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

TARGET_SECONDS = 0.06

SNIPPETS = {
    "greenlane": "import greenlane; greenlane.monkey_patch()",
    "eventlet": "import eventlet; eventlet.monkey_patch()",
    "gevent": "from gevent import monkey; monkey.patch_all()",
}

CHILD = """
import time, warnings
warnings.simplefilter("ignore")
start = time.perf_counter()
{snippet}
print(time.perf_counter() - start)
"""


def sample(lib: str, env: Dict[str, str]) -> Optional[float]:
    """One fresh-interpreter measurement in seconds, or None if the library is missing."""
    proc = subprocess.run([sys.executable, "-c", CHILD.format(snippet=SNIPPETS[lib])],
                          capture_output=True, text=True, timeout=120, env=env)
    if proc.returncode != 0:
        if "ModuleNotFoundError" in proc.stderr:
            return None
        raise RuntimeError(f"{lib} failed:\n{proc.stderr}")
    return float(proc.stdout.strip().splitlines()[-1])


def main(argv: Optional[List[str]] = None) -> int:
    """Run the rounds and print a Markdown table; exit status 1 if greenlane misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="samples per library (best kept)")
    args = parser.parse_args(argv)
    best: Dict[str, Optional[float]] = {lib: None for lib in SNIPPETS}
    missing = set()
    with tempfile.TemporaryDirectory(prefix="bench-patch-pycache-") as cache:
        env = {key: value for key, value in os.environ.items()
               if key != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for lib in SNIPPETS:  # the unmeasured run that writes the bytecode
            if sample(lib, env) is None:
                missing.add(lib)
        for _ in range(args.rounds):
            for lib in SNIPPETS:
                if lib in missing:
                    continue
                value = sample(lib, env)
                if value is None:
                    missing.add(lib)
                    continue
                current = best[lib]
                best[lib] = value if current is None else min(current, value)
    mine = best["greenlane"]
    print(f"import + full monkey patch, best of {args.rounds} fresh interpreters "
          f"({sys.implementation.name} {sys.version.split()[0]})\n")
    print("| library | seconds | greenlane is faster by |")
    print("|---|---|---|")
    for lib, value in best.items():
        if value is None:
            print(f"| {lib} | not installed | |")
            continue
        ratio = "" if lib == "greenlane" or mine is None else f"{value / mine:.1f}x"
        print(f"| {lib} | {value:.4f} | {ratio} |")
    met = mine is not None and mine <= TARGET_SECONDS
    print(f"\ntarget: greenlane <= {TARGET_SECONDS} s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
