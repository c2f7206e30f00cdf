"""Shared pieces of the cost benches: finding ccusage, a throwaway workspace, timing."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCAL_CCUSAGE = REPO / ".cache" / "npm" / "node_modules" / ".bin" / "ccusage"


def _npm_install(*packages: str) -> None:
    if shutil.which("npm"):
        print(f"installing {' '.join(packages)} under .cache/npm ...", file=sys.stderr)
        prefix = str(REPO / ".cache" / "npm")
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix, *packages], check=False
        )


def _works(command: str) -> bool:
    return subprocess.run([command, "--version"], capture_output=True, check=False).returncode == 0


def find_ccusage() -> str:
    """The ccusage command: the copy under .cache/npm (installed there if missing), else PATH.

    ccusage is a native binary shipped in a per-platform optional package; when npm skipped it (a
    version not yet published for this platform), the platform package is installed by name."""
    if not LOCAL_CCUSAGE.exists():
        _npm_install("ccusage")
    if LOCAL_CCUSAGE.exists() and not _works(str(LOCAL_CCUSAGE)):
        arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
        _npm_install(f"@ccusage/ccusage-{sys.platform}-{arch}")
    if LOCAL_CCUSAGE.exists() and _works(str(LOCAL_CCUSAGE)):
        return str(LOCAL_CCUSAGE)
    found = shutil.which("ccusage")
    if found is None or not _works(found):
        sys.exit("ccusage not found or not working: npm install --prefix .cache/npm ccusage")
    return found


def ccusage_session(ccusage: str, config_dir: Path) -> dict[str, Any]:
    """``ccusage session --json --offline`` over the transcripts under ``config_dir``."""
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(config_dir), "NO_COLOR": "1"}
    done = subprocess.run(
        [ccusage, "session", "--json", "--offline"], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        sys.exit(f"ccusage failed ({done.returncode}): {done.stderr.strip()[:500]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def make_workspace(parent: Path) -> Path:
    """A git repo with ``cloisterctl init`` run in it: where the ingest cache lives."""
    root = parent / "bench-workspace"
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([sys.executable, "-m", "cloisterctl", "-C", str(root), "init"], check=True, capture_output=True)
    return root


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def warm_page_cache(root: Path) -> int:
    """Read every transcript once so that neither tool is timed against the disk."""
    total = 0
    for path in root.rglob("*.jsonl"):
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
    return total
