"""Replay: tasks with known outcomes per tier, through the real classifier, router and escalation
ladder. Pure (a seeded random generator decides which failures are noticed).

For each task, in input order: ``routing.complexity.classify`` gives its level; ``routing.router.route``
its start tier (with ``adaptive``, from the counts learned on the earlier tasks only, told the
ladder it runs: ``detect`` as the measured detection, the escalations allowed, ``handoff`` in the
file's cost unit); the attempt on that tier draws one of the tier's recorded trials (seeded) and
resolves the task or not, at that trial's cost. A failure is noticed with probability ``detect``.
With ``escalate="on-failure"`` a noticed failure moves the task one tier up
(``models.tiers.tier_above``, at most ``handoffs.guards.max_escalations`` times), as the stuck and
test-failure triggers do; an unnoticed one ends the task unresolved. What the policy learns is
what a ledger would record: a noticed failure is a failure, an unnoticed one looks like a close.
An attempt that follows an escalation is also
counted under ``L/k/after`` (``ledger.attempts.after_key``), as the ledger does. A task's cost is
the sum of its attempts' costs (summed in whole micro-units, so the per-task rows add up exactly to
the totals). The baselines (every task on one tier, the oracle's cheapest solving tier) are
expectations over the recorded trials.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.ledger.attempts import after_key
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
    handoff: float | None = None  # in the file's cost unit; None: routing.handoff_usd


def with_policy(config: Config, policy: str | None) -> Config:
    if policy is None:
        return config
    data = {**config.data, "routing": {**config.data["routing"], "policy": policy}}
    return dataclasses.replace(config, data=data)


def _learn(counts: dict[str, list[int]], keys: Sequence[str], success: bool, escalated: bool, micro: int) -> None:
    for key in keys:
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
    escalations = limit if options.escalate == "on-failure" else 0
    for item in tasks:
        found = classify(item.task, config.complexity)
        routed = route(
            item.task,
            found,
            config,
            prices,
            counts=counts if policy == "adaptive" else None,
            detection=options.detect,
            escalations=escalations,
            handoff=options.handoff,
        )
        tried = [routed.tier]
        micro = 0
        while True:
            tier = tried[-1]
            trial = rng.randrange(len(item.resolved[tier]))
            solved = item.resolved[tier][trial]
            cost = round(item.cost[tier][trial] * MICRO)
            micro += cost
            noticed = not solved and rng.random() < options.detect
            up = tier_above(tier)
            escalates = noticed and up is not None and len(tried) <= escalations
            keys = [f"{found.level}/{tier}"] + ([after_key(found.level, tier)] if len(tried) > 1 else [])
            _learn(counts, keys, solved or not noticed, escalates, cost)
            if not escalates or up is None:
                break
            tried.append(up)
        rows.append(
            {
                "id": item.id,
                "level": found.level,
                "start_tier": routed.tier,
                "tiers_tried": tried,
                "resolved": solved,
                "cost": micro / MICRO,
                "_micro": micro,
            }
        )
    return _summary(tasks, rows, options, policy)


def _whole(value: float) -> float | int:
    """An expectation over trials; a whole number when every trial agrees (one trial a tier)."""
    return int(round(value)) if abs(value - round(value)) < 1e-9 else round(value, 4)


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


def _oracle(task: ReplayTask) -> tuple[float, float]:
    """The expected (success, cost) of knowing each attempt's outcome beforehand: the cheapest tier
    whose drawn trial solves the task, its cost (the mean of its solving trials)."""
    unsolved = 1.0
    success = cost = 0.0
    for tier in TIERS:
        rate = task.success_rate(tier)
        if rate <= 0:
            continue
        solving = [c for c, ok in zip(task.cost[tier], task.resolved[tier], strict=True) if ok]
        success += unsolved * rate
        cost += unsolved * rate * sum(solving) / len(solving)
        unsolved *= 1 - rate
    return success, cost


def _figures(tasks: Sequence[ReplayTask], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    singles: dict[str, tuple[float, float]] = {}
    baselines: dict[str, dict[str, Any]] = {}
    for tier in TIERS:
        micro = sum(round(t.mean_cost(tier) * MICRO) for t in tasks)
        solved = sum(t.success_rate(tier) for t in tasks)
        singles[tier] = (micro / MICRO, solved)
        baselines[f"all-{tier}"] = {"resolved": _whole(solved), "cost": micro / MICRO}
    oracle = [_oracle(t) for t in tasks]
    baselines["oracle"] = {
        "resolved": _whole(sum(s for s, _ in oracle)),
        "cost": sum(round(c * MICRO) for _, c in oracle) / MICRO,
    }
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
