"""Replay: tasks with known outcomes per tier, through the real classifier, router and escalation
ladder. Pure (a seeded random generator decides which failures are noticed).

For each task, in input order: ``routing.complexity.classify`` gives its level; ``routing.router.route``
its start tier (with ``adaptive``, from the counts learned on the earlier tasks only); the attempt
on that tier resolves the task or not, as the input says. A failure is noticed with probability
``detect``. With ``escalate="on-failure"`` a noticed failure moves the task one tier up
(``models.tiers.tier_above``, at most ``handoffs.guards.max_escalations`` times), as the stuck and
test-failure triggers do; an unnoticed one ends the task unresolved. What the policy learns is
what a ledger would record: a noticed failure is a failure, an unnoticed one looks like a close.
A task's cost is the sum of its attempts' costs. Costs are summed in whole micro-units, so the
per-task rows add up exactly to the totals.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.models.prices import PriceTable
from cloisterctl.models.tiers import LEVELS, TIERS, tier_above
from cloisterctl.routing.complexity import classify
from cloisterctl.routing.frontier import gain
from cloisterctl.routing.replay_input import ReplayTask
from cloisterctl.routing.router import route

MICRO = 1_000_000
TOP = TIERS[-1]


@dataclass(frozen=True)
class Options:
    policy: str | None = None  # None: the config's routing.policy
    escalate: str = "none"  # or "on-failure"
    detect: float = 1.0
    seed: int = 0


def with_policy(config: Config, policy: str | None) -> Config:
    if policy is None:
        return config
    data = {**config.data, "routing": {**config.data["routing"], "policy": policy}}
    return dataclasses.replace(config, data=data)


def _learn(counts: dict[str, list[int]], key: str, success: bool, escalated: bool, micro: int) -> None:
    row = list(counts.get(key, [0, 0, 0, 0, 0, 0]))
    row[0] += 1
    row[1 if success else 2] += 1
    row[3] += int(escalated)
    row[4] += micro
    row[5] += 1
    counts[key] = row


def replay(tasks: Sequence[ReplayTask], config: Config, prices: PriceTable, options: Options) -> dict[str, Any]:
    """Rows per task, totals, single-tier and oracle baselines, routing gain; overall and per level."""
    config = with_policy(config, options.policy)
    policy = config.routing.policy
    rng = random.Random(options.seed)
    counts: dict[str, list[int]] = {}
    limit = config.guards.max_escalations
    rows: list[dict[str, Any]] = []
    for item in tasks:
        found = classify(item.task, config.complexity)
        routed = route(item.task, found, config, prices, counts=counts if policy == "adaptive" else None)
        tried = [routed.tier]
        micro = 0
        while True:
            tier = tried[-1]
            solved = item.resolved[tier]
            cost = round(item.cost[tier] * MICRO)
            micro += cost
            noticed = not solved and rng.random() < options.detect
            up = tier_above(tier)
            escalates = noticed and options.escalate == "on-failure" and up is not None and len(tried) <= limit
            _learn(counts, f"{found.level}/{tier}", solved or not noticed, escalates, cost)
            if not escalates or up is None:
                break
            tried.append(up)
        rows.append(
            {
                "id": item.id,
                "level": found.level,
                "start_tier": routed.tier,
                "tiers_tried": tried,
                "resolved": item.resolved[tried[-1]],
                "cost": micro / MICRO,
                "_micro": micro,
            }
        )
    return _summary(tasks, rows, options, policy)


def _summary(tasks: Sequence[ReplayTask], rows: list[dict[str, Any]], options: Options, policy: str) -> dict[str, Any]:
    levels = {
        level: _figures(
            [t for t, r in zip(tasks, rows, strict=True) if r["level"] == level],
            [r for r in rows if r["level"] == level],
        )
        for level in LEVELS
        if any(r["level"] == level for r in rows)
    }
    overall = _figures(list(tasks), rows)
    for row in rows:
        del row["_micro"]
    return {
        "options": {"policy": policy, **{k: v for k, v in dataclasses.asdict(options).items() if k != "policy"}},
        "tasks": rows,
        "totals": overall["totals"],
        "baselines": overall["baselines"],
        "levels": levels,
    }


def _figures(tasks: Sequence[ReplayTask], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    singles: dict[str, tuple[float, float]] = {}
    baselines: dict[str, dict[str, Any]] = {}
    for tier in TIERS:
        micro = sum(round(t.cost[tier] * MICRO) for t in tasks)
        solved = sum(t.resolved[tier] for t in tasks)
        singles[tier] = (micro / MICRO, float(solved))
        baselines[f"all-{tier}"] = {"resolved": solved, "cost": micro / MICRO}
    oracle_micro = 0
    oracle_solved = 0
    for t in tasks:
        cheapest = next((tier for tier in TIERS if t.resolved[tier]), None)
        if cheapest is not None:
            oracle_solved += 1
            oracle_micro += round(t.cost[cheapest] * MICRO)
    baselines["oracle"] = {"resolved": oracle_solved, "cost": oracle_micro / MICRO}
    for entry in baselines.values():
        entry["gain"] = gain(entry["resolved"], entry["cost"], singles, TOP)
    micro = sum(int(r["_micro"]) for r in rows)
    resolved = sum(bool(r["resolved"]) for r in rows)
    totals = {
        "tasks": len(rows),
        "resolved": resolved,
        "cost": micro / MICRO,
        "attempts": sum(len(r["tiers_tried"]) for r in rows),
        "escalations": sum(len(r["tiers_tried"]) - 1 for r in rows),
        "start_tiers": {tier: sum(r["start_tier"] == tier for r in rows) for tier in TIERS},
        "gain": gain(resolved, micro / MICRO, singles, TOP),
    }
    return {"totals": totals, "baselines": baselines}
