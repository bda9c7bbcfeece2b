#!/usr/bin/env bash
# Creates .venv and installs the project with its dev tools. Idempotent: reinstalls only
# when pyproject.toml changed since the last successful install (pip's cache serves torch).
# pip's own output (and its build back-end's warnings) goes to .venv/install.log; a failed
# install prints the end of it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.moodwatch-installed
log=.venv/install.log
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing moodwatch and its dependencies into .venv (torch is large: first run takes minutes; log: $log)"
  if ! { .venv/bin/pip install --upgrade pip && .venv/bin/pip install -e '.[dev]'; } >"$log" 2>&1; then
    echo "pip failed; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
