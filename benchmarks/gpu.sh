#!/usr/bin/env bash
# `make bench-gpu`: on a machine with CUDA, install, start the services and measure the quick and
# the full bundle in fp16 (bare posts/s by batch size, end-to-end posts/s, p99 latency) into one
# JSON file, in under 8 minutes. Without CUDA it writes a JSON saying so and stops (seconds).
#
#   benchmarks/gpu.sh [--output FILE]      bundles: QUICK_BUNDLE (models/default), FULL_BUNDLE
#                                          (models/full); a missing one is reported as missing
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT=.cache/results/gpu.json
if [[ "${1:-}" == "--output" ]]; then OUTPUT="$2"; fi
PY=.venv/bin/python
BUDGET_S=${BUDGET_S:-450}  # the whole run, installs included, stays under 8 minutes

if [[ ! -x "$PY" ]]; then
  python3 -m venv .venv
  .venv/bin/pip install -q -e '.[dev]'
fi
# CUDA first: on a CPU machine nothing is started or installed beyond this point
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  exec "$PY" -m benchmarks.bench_gpu --output "$OUTPUT"
fi
.venv/bin/moodwatch services up
.venv/bin/moodwatch migrate
exec timeout "$BUDGET_S" "$PY" -m benchmarks.bench_gpu --output "$OUTPUT" \
  --bundles "${QUICK_BUNDLE:-models/default}" "${FULL_BUNDLE:-models/full}"
