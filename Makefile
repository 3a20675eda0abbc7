# Kinanti developer commands. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
# pytest-xdist workers for `make test` / `make test-fast` (each has its own Prefect harness;
# tests/conftest.py keeps the tests of one end-to-end world on one worker)
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS)

.PHONY: install run test test-fast test-cluster lint format bench serve clean migration

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP) ## set up and run the demo on embedded defaults
	$(BIN)/kinanti demo

test: $(STAMP) ## the whole suite, on SQLite and PostgreSQL; then the cluster tests, alone
	$(PYTEST)
	$(MAKE) --no-print-directory test-cluster

test-fast: $(STAMP) ## skip the slow Prefect end-to-end tests
	$(PYTEST) -m "not e2e"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

serve: $(STAMP) ## run the engine on this machine (Prefect server + all deployments)
	$(BIN)/kinanti serve

bench: $(STAMP)
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/iid.py

migration: $(STAMP) ## the next migration from the models: make migration M="what changed"
	@test -n "$(M)" || { echo 'say what changed: make migration M="..."'; exit 1; }
	tmp=$$(mktemp -d) && $(BIN)/python -c 'import sys; from kinanti.db import new_revision; \
	  new_revision(sys.argv[1], f"sqlite:///{sys.argv[2]}/scratch.db")' "$(M)" "$$tmp"; \
	  status=$$?; rm -rf "$$tmp"; exit $$status

clean:
	rm -rf .kinanti .pytest_cache .mypy_cache .ruff_cache

# one process (-n 0): the cluster starts 2 workers, a Prefect server, Redis and PostgreSQL of
# its own, and restarts some of them; it runs after the rest, never beside other e2e tests
test-cluster: $(STAMP) ## Prefect on PostgreSQL + Redis messaging + 2 workers, fault tests
	$(BIN)/python -m pytest -q -n 0 -m cluster tests/e2e/test_cluster.py
