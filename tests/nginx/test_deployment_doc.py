"""docs/deployment.md shows the files of examples/deploy/ exactly as the tests run them."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deployment.md"
EXAMPLES = sorted((ROOT / "examples" / "deploy").iterdir())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_is_in_the_guide_verbatim(example: Path) -> None:
    assert example.read_text().rstrip() in DOC.read_text()


def test_the_test_files_the_guide_names_exist() -> None:
    text = DOC.read_text()
    for name in ("tests/nginx/test_nginx.py", "tests/nginx/test_apache.py",
                 "tests/gunicorn/test_worker.py", "tests/cli/test_cli.py"):
        assert name in text
        assert (ROOT / name).is_file(), name
