"""Generated ledgers and beads exports for the benches: a month (or a year) of one agent's events
in the mix a busy workspace sees (task updates, test runs, cost checkpoints, decisions, routes,
sessions)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from cloisterctl.ledger.events import make_event

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


def ledger_events(
    count: int, rng: random.Random, agent: str, prefix: str, task_count: int, days: int = 30
) -> list[dict[str, object]]:
    # History over the last `days` days, up to 10 minutes ago; then a live session, recently active.
    start = datetime.now(UTC) - timedelta(days=days)
    step = (timedelta(days=days) - timedelta(minutes=10)) / count
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
