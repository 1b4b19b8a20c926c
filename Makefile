# The two commands of the quick start (`make run`, `make test`) set everything up on
# their own: a .venv next to this file, rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080
DB     ?= sqlite:///./keyhive.db

.PHONY: run test lint cov bench bench-quick screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "keyhive needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/keyhive --db $(DB) init --if-missing
	$(BIN)/keyhive --db $(DB) serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The same suite under coverage (about a third slower): the table of what no test runs.
cov: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --cov --cov-report=term-missing:skip-covered

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# A smoke run of every part (small counts, 1 s rounds); writes benchmarks/results/partial.*,
# never docs/benchmarks.md. One part alone: $(BIN)/python -m benchmarks --only e --quick
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

# Pictures of every dashboard page for docs/dashboard.md (Debian's /usr/bin/chromium).
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
