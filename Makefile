# Two commands for a newcomer: `make run` and `make test`. Both (re)create .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-with test-pypy compat stdlib-tests stdlib-tests-with bench clean venv

venv: $(STAMP)

# Re-install when the packaging metadata changes; `pip install -e` makes source edits live.
$(STAMP): pyproject.toml examples/hello-app/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' ./examples/hello-app
	touch $(STAMP)

run: $(STAMP)
	cd examples/hello-app && ../../$(PY) wsgi.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m ruff check src tests benchmarks examples tools compat
	$(PY) -m mypy

# The same suite on another interpreter, in its own venv (.venv-cpython312, .venv-pypy39, ...):
#   make test-with PY=/root/.pyenv/versions/3.12.1/bin/python
# PyPy >= 7.3.7 is supported; Debian's pypy3 ships its own greenlet.
test-with:
	@test -n "$(PY_UNDER_TEST)" || { echo "usage: make test-with PY_UNDER_TEST=/path/to/python" >&2; exit 2; }
	venv=.venv-$$($(PY_UNDER_TEST) -c 'import platform, sys; print(platform.python_implementation().lower() + "%d%d" % sys.version_info[:2])'); \
	test -x $$venv/bin/python || $(PY_UNDER_TEST) -m venv $$venv; \
	$$venv/bin/python -m pip install -q --upgrade pip && \
	$$venv/bin/python -m pip install -q -e '.[test]' ./examples/hello-app && \
	$$venv/bin/python -m pytest $(PYTEST_ARGS)

PYPY ?= pypy3
test-pypy:
	$(MAKE) test-with PY_UNDER_TEST=$(PYPY)

# CPython's own test modules under monkey_patch() (compat/stdlib/): every module must run to
# completion, and every test not in compat/stdlib/skips.py must pass. STDLIB_ARGS=--compare
# also runs them unpatched and reports both (what docs/compatibility.md shows).
STDLIB_ARGS ?=
stdlib-tests: $(STAMP)
	$(PY) -m compat.stdlib $(STDLIB_ARGS)

stdlib-tests-with:
	@test -n "$(PY_UNDER_TEST)" || { echo "usage: make stdlib-tests-with PY_UNDER_TEST=/path/to/python" >&2; exit 2; }
	venv=.venv-$$($(PY_UNDER_TEST) -c 'import platform, sys; print(platform.python_implementation().lower() + "%d%d" % sys.version_info[:2])'); \
	test -x $$venv/bin/python || { $(PY_UNDER_TEST) -m venv $$venv && $$venv/bin/python -m pip install -q -e '.[test]'; }; \
	$$venv/bin/python -m compat.stdlib $(STDLIB_ARGS)

# eventlet 0.41.3's own tests, run with `eventlet` aliased to greenlane (compat/eventlet/).
compat: $(STAMP)
	$(PY) -m pip install -q -e '.[compat]'
	$(PY) -m compat.eventlet

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .venv-* build dist src/*.egg-info
