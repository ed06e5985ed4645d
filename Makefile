# nbaprops: every habit is a target. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_LOG := .nbaprops/bench.log
# a benchmark that fails fails the target, though its output goes through tee
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.DEFAULT_GOAL := help
.PHONY: help demo test lint format bench clean

help: ## List the targets with a one-line description each
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,postgres,dask]'
	touch $(STAMP)

demo: $(STAMP) ## The four phases, then three weeks of the loop: promotion, live scoring, drift, rollback, mailed reports (state in ./.nbaprops)
	$(BIN)/python -m jobs.demo

test: $(STAMP) ## Run the test suite (real MLflow, SMTP and PostgreSQL where the machine has them)
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP) ## ruff lint + format check, mypy and the layer rule (jobs -> governance -> nbaprops)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/check_layers.py

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## Speed benchmarks on the full four-season feed (ratios against in-run baselines); rewrites README's goal table
	@mkdir -p .nbaprops && rm -f $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_data | tee -a $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_features | tee -a $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_training | tee -a $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_backtest | tee -a $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_report | tee -a $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_cycle | tee -a $(BENCH_LOG)
	$(BIN)/python -m benchmarks.bench_season --days 150 | tee -a $(BENCH_LOG)
	$(BIN)/python scripts/goal_table.py $(BENCH_LOG) README.md

clean: ## Remove the virtual environment and local state
	rm -rf $(VENV) .nbaprops .pytest_cache .mypy_cache .ruff_cache
