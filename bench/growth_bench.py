#!/usr/bin/env python3
"""A year's ledger: tick, status and a refold after a merge at 10K, 100K and 1M ledger lines.

For each size, builds one workspace whose ledger holds that many events spread over a year (the
event mix of bench/ledger_gen.py), commits it, and measures, each in a fresh process as cron would
run it: the first tick (cold: it migrates and folds everything), a warm tick with nothing new,
`status`, a refold after a merge (a teammate's branch adds events of this month, through a real
`git merge`), a merge into an old month (which invalidates the checkpoint: refolded from scratch,
and a new checkpoint written), and `usage add` of one new event, which commits it (the commit
policy). Then the same year as the single-file ledger of an earlier version: the tick that
migrates it, and the next. Peak memory is the process's own high-water mark (VmHWM).
Targets at 1M lines: warm tick <= 0.3 s and <= 100 MiB; refold after a merge <= 3 s and <= 400 MiB.

    python bench/growth_bench.py [--sizes 10000,100000,1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ledger_gen import ledger_events, tasks  # noqa: E402

from cloisterctl.ledger.events import encode, make_event  # noqa: E402
from cloisterctl.ledger.init import init  # noqa: E402
from cloisterctl.workspace.layout import Workspace  # noqa: E402

# Runs one cloisterctl command in-process and reports its own peak memory (KiB) on stderr's last
# line: VmHWM, which exec resets (ru_maxrss would carry the forking parent's).
RUNNER = (
    "import sys\n"
    "from cloisterctl.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
    "print(f'MAXRSS {peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)
TARGETS = {"warm tick": (0.3, 100), "refold after a merge": (3.0, 400)}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return result.stdout


def build(base: Path, lines: int, *, legacy: bool = False) -> Path:
    """A workspace with a year of ``lines`` events: in monthly segments, as this version writes
    them, or (``legacy``) in the single file of an earlier version, which the first tick migrates."""
    rng = random.Random(11)
    root = base / f"ws-{lines}{'-legacy' if legacy else ''}"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    ws = Workspace(root)
    init(ws, "agent", datetime.now(UTC))
    (root / ".beads").mkdir()
    (root / ".beads" / "issues.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks(2000, rng, "t")))
    handles: dict[Path, TextIO] = {}
    try:
        for event in ledger_events(lines, rng, "agent", "t", 2000, days=365):
            path = ws.ledger_path if legacy else ws.segment_for(str(event["ts"]))
            handle = handles.get(path)
            if handle is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = handles[path] = path.open("a", encoding="utf-8")
            handle.write(encode(event) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a year of work")
    return root


def measure(root: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(seconds, peak MiB, stdout) of `cloisterctl -C ROOT ARGS` in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, "-C", str(root), *args], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"cloisterctl {' '.join(args)} failed: {result.stderr[-2000:]}")
    rss = int(result.stderr.strip().splitlines()[-1].split()[1]) / 1024
    return elapsed, rss, result.stdout


def merge_teammate(root: Path, days_ago: float, branch: str) -> None:
    """A teammate's branch adds events dated ``days_ago``; a real `git merge` joins it (union merge)."""
    git(root, "checkout", "-q", "-b", branch)
    ws = Workspace(root)
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    events = [
        make_event("task", "agent", moment + timedelta(seconds=n), task=f"t-{n:04d}", status="closed", event="close")
        for n in range(2, 12)
    ]
    target = ws.segment_for(events[0]["ts"])
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write("".join(encode(event) + "\n" for event in events))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{branch}'s closes")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-edit", branch)


def report(lines: int, label: str, seconds: float, rss: float) -> None:
    target = TARGETS.get(label) if lines >= 1_000_000 else None
    verdict = ""
    if target is not None:
        met = seconds <= target[0] and rss <= target[1]
        verdict = f"   target <= {target[0]:g} s, <= {target[1]} MiB: {'met' if met else 'NOT met'}"
    print(f"{lines:>9,} lines  {label:<22} {seconds:7.2f} s  {rss:7.1f} MiB{verdict}", flush=True)


def environment(home: Path) -> dict[str, str]:
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / "claude"), "CLOISTER_TICK_COMMIT": "1"}
    env["CLOISTER_TMUX_SOCKET"] = f"cloister-growth-{os.getpid()}"
    return env


def run_migration(base: Path, lines: int) -> None:
    """An earlier version's single-file ledger: the first tick migrates it (a checkpoint is written)."""
    root = build(base, lines, legacy=True)
    env = environment(base / f"home-{lines}-legacy")
    seconds, rss, _out = measure(root, env, "tick")
    report(lines, "migrating tick (once)", seconds, rss)
    seconds, rss, _out = measure(root, env, "tick")
    report(lines, "the tick after it", seconds, rss)


def run_size(base: Path, lines: int) -> None:
    started = time.perf_counter()
    root = build(base, lines)
    print(f"{lines:>9,} lines  built in {time.perf_counter() - started:.1f} s", flush=True)
    env = environment(base / f"home-{lines}")
    for label, args in (
        ("first tick (cold)", ("tick",)),
        ("warm tick", ("tick",)),
        ("status", ("status",)),
    ):
        seconds, rss, _out = measure(root, env, *args)
        report(lines, label, seconds, rss)
    merge_teammate(root, 0.01, "teammate")  # this month's work from another clone: the usual merge
    seconds, rss, _out = measure(root, env, "tick")
    report(lines, "refold after a merge", seconds, rss)
    merge_teammate(root, 200, "old-branch")  # a branch of months ago: its closed month's checkpoint goes
    seconds, rss, _out = measure(root, env, "tick")
    report(lines, "merge into an old month", seconds, rss)
    seconds, rss, _out = measure(root, env, "tick")
    report(lines, "the tick after that", seconds, rss)
    started = time.perf_counter()
    head = git(root, "rev-parse", "HEAD")
    subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(root), "usage", "add", "--model", "claude-sonnet-4-6",
         "--input", "10", "--output", "10"], check=True, capture_output=True, env=env,
    )  # fmt: skip
    assert git(root, "rev-parse", "HEAD") != head and not git(root, "status", "--porcelain")  # it committed itself
    print(f"{lines:>9,} lines  {'usage add, committed':<22} {time.perf_counter() - started:7.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--keep", type=Path, help="build the workspaces here and leave them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="cloister-growth-"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "cloisterctl")], check=False)
    try:
        for lines in (int(size) for size in args.sizes.split(",")):
            run_size(base, lines)
            run_migration(base, lines)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
