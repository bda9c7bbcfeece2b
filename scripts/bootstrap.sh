#!/usr/bin/env bash
# Creates .venv and installs the project with its dev tools. Idempotent: reinstalls only
# when pyproject.toml changed since the last successful install (pip's cache serves torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.moodwatch-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing moodwatch and its dependencies into .venv (torch is large: first run takes minutes)"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[dev]'
  echo "$want" > "$stamp"
fi
