# The two commands of the README, and the tools behind them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Test processes: each database's tests run in a worker of their own.
TEST_WORKERS ?= 2
STAMP := $(VENV)/.installed
# `make run PORT=8001`: the FHIR base follows the port unless MEDSVC_BASE_URL is set.
HOST ?= 127.0.0.1
PORT ?= 8000
run: export MEDSVC_BASE_URL ?= http://$(HOST):$(PORT)/fhir

.PHONY: run test lint demo bench bench-booking bench-results bench-subscriptions bench-checks clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "medsvc needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/medsvc demo load
	$(BIN)/medsvc serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/http_bench.py

bench-booking: $(STAMP)
	$(BIN)/python bench/booking_bench.py

bench-results: $(STAMP)
	$(BIN)/python bench/results_bench.py

bench-subscriptions: $(STAMP)
	$(BIN)/python bench/subscriptions_bench.py

bench-checks: $(STAMP)
	$(BIN)/python bench/checks_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
