"""``python -m greenlane``: the command line, as the ``greenlane`` script (see ``_cli``)."""

from __future__ import annotations

from greenlane._cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
