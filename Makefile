# CivicGrid — `make demo` to try it, `make test` for everything CI checks.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: install ui browsers demo test lint typecheck migrations-check test-sqlite test-postgres bench clean

$(BIN)/civicgrid: pyproject.toml
	@test -n "$(PYTHON)" || { echo "CivicGrid needs Python >= 3.11 (python3.11, python3.12 or python3.13 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/civicgrid ui ## create .venv, install the package with dev extras and the console's npm libraries

ui: ## ECharts and Leaflet from npm (package-lock.json) into src/civicgrid/static/vendor/; npm runs only when needed
	@bash scripts/build-ui.sh

browsers: ## Debian's chromium for the browser tests (installed when missing and run as root)
	@bash scripts/ensure-chromium.sh

demo: install ## migrate a SQLite database, load the demo district, serve web + worker
	DEBUG=true $(BIN)/civicgrid migrate --noinput
	DEBUG=true $(BIN)/civicgrid loaddemo --if-empty
	DEBUG=true DEMO_ADDR=$(DEMO_ADDR) BIN=$(BIN) bash scripts/serve-demo.sh

test: lint typecheck migrations-check test-sqlite test-postgres ## everything CI checks

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install
	SECRET_KEY=typecheck $(BIN)/mypy src tests bench scripts

migrations-check: install
	SECRET_KEY=check DATABASE_URL=sqlite:///:memory: $(BIN)/civicgrid makemigrations --check --dry-run

test-sqlite: install browsers
	$(BIN)/pytest

test-postgres: install browsers
	@if $(BIN)/python scripts/db_ready.py "$(TEST_DATABASE_URL)"; then \
		DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest; \
	elif [ "$${CI:-}" = "true" ]; then \
		echo "PostgreSQL at $(TEST_DATABASE_URL) does not answer; CI requires it." >&2; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL leg (no server answers at $(TEST_DATABASE_URL); set TEST_DATABASE_URL or start PostgreSQL)."; \
	fi

BENCH_CLOCK_CASES ?= 1000000
BENCH_CLOCK_DUE ?= 10000
BENCH_CLOCK_WORKERS ?= 2
BENCH_STATS_CASES ?= 1000000
BENCH_STATS_YEARS ?= 1

bench: install ## intake throughput, the clock's sweep over 1M open cases, statistics over 1M simulated cases (build/bench/*.json)
	DATABASE_URL="$(TEST_DATABASE_URL)" BIN=$(BIN) bash bench/run.sh
	$(BIN)/python -m bench.clock --server-url "$(TEST_DATABASE_URL)" --bin $(BIN) \
		--cases $(BENCH_CLOCK_CASES) --due $(BENCH_CLOCK_DUE) --workers $(BENCH_CLOCK_WORKERS)
	$(BIN)/python -m bench.stats --server-url "$(TEST_DATABASE_URL)" --bin $(BIN) \
		--cases $(BENCH_STATS_CASES) --years $(BENCH_STATS_YEARS)

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache src/*.egg-info node_modules src/civicgrid/static/vendor
