#!/usr/bin/env bash
# The demo's last steps (after `make migrate model`): start the worker, the sentinel and the
# dashboard in the background, replay the CARER test split time-warped over the past week.
#   scripts/demo.sh         start what is not running, replay, wait until every post is handled
#   scripts/demo.sh start   start the worker, sentinel and dashboard only (each until healthy)
#   scripts/demo.sh stop    stop all three, each with its whole process group
# Idempotent: a running, healthy process is kept; a dead one (kill -9) is replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUN=${MOODWATCH_SERVICES_STATE_DIR:-.services}/run
mkdir -p "$RUN"
DATA_DIR=${MOODWATCH_TRAIN_DATA_DIR:-../shared/data}
DB_PORT=${MOODWATCH_DB_PORT:-15432}
DB_NAME=${MOODWATCH_DB_NAME:-moodwatch}
DASH_PORT=${MOODWATCH_DASHBOARD_PORT:-8501}
METRICS_PORT=${MOODWATCH_WORKER_METRICS_PORT:-9108}
START_TIMEOUT_S=${DEMO_START_TIMEOUT_S:-180}

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# Alive and still ours: a pid file left by a kill -9 may name a pid reused by something else.
alive() {
  local pid; pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q moodwatch\\\|streamlit
}

healthy() {
  case $1 in
    # quiet while it starts: "connection refused" until it listens is the expected answer
    dashboard) curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$DASH_PORT/_stcore/health" ;;
    worker) grep -q '"worker started"\|worker started' "$RUN/worker.log" 2>/dev/null ;;
    sentinel) grep -q 'sentinel started' "$RUN/sentinel.log" 2>/dev/null ;;
  esac
}

start() {  # name, command...: in a session of its own, so that stop reaches all it spawned
  local name=$1; shift
  if alive "$name"; then echo "$name already running (pid $(pid_of "$name"))"; return; fi
  stop_one "$name"  # whatever is left of a killed one: its group, its pid file
  setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  local deadline=$(( $(date +%s) + START_TIMEOUT_S ))
  until healthy "$name"; do
    if ! alive "$name" || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$name did not start; the end of $RUN/$name.log:" >&2
      tail -n 5 "$RUN/$name.log" >&2
      stop_one "$name"
      return 1
    fi
    sleep 0.5  # polling another process's readiness
  done
  echo "$name started (pid $(pid_of "$name"), log: $RUN/$name.log)"
}

stop_one() {  # SIGTERM the process group, wait up to 60 s, then SIGKILL what is left
  local name=$1 pid; pid=$(pid_of "$name")
  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 120); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "$name stopped"
  fi
  rm -f "$RUN/$name.pid"
}

handled() {  # posts stored + posts skipped as already stored, from the worker's metrics
  curl -fsS --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null | awk '
    /^moodwatch_(posts_stored|posts_duplicate|dead_letters)_total / { n += $2 }
    END { printf "%d\n", n }'
}

case "${1:-}" in
  stop) stop_one worker; stop_one sentinel; stop_one dashboard; exit 0 ;;
  start)
    start worker "$BIN/moodwatch" worker; start sentinel "$BIN/moodwatch" sentinel
    start dashboard "$BIN/moodwatch" dashboard; exit 0 ;;
esac

start worker "$BIN/moodwatch" worker
start sentinel "$BIN/moodwatch" sentinel
start dashboard "$BIN/moodwatch" dashboard
test_split="$DATA_DIR/emotion/test.jsonl"
[ -f "$test_split" ] || { echo "no test split at $test_split (set MOODWATCH_TRAIN_DATA_DIR)"; exit 1; }
want=$(grep -c . "$test_split")
before=$(handled)
started=$(date +%s)
# Ids come from each post's content: run again, or replay the same file yourself, and the worker
# skips what is stored instead of doubling the week's trend.
"$BIN/moodwatch" produce "$test_split" --warp-days 7 --source-name demo-replay
echo "waiting for the worker to handle $want posts ..."
deadline=$((started + 900))
while [ "$(( $(handled) - before ))" -lt "$want" ]; do
  alive worker || { echo "the worker stopped; see $RUN/worker.log"; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out; see $RUN/worker.log"; exit 1; }
  sleep 2  # progress polling of a separate process
done
echo "handled $want posts in $(( $(date +%s) - started ))s (produce + label + store; replays skipped)"
logs="$RUN/worker.log, $RUN/sentinel.log, $RUN/dashboard.log"
# `make run` sends what its steps printed (pip, service start-up, migrations) to this log.
if [ -n "${MAKE_RUN_LOG:-}" ]; then logs="$logs, $MAKE_RUN_LOG (the steps above)"; fi
cat <<MSG

moodwatch is running.
  dashboard: http://127.0.0.1:$DASH_PORT
  metrics:   http://127.0.0.1:$METRICS_PORT/metrics
  SQL:       PGPASSWORD=moodwatch-ro-dev psql -h 127.0.0.1 -p $DB_PORT -U moodwatch_ro $DB_NAME
  feed more: .venv/bin/moodwatch produce FILE.jsonl --rate 50
  dead letters: .venv/bin/moodwatch dlq
  alerts:    SELECT * FROM alerts ORDER BY bucket DESC;  (the sentinel, docs/alerts.md)
  logs:      $logs
  stop:      make stop
MSG
