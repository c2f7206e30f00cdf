#!/usr/bin/env python3
"""`cloisterctl tick --all` over 50 workspaces x 2,000 tasks x 10,000 ledger lines.

Builds the workspaces (separate git repos; the first lists the others in tick.workspaces), then
times `tick --all` as a user's cron would run it: a fresh process each time. Three runs: the first
(cold: nothing cached yet), then two with nothing new (warm). Target: <= 2 s.

    python bench/tick_bench.py [--workspaces 50] [--tasks 2000] [--lines 10000] [--keep DIR]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloisterctl.engine.init import init  # noqa: E402
from cloisterctl.model.events import encode, make_event  # noqa: E402
from cloisterctl.state.workspace import Workspace  # noqa: E402

TYPES = ("bug", "feature", "task", "chore", "epic")
LABELS = ("docs", "backend", "frontend", "planning", "security", "tests", "refactor", "small")


def tasks(count: int, rng: random.Random, prefix: str) -> list[dict[str, object]]:
    found = []
    for n in range(count):
        task: dict[str, object] = {
            "_type": "issue",
            "id": f"{prefix}-{n:04d}",
            "title": rng.choice(["Fix typo in", "Add endpoint for", "Refactor", "Plan", "Write tests for", "Migrate"])
            + f" module {n}",
            "description": "Touches src/app/module_%d.py and tests/test_module_%d.py." % (n, n),
            "status": "in_progress"
            if n == 1
            else rng.choice(["open", "open", "closed", "closed", "closed", "in_progress"]),
            "priority": rng.randint(0, 4),
            "issue_type": rng.choice(TYPES),
            "labels": rng.sample(LABELS, rng.randint(0, 2)),
            "created_at": "2026-10-01T10:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z",
        }
        if n and rng.random() < 0.3:
            task["dependencies"] = [
                {
                    "issue_id": task["id"],
                    "depends_on_id": f"{prefix}-{rng.randrange(n):04d}",
                    "type": rng.choice(["blocks", "parent-child"]),
                    "metadata": "{}",
                }
            ]
        found.append(task)
    return found


def ledger_events(count: int, rng: random.Random, agent: str, prefix: str, task_count: int) -> list[dict[str, object]]:
    # History over the last 30 days, up to 10 minutes ago; then a live session, recently active.
    start = datetime.now(UTC) - timedelta(days=30)
    step = (timedelta(days=30) - timedelta(minutes=10)) / count
    events: list[dict[str, object]] = [make_event("init", agent, start)]
    session = "s-0"
    tier = "sonnet"
    for n in range(1, count - 2):
        moment = start + n * step
        roll = rng.random()
        task = f"{prefix}-{rng.randrange(2, task_count):04d}"  # task 0001 is the live agent's, open
        if roll < 0.03:
            session = f"s-{n}"
            tier = rng.choice(["haiku", "sonnet", "opus"])
            events.append(
                make_event(
                    "session",
                    agent,
                    moment,
                    session=session,
                    tier=tier,
                    model={
                        "haiku": "claude-haiku-4-5-20251001",
                        "sonnet": "claude-sonnet-4-6",
                        "opus": "claude-opus-4-7",
                    }[tier],
                    source="spawn",
                    task=task,
                )
            )
        elif roll < 0.25:
            events.append(
                make_event(
                    "task",
                    agent,
                    moment,
                    task=task,
                    event="update",
                    status=rng.choice(["open", "in_progress", "closed"]),
                    title="t",
                    source="beads-hook",
                )
            )
        elif roll < 0.55:
            events.append(
                make_event(
                    "test_run",
                    agent,
                    moment,
                    passed=rng.random() < 0.8,
                    command="pytest -q",
                    source="agent-hook",
                    session=session,
                )
            )
        elif roll < 0.85:
            usd = round(rng.random() * 3, 4)
            events.append(
                make_event(
                    "cost",
                    agent,
                    moment,
                    session=session,
                    usd=usd,
                    by_model={"claude-sonnet-4-6": usd},
                    by_tier={tier: usd},
                    tokens={"input": 100, "output": 2000, "cache_write": 5000, "cache_read": 90000},
                    requests=12,
                    context_tokens=40000,
                )
            )
        elif roll < 0.93:
            events.append(
                make_event(
                    "decision",
                    agent,
                    moment,
                    trigger="stuck",
                    cause=f"stuck:{tier}:{n}",
                    kind="flag",
                    task=task,
                    from_tier=tier,
                    reason="quiet",
                    status="flagged",
                )
            )
        else:
            events.append(
                make_event(
                    "route",
                    agent,
                    moment,
                    task=task,
                    tier=tier,
                    model="claude-sonnet-4-6",
                    rule="complexity_routing.medium",
                )
            )
    # A fresh session, recently active, so the agent is neither stuck nor failing right now.
    now = datetime.now(UTC)
    events.append(
        make_event(
            "session",
            agent,
            now - timedelta(minutes=2),
            session="s-live",
            tier="sonnet",
            model="claude-sonnet-4-6",
            source="spawn",
            task=f"{prefix}-0001",
        )
    )
    events.append(
        make_event(
            "test_run",
            agent,
            now - timedelta(minutes=1),
            passed=True,
            command="pytest -q",
            source="agent-hook",
            session="s-live",
        )
    )
    return events


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def build(base: Path, workspaces: int, task_count: int, lines: int) -> Path:
    rng = random.Random(7)
    env_names = {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    os.environ.update(env_names)
    for index in range(workspaces):
        root = base / f"ws{index:02d}"
        root.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main")
        ws = Workspace(root)
        init(ws, f"agent-{index:02d}", datetime.now(UTC))
        prefix = f"w{index:02d}"
        (root / ".beads").mkdir()
        (root / ".beads" / "issues.jsonl").write_text(
            "".join(json.dumps(t) + "\n" for t in tasks(task_count, rng, prefix))
        )
        ws.ledger_path.write_text(
            "".join(encode(e) + "\n" for e in ledger_events(lines, rng, f"agent-{index:02d}", prefix, task_count))
        )
        if index == 0:
            ws.config_path.write_text(f"tick:\n  workspaces: [{json.dumps(str(base / 'ws*'))}]\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "bench workspace")
    return base / "ws00"


def timed_tick(first: Path, env: dict[str, str]) -> tuple[float, list[dict[str, object]]]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(first), "tick", "--all", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"tick failed: {result.stderr}")
    return elapsed, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--keep", type=Path, help="build the workspaces here and leave them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="cloister-tick-bench-"))
    started = time.perf_counter()
    first = build(base, args.workspaces, args.tasks, args.lines)
    print(
        f"built {args.workspaces} workspaces x {args.tasks} tasks x {args.lines} ledger lines in {time.perf_counter() - started:.1f}s ({base})"
    )
    home = base / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / "claude"),
        "CLOISTER_TMUX_SOCKET": "cloister-tick-bench",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a real install has its bytecode compiled
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "cloisterctl")], check=False, capture_output=True
    )
    runs = []
    for label in ("first (cold)", "second (nothing new)", "third (nothing new)"):
        elapsed, reports = timed_tick(first, env)
        decided = sum(len(r["decisions"]) for r in reports)
        problems = sum(len(r["problems"]) for r in reports)
        print(
            f"tick --all {label}: {elapsed:.2f}s for {len(reports)} workspaces ({elapsed / len(reports) * 1000:.0f} ms each); {decided} decisions, {problems} problems"
        )
        runs.append(elapsed)
    target = 2.0
    warm = min(runs[1:])
    print(
        f"target <= {target:.1f}s: warm {warm:.2f}s ({warm / target:.2f} of target), cold {runs[0]:.2f}s ({runs[0] / target:.2f} of target)"
    )
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
