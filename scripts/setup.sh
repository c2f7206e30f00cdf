#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system tools, then a venv in .venv with
# cloisterctl installed. `--test` adds the test extras and the tools the tests drive for real
# (tmux, Chromium, and the npm CLIs `claude` and `ccusage` under .cache/npm).
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

apt_packages=()
command -v git >/dev/null || apt_packages+=(git)
command -v tmux >/dev/null || apt_packages+=(tmux)
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_packages+=(python3-venv)
if [ "$want_tests" = 1 ]; then
    command -v chromium >/dev/null || apt_packages+=(chromium)
    command -v npm >/dev/null || apt_packages+=(npm)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
    echo "setup: installing ${apt_packages[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
if [ "$want_tests" = 1 ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
    if command -v npm >/dev/null; then
        # The real agent CLI (its flags are checked against the spawn template) and ccusage (the
        # reference for cost figures). Installed locally, so nothing global changes. ccusage is
        # pinned: it is a wrapper around a native binary, and 20.0.26 has none published for
        # linux-x64 (a copy that cannot run is reinstalled).
        if [ ! -x .cache/npm/node_modules/.bin/claude ] \
            || ! .cache/npm/node_modules/.bin/ccusage --version >/dev/null 2>&1; then
            mkdir -p .cache/npm
            npm install --silent --no-audit --no-fund --prefix .cache/npm @anthropic-ai/claude-code ccusage@20.0.24 \
                >/dev/null 2>&1 || echo "setup: npm install failed; tests that need claude/ccusage will skip" >&2
        fi
    fi
else
    .venv/bin/python -m pip install -q --disable-pip-version-check . 2>&1 | grep -v "^WARNING: Location" || true
fi
.venv/bin/cloisterctl --version >/dev/null
