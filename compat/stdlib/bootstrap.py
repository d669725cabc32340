"""The stdlib runner's child process: patch first, then run one test module.

``python -m compat.stdlib.bootstrap test.test_socket --events FILE [--baseline] [...]``
(the runner builds this command; the options are described in ``compat.stdlib._child``).

``greenlane.monkey_patch()`` runs before any other import, as an application would do it, so
every module the tests import afterwards (``unittest``, ``test.support``, ``socketserver``,
the test module itself) sees the patched standard library. With ``--baseline`` nothing is
patched and greenlane is never imported: the same tests, run the same way, give the reference
numbers. If patching itself fails, the failure is reported to the parent as a ``fatal`` event
and the child exits with status 3.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Patch (unless ``--baseline``), then hand over to ``compat.stdlib._child.main``."""
    if "--baseline" not in argv:
        try:
            import greenlane

            greenlane.monkey_patch()
        except Exception:  # noqa: BLE001 - any failure to patch is the result to report
            from compat.stdlib import _child

            _child.report_fatal(argv, "patch")
            return 3
    from compat.stdlib import _child

    return _child.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
