#!/usr/bin/env bash
# One line for one step of `make run`: "what ... ok (12s)". The step's own output (pip, service
# start-up, migrations) is appended to LOG; when the step fails, the end of LOG follows on
# stderr and the step's exit code is kept.
#   scripts/step.sh LOG "what" command [args...]
set -uo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 LOG WHAT COMMAND [ARGS...]" >&2
  exit 2
fi
log=$1 what=$2
shift 2
mkdir -p "$(dirname "$log")"
printf '\n=== %s  %s: %s\n' "$(date -u +%FT%TZ)" "$what" "$*" >>"$log"
printf '%s ... ' "$what"
started=$SECONDS
"$@" >>"$log" 2>&1 </dev/null
code=$?
if [ "$code" -eq 0 ]; then
  echo "ok ($((SECONDS - started))s)"
  exit 0
fi
echo "failed (exit code $code)"
echo "the end of $log:" >&2
tail -n 30 "$log" >&2
exit "$code"
