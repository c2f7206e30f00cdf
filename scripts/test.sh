#!/usr/bin/env bash
# Set up a fresh machine for the tests, then run them: lint and format (ruff), the package contracts
# (lint-imports), dead code (vulture), pytest, then mypy. With no arguments pytest runs the whole
# suite under branch coverage and fails under the floor in pyproject.toml; extra arguments go to
# pytest (a partial run, no coverage floor).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PWD/.cache/npm/node_modules/.bin:$PATH"
.venv/bin/ruff check --no-cache .
.venv/bin/ruff format --no-cache --check .
.venv/bin/lint-imports --no-cache
.venv/bin/vulture
if [ $# -eq 0 ]; then
    rm -f .coverage
    .venv/bin/python -m coverage run -m pytest
    # The total, and a non-zero exit (pipefail) under fail_under.
    .venv/bin/python -m coverage report --format=total | sed 's/^/branch coverage: /;s/$/%/'
else
    .venv/bin/python -m pytest "$@"
fi
.venv/bin/python -m mypy
