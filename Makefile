# moodwatch: `make run` brings up the demo, `make test` runs the checks CI runs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# Benchmarks write their figures into .cache/results (untracked). `make bench-... REFRESH=1`
# writes the committed ones in benchmarks/results instead (and `make pytest REFRESH=1` the
# browser test's screenshot), as the help's "-> .cache/results" lines then mean.
REFRESH ?=
RESULTS := $(if $(filter 1,$(REFRESH)),benchmarks/results,.cache/results)
ifeq ($(REFRESH),1)
export REFRESH_RESULTS := 1
endif

# `make run` prints one line per step; what a step prints goes to RUN_LOG, whose end shows
# when the step fails. Called alone (`make migrate`), a target prints everything.
RUN_LOG := $(or $(MOODWATCH_SERVICES_STATE_DIR),.services)/run/make-run.log
STEP_LOG :=
run: STEP_LOG := $(RUN_LOG)
step = $(if $(STEP_LOG),scripts/step.sh $(STEP_LOG) "$(1)" )

.DEFAULT_GOAL := help
.PHONY: help venv services-up services-down migrate model run stop test lint typecheck format \
        pytest test-faults-quick bench-quality bench-stream browser-deps bench-dashboard \
        test-faults bench-alerts bench-shares bench-runtimes bench-gpu bench-storage bench-shadow \
        bench-relabel

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

venv: ## create .venv and install the project (idempotent)
	@$(call step,Python environment in .venv (the first run installs torch: minutes))scripts/bootstrap.sh

services-up: venv ## install when missing and start Kafka, PostgreSQL, Redis on loopback
	@$(call step,Kafka + PostgreSQL + Redis on loopback)$(BIN)/moodwatch services up

services-down: venv ## stop the local services (data kept)
	@$(BIN)/moodwatch services down

migrate: services-up ## bring the database schema to the newest revision
	@$(call step,database schema)$(BIN)/moodwatch migrate

model: venv ## fine-tune the quick default bundle unless models/default exists
	@if [ -f models/default/manifest.json ]; then \
	  $(if $(STEP_LOG),echo "model bundle: models/default (trained before)",true); \
	else \
	  $(if $(STEP_LOG),echo "model bundle: fine-tuning the quick ensemble (first run only: about 10 minutes on two cores)";) \
	  $(BIN)/moodwatch train --profile quick; \
	fi

run: migrate model ## the demo: services, schema, model, worker, dashboard, a week replayed
	@MAKE_RUN_LOG=$(RUN_LOG) scripts/demo.sh

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

# The fault suite starts a stack of its own (other ports, .services-faults/); services-up
# makes sure Kafka's jars, PostgreSQL and Redis are installed.
test-faults-quick: services-up ## the short fault scenarios: kill -9, PostgreSQL outage, poison, rebalance (~4 min)
	@$(BIN)/pytest -m faults_quick tests/faults -q

test: lint typecheck pytest test-faults-quick ## everything CI runs: venv, services, ruff, mypy, pytest, quick faults

test-faults: services-up ## the whole fault-injection suite on a private stack of services (~10 min)
	@$(BIN)/pytest -m "faults and not faults_quick" tests/faults -q

bench-quality: model ## evaluate the bundle on CARER test + ood_dev -> .cache/results/model_quality.*
	@$(BIN)/python -m training.evaluate models/default --output $(RESULTS)/model_quality.json

bench-stream: migrate model ## stream benchmark (bare vs pipeline, e2e, micro-batching, latency) -> .cache/results
	@$(BIN)/python -m benchmarks.bench_stream --bundle models/default --batch-wait-ms 5 \
		--output $(RESULTS)/stream.json
	@$(BIN)/python -m benchmarks.bench_stream --bundle models/default --cpu-runtime torch \
		--batch-wait-ms 5 --output $(RESULTS)/stream-torch.json

bench-runtimes: migrate model ## torch fp32 vs ONNX Runtime fp32/int8 vs default, bare and e2e -> .cache/results
	@$(BIN)/python -m benchmarks.bench_runtimes --bundle models/default --output $(RESULTS)/runtimes.json

bench-gpu: ## on CUDA: quick + full bundle in fp16, bare/e2e/p99 -> .cache/results/gpu.json
	@benchmarks/gpu.sh --output $(RESULTS)/gpu.json

bench-alerts: migrate ## the sentinel's rule, explanation and delivery on replayed posts (~8 min) -> .cache/results/alerts.json
	@$(BIN)/python -m benchmarks.bench_alerts --output $(RESULTS)/alerts.json

bench-shares: migrate model ## ood_dev through a worker: counted vs expected shares against the truth -> .cache/results/shares.json
	@$(BIN)/python -m benchmarks.bench_shares --bundle models/default --output $(RESULTS)/shares.json

bench-storage: services-up ## bytes per post, rollup rows/day, 30 days at 100/s with 7-day retention -> .cache/results/storage.json
	@$(BIN)/python -m benchmarks.bench_storage --output $(RESULTS)/storage.json

bench-relabel: services-up model ## moodwatch relabel throughput with models/default -> .cache/results/relabel.json
	@$(BIN)/python -m benchmarks.bench_relabel --bundle models/default --output $(RESULTS)/relabel.json

bench-shadow: model ## labelling throughput with a candidate in shadow (CANDIDATE=dir) -> .cache/results/shadow.json
	@$(BIN)/python -m benchmarks.bench_shadow --bundle models/default \
		--candidate $(or $(CANDIDATE),models/default) --output $(RESULTS)/shadow.json

bench-dashboard: migrate ## trend query over 10M posts -> .cache/results/trend_query.json
	@$(BIN)/python benchmarks/bench_trend_query.py --what-if-hourly \
		--output $(RESULTS)/trend_query.json

format: venv ## apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .
