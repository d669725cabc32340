# Two commands for a newcomer: `make run` and `make test`. Both (re)create .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-pypy lint typecheck bench clean venv

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
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m mypy

# PyPy >= 7.3.7 is supported: run the suite there too (Debian's pypy3 ships its own greenlet).
PYPY ?= pypy3
PYPY_VENV ?= .venv-pypy
test-pypy:
	test -x $(PYPY_VENV)/bin/python || $(PYPY) -m venv $(PYPY_VENV)
	$(PYPY_VENV)/bin/python -m pip install -q --upgrade pip
	$(PYPY_VENV)/bin/python -m pip install -q -e . pytest pytest-timeout hypothesis flask werkzeug ./examples/hello-app
	$(PYPY_VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(PYPY_VENV) build dist src/*.egg-info
