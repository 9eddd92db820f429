# Two commands for a new machine: `make run` (Airflow on :8080) and `make test` (everything).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run stop test lint unit e2e bench fmt clean-home run-cluster stop-cluster

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

## Set up and start Airflow (scheduler, dag-processor, triggerer, api-server on :8080, SQLite).
run: $(STAMP)
	./scripts/run.sh

## Stop the stack `make run` started (also one started in the background); no venv rebuild first.
stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m sop_tasks.airflow.launcher stop; \
	else echo "Tidak ada Airflow SOP yang berjalan (.venv belum ada)."; fi

## The production stack natively (CeleryExecutor, PostgreSQL, Redis, two workers) on :8080,
## from deploy/cluster.env like docker-compose.yaml; data in .cluster/. Ctrl-C stops it.
run-cluster: $(STAMP)
	$(BIN)/sop check-config
	$(BIN)/python -m sop_tasks.airflow.cluster up

stop-cluster: $(STAMP)
	$(BIN)/python -m sop_tasks.airflow.cluster down

## The whole suite: lint, types, unit, DAG integrity, end to end on real Airflow.
## Two pytest-xdist workers, a module each at a time, the slow stacks first (tests/conftest.py).
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -rs -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e"

e2e: $(STAMP)
	$(BIN)/python -m pytest -q -m e2e

## Benchmarks; prints the figures.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
