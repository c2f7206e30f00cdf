"""The real ccusage (npm `ccusage`), for tests that compare cost figures with it.

It is looked for under this clone's ``.cache/npm`` (scripts/setup.sh installs it there), then on
PATH; a copy whose native binary is missing (its platform package was not published for that
version) does not count. Tests that need it skip when there is none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from testing.helpers import REPO_ROOT


def _works(command: str) -> bool:
    try:
        done = subprocess.run([command, "--version"], capture_output=True, check=False, timeout=60)
    except OSError:
        return False
    return done.returncode == 0


def ccusage_binary() -> str | None:
    """The first working ccusage: this clone's, then each one on PATH (a broken copy, such as this
    clone's when its native package is missing, may come first there)."""
    local = REPO_ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "ccusage"
    candidates = [str(local)] if local.exists() else []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("ccusage", path=directory) if directory else None
        if found is not None and found not in candidates:
            candidates.append(found)
    return next((candidate for candidate in candidates if _works(candidate)), None)


def ccusage_report(binary: str, config_dir: Path, home: Path, report: str, *args: str) -> dict[str, Any]:
    """``ccusage claude REPORT --json --offline --timezone UTC ARGS`` over the transcripts under
    ``config_dir`` (Claude Code's only: ``claude``), with ``home`` as HOME so nothing else is read."""
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config_dir), "HOME": str(home), "NO_COLOR": "1", "TZ": "UTC"}
    done = subprocess.run(
        [binary, "claude", report, "--json", "--offline", "--timezone", "UTC", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data
