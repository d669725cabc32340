"""CPython's own test modules, run under ``greenlane.monkey_patch()``: ``python -m compat.stdlib``.

``runner`` (the parent process) starts one child per test module, ``bootstrap`` (the child)
patches first and then runs the module's tests, ``skips`` lists what is skipped and why,
``report`` prints tables and rewrites the stdlib section of docs/compatibility.md. See the
README next to this file.

Nothing is imported here: the child imports this package before it patches, so it must stay
empty.
"""
