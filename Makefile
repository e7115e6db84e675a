# ml-platform: every command a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# feature_store.yaml cannot default a path (feast expands ${VAR} only): set it for `feast`.
export ML_PLATFORM_FEAST_DIR ?= $(CURDIR)/data/feast
# No usage telemetry from `make mlflow`'s server either (the package turns it off on import).
export MLFLOW_DISABLE_TELEMETRY ?= true
HOST ?= 127.0.0.1
PORT ?= 3000
# `make test` runs whole test files on this many processes (pytest-xdist); 1 = one process.
TEST_WORKERS ?= 2

.PHONY: help demo drift-demo test dev lint format ingest features train score mlflow feast summary bench serve sql warehouse clean-data clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

$(DAGSTER_HOME)/dagster.yaml: deploy/local/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp deploy/local/dagster.yaml $@

demo: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## install, simulate the demo data, run the pipeline, print a summary
	$(BIN)/ml-platform demo

test: $(VENV)/.installed-dev ## install with the dev extra and run the whole test suite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

dev: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## start the Dagster UI + daemon on http://$(HOST):$(PORT)
	$(BIN)/dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

ingest: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## ingest new or changed landing files now (no daemon needed)
	$(BIN)/ml-platform ingest

features: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## build features + the Feast store for every day silver holds
	$(BIN)/ml-platform features

train: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## train a challenger (MLflow) and run the champion gate
	$(BIN)/ml-platform train

score: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## score every day with the champion
	$(BIN)/ml-platform score

MLFLOW_PORT ?= 5000
mlflow: $(VENV)/.installed ## MLflow UI on the embedded store, http://127.0.0.1:$(MLFLOW_PORT)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/data/mlflow/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

feast: $(VENV)/.installed ## run the feast CLI on feature_repo, e.g. make feast ARGS="feature-views list"
	$(BIN)/feast -c feature_repo $(or $(ARGS),feature-views list)

bench: $(VENV)/.installed ## benchmarks vs baselines: medium, then large (BENCH_SCALE=small: ~2.5 min look)
	@for scale in $(or $(BENCH_SCALE),medium large); do \
		BENCH_SCALE=$$scale $(BIN)/python -m benchmarks.run || exit 1; \
	done

drift-demo: $(VENV)/.installed ## play a drift scenario day by day: detection, retraining request, gate decision
	$(BIN)/ml-platform drift-demo

SERVE_PORT ?= 8000
serve: $(VENV)/.installed ## online scoring service on http://127.0.0.1:$(SERVE_PORT) (POST /score, /health, /metrics)
	ML_PLATFORM_SERVING_PORT=$${ML_PLATFORM_SERVING_PORT:-$(SERVE_PORT)} $(BIN)/ml-platform serve

sql: $(VENV)/.installed ## read-only SQL prompt on the DuckDB warehouse (examples: docs/queries/)
	$(BIN)/ml-platform sql

warehouse: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml ## rebuild the DuckDB warehouse now (safe while analysts are connected)
	$(BIN)/ml-platform warehouse

summary: $(VENV)/.installed ## print what the lake holds
	$(BIN)/ml-platform summary

lint: $(VENV)/.installed-dev ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-data: ## delete generated data and the Dagster instance (keeps the venv)
	find data -mindepth 1 ! -name README.md -prune -exec rm -rf {} +
	rm -rf $(DAGSTER_HOME)

clean: clean-data ## also delete the virtualenv
	rm -rf $(VENV)
