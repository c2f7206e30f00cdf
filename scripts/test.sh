#!/usr/bin/env bash
# Set up a fresh machine for the tests, then run them: lint and format (ruff), the layer contract
# (lint-imports), pytest, then mypy. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PWD/.cache/npm/node_modules/.bin:$PATH"
.venv/bin/ruff check --no-cache .
.venv/bin/ruff format --no-cache --check .
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
.venv/bin/python -m mypy
