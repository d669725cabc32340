"""Collect every deliberate difference from eventlet, from the docstrings, into one page.

Each module (and each public class) documents where it differs from eventlet in its own
docstring, next to the code; ``docs/differences.md`` gathers those passages so that someone
moving from eventlet can read them in one place. It is generated, never edited by hand:

    python tools/differences.py            # rewrite docs/differences.md
    python tools/differences.py --check    # exit 1 if it is out of date (tests/test_docs.py)

A passage is a line ending with ``:`` that says "difference(s)" or "differ(s)" (``Differences
from eventlet, all deliberate:``, ``Keys, and where they differ from eventlet 0.41:``) followed
by its bullet list, or a paragraph starting with "Difference", "Differences" or "Differs"
(``Differs from eventlet, whose waitpid polled ...``). Docstrings
are read from the source (no import), so the page can be built without greenlet installed.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "greenlane"
OUT = ROOT / "docs" / "differences.md"

HEADER = """# Differences from eventlet

Every deliberate difference between greenlane and eventlet 0.41, as documented in greenlane's
docstrings, module by module. This page is generated from those docstrings by
`python tools/differences.py` (a test fails when it is out of date): to change it, change the
docstring. Names are greenlane's; for the eventlet name, replace `greenlane` with `eventlet`.

Not listed here, because they are not differences in behaviour: greenlane has type
annotations and `py.typed`, imports nothing at `import greenlane` until a name is used, and
shows no deprecation warning on import.
"""

_INTRO = re.compile(r"(?i)\b(differences?|differs?)\b[^\n]*:$")
_INLINE = re.compile(r"(?i)^(differences?|differs)\b")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _passages(doc: str) -> Iterator[str]:
    """The difference passages of one docstring, each as Markdown-ready text."""
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if _INTRO.search(line) and not line.startswith(("*", "-")):
            block = [line]
            j = i + 1
            while j < len(lines):
                text = lines[j]
                if not text.strip():
                    # A blank line ends the list unless the list goes on after it.
                    nxt = lines[j + 1] if j + 1 < len(lines) else ""
                    if nxt.lstrip().startswith(("* ", "- ")) or (nxt.startswith("  ") and
                                                                  nxt.strip()):
                        block.append("")
                        j += 1
                        continue
                    break
                block.append(text)
                j += 1
            if len(block) > 1:
                yield "\n".join(block)
            i = j
            continue
        if _INLINE.match(line):
            block = [line]
            j = i + 1
            while j < len(lines) and lines[j].strip():
                block.append(lines[j].strip())
                j += 1
            yield " ".join(block)
            i = j
            continue
        i += 1


def _markdown(text: str) -> str:
    # reST literals (``x``) to Markdown ones; the rest is written to read the same in both.
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _collect() -> List[Tuple[str, Optional[str], List[str]]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        doc = ast.get_docstring(tree)
        if doc:
            passages = list(_passages(doc))
            if passages:
                found.append((module, None, passages))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                cdoc = ast.get_docstring(node)
                if cdoc:
                    passages = list(_passages(cdoc))
                    if passages:
                        found.append((module, node.name, passages))
    return found


def render() -> str:
    parts = [HEADER]
    for module, cls, passages in _collect():
        title = f"`{module}.{cls}`" if cls else f"`{module}`"
        parts.append(f"\n## {title}\n")
        for passage in passages:
            parts.append("\n" + _markdown(passage) + "\n")
    return "".join(parts)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if docs/differences.md is not what the docstrings say")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python tools/differences.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
