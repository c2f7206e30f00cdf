#!/usr/bin/env bash
# Set up a fresh machine, then play the built-in demo. Extra arguments go to `cloisterctl demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/cloisterctl demo "$@"
