#!/usr/bin/env bash
# The demo's last steps (after `make migrate model`): start the worker and the dashboard in
# the background, replay the CARER test split time-warped over the past week, say where to look.
# `scripts/demo.sh stop` stops the worker and the dashboard. Idempotent: running processes are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN=.services/run
mkdir -p "$RUN"
DATA_DIR=${MOODWATCH_TRAIN_DATA_DIR:-../shared/data}
DB_PORT=${MOODWATCH_DB_PORT:-15432}
DASH_PORT=${MOODWATCH_DASHBOARD_PORT:-8501}
METRICS_PORT=${MOODWATCH_WORKER_METRICS_PORT:-9108}

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() {  # name, command...
  local name=$1; shift
  if alive "$name"; then echo "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  setsid nohup "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  echo "$name started (log: $RUN/$name.log)"
}

stop() {
  for name in worker dashboard; do
    if alive "$name"; then
      kill -TERM "$(cat "$RUN/$name.pid")"
      timeout 60 tail --pid="$(cat "$RUN/$name.pid")" -f /dev/null || true
      echo "$name stopped"
    fi
    rm -f "$RUN/$name.pid"
  done
}

rows() {
  PGPASSWORD=${MOODWATCH_DB_READONLY_PASSWORD:-moodwatch-ro-dev} psql -h 127.0.0.1 -p "$DB_PORT" \
    -U "${MOODWATCH_DB_READONLY_USER:-moodwatch_ro}" -d "${MOODWATCH_DB_NAME:-moodwatch}" -tAc \
    "SELECT count(*) FROM posts WHERE post_id LIKE 'demo-%'"
}

if [ "${1:-}" = "stop" ]; then stop; exit 0; fi

start worker "$BIN/moodwatch" worker
start dashboard "$BIN/moodwatch" dashboard
test_split="$DATA_DIR/emotion/test.jsonl"
[ -f "$test_split" ] || { echo "no test split at $test_split (set MOODWATCH_TRAIN_DATA_DIR)"; exit 1; }
want=$(wc -l <"$test_split")
started=$(date +%s)
"$BIN/moodwatch" produce "$test_split" --warp-days 7 --id-prefix demo- --source-name demo-replay
echo "waiting for the worker to store $want posts ..."
deadline=$((started + 900))
while [ "$(rows)" -lt "$want" ]; do
  alive worker || { echo "the worker stopped; see $RUN/worker.log"; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out; see $RUN/worker.log"; exit 1; }
  sleep 2  # progress polling of a separate process
done
echo "stored $(rows) posts in $(( $(date +%s) - started ))s (produce + label + store)"
cat <<MSG

moodwatch is running.
  dashboard: http://127.0.0.1:$DASH_PORT
  metrics:   http://127.0.0.1:$METRICS_PORT/metrics
  SQL:       PGPASSWORD=moodwatch-ro-dev psql -h 127.0.0.1 -p $DB_PORT -U moodwatch_ro moodwatch
  feed more: .venv/bin/moodwatch produce FILE.jsonl --rate 50
  stop:      make stop
MSG
