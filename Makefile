PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit venv clean bench dist

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# The sdist and the wheel in dist/ (tests/e2e/test_install.py builds and installs the same way).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/uv build --out-dir dist

demo: $(STAMP)
	$(BIN)/python -m demo

# Each prints us against the peer, measured in one run; resolve and resolve_graph need nginx
# (apt-get install nginx).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.store
	$(BIN)/python -m benchmarks.keyring_get
	$(BIN)/python -m benchmarks.agent_load
	$(BIN)/python -m benchmarks.resolve
	$(BIN)/python -m benchmarks.resolve_graph
	$(BIN)/python -m benchmarks.native

clean:
	rm -rf $(VENV) dist .demo .mypy_cache .ruff_cache .pytest_cache
