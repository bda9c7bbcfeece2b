# moodwatch: `make run` brings up the demo, `make test` runs the checks CI runs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.DEFAULT_GOAL := help
.PHONY: help venv services-up services-down migrate model run stop test lint typecheck format \
        pytest bench-quality bench-stream browser-deps bench-dashboard test-faults

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

venv: ## create .venv and install the project (idempotent)
	@scripts/bootstrap.sh

services-up: venv ## install when missing and start Kafka, PostgreSQL, Redis on loopback
	@$(BIN)/moodwatch services up

services-down: venv ## stop the local services (data kept)
	@$(BIN)/moodwatch services down

migrate: services-up ## bring the database schema to the newest revision
	@$(BIN)/moodwatch migrate

model: venv ## fine-tune the quick default bundle unless models/default exists
	@test -f models/default/manifest.json || $(BIN)/moodwatch train --profile quick

run: migrate model ## the demo: services, schema, model, worker, dashboard, a week replayed
	@scripts/demo.sh

stop: ## stop the demo's worker and dashboard, then the services
	@scripts/demo.sh stop
	@$(BIN)/moodwatch services down

lint: venv ## ruff lint and format check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: venv ## mypy (strict) on the packages
	@$(BIN)/mypy

browser-deps: ## Debian's Chromium for the browser test (never `playwright install`)
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

pytest: services-up browser-deps ## pytest: unit, integration and browser tests on the real services
	@$(BIN)/pytest -q

test: lint typecheck pytest ## everything CI runs: venv, services, ruff, mypy, pytest

test-faults: venv ## fault-injection suite on a private stack of services (~10 min)
	@$(BIN)/pytest -m faults tests/faults -q

bench-quality: model ## evaluate the bundle on CARER test + ood_dev -> benchmarks/results/model_quality.json
	@$(BIN)/python -m training.evaluate models/default

bench-stream: migrate model ## stream benchmark (bare vs pipeline, e2e, micro-batching, latency)
	@$(BIN)/python -m benchmarks.bench_stream --bundle models/default --batch-wait-ms 5
	@$(BIN)/python -m benchmarks.bench_stream --bundle models/default --int8 --bf16 --batch-wait-ms 5 \
		--output benchmarks/results/stream-cpu-fast.json

bench-dashboard: migrate ## trend query over 10M posts -> benchmarks/results/trend_query.json
	@$(BIN)/python benchmarks/bench_trend_query.py --what-if-hourly

format: venv ## apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .
