"""eventlet's own test suite run against greenlane through the ``eventlet`` alias.

``python -m compat.eventlet`` (``make compat``), from the repository root: downloads eventlet
0.41.3's sdist with pip (cached in ``compat/eventlet/.cache/``), copies only its ``tests/`` into
a scratch directory, and runs them with pytest, ``eventlet`` aliased to greenlane in every
interpreter, each file in its own process and then all files in one process. Each outcome is
checked against ``expected.py`` (greenlane's known failures, each with its reason) and
``baseline.json`` (what the real eventlet does on this machine): any unexpected result, an
unexpected pass included, fails the run. ``--help`` lists the options; ``runner.py`` explains
the mechanics.
"""
