"""Replay input: JSON lines of tasks with known outcomes per tier. Pure (text in, records out).

One object a line: ``id`` (text), optional ``title``, ``description``, ``labels`` (texts),
``estimated_minutes`` (a whole number), ``difficulty`` (a level or a time band such as
``"<15 min fix"``; read as ``metadata.difficulty``), ``resolved`` per tier, and the cost of an
attempt per tier: ``cost_usd`` ({tier: USD}), or ``relative_price`` ({tier: price}) with or without
``turns`` ({tier: count}): the cost is then turns x price, or the price alone (one attempt = one
unit of price) when the file records no turns. Other keys (``repo``...) are ignored.

Trials: ``resolved`` and ``cost_usd`` may hold, per tier, a list with one entry per recorded trial
of that tier (``{"opus": [1, 0, 1]}``, costs paired by position; a single cost stands for every
trial); a single value is one trial. A replayed attempt draws one trial (``routing.replay``).

A tier whose ``turns`` are missing or null costs the mean turns of that tier over the *earlier*
lines that have them (``imputed`` names such tiers: the attempt happened, its length was not
recorded); with no earlier line to learn from, the mean of this line's own recorded turns; with
neither, the line is an error. Any bad line is an error naming ``FILE:LINE``. ``unit`` is ``USD``
when costs are ``cost_usd``, else ``relative`` (the file's own unit: a replay's handoff cost is
given in it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cloisterctl.errors import ReplayError
from cloisterctl.models.tiers import TIERS
from cloisterctl.tasks.records import Task, task_from_json

USD, RELATIVE = "USD", "relative"


@dataclass(frozen=True)
class ReplayTask:
    task: Task
    resolved: Mapping[str, tuple[bool, ...]]  # per tier: one outcome per recorded trial
    cost: Mapping[str, tuple[float, ...]]  # per tier, paired with ``resolved``: USD, or the file's unit
    imputed: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.task.id

    def success_rate(self, tier: str) -> float:
        """The expected outcome of an attempt on ``tier`` (the mean over its trials)."""
        trials = self.resolved[tier]
        return sum(trials) / len(trials)

    def mean_cost(self, tier: str) -> float:
        costs = self.cost[tier]
        return sum(costs) / len(costs)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _tier_map(data: Mapping[str, Any], key: str, where: str, *, nullable: bool = False) -> dict[str, float | None]:
    raw = data.get(key)
    if not isinstance(raw, dict):
        raise ReplayError(f"{where}: {key!r} must be an object of tier -> number")
    found: dict[str, float | None] = {}
    for tier in TIERS:
        value: Any = raw.get(tier)
        if value is None and nullable:
            found[tier] = None
        elif not _number(value):
            raise ReplayError(f"{where}: {key}.{tier} must be a number >= 0 (got {value!r})")
        else:
            found[tier] = float(value)
    return found


def _trials(data: Mapping[str, Any], key: str, where: str, check: Any, what: str) -> dict[str, list[Any]]:
    """Per tier, the list of trials of ``key`` (a single value is one trial)."""
    raw = data.get(key)
    if not isinstance(raw, dict):
        raise ReplayError(f"{where}: needs {key!r}: {{tier: {what} or a list of them}} for {', '.join(TIERS)}")
    found: dict[str, list[Any]] = {}
    for tier in TIERS:
        value = raw.get(tier)
        values = value if isinstance(value, list) else [value]
        if not values or not all(check(v) for v in values):
            raise ReplayError(f"{where}: {key}.{tier} must be {what} or a non-empty list of them (got {value!r})")
        found[tier] = values
    return found


def _fields(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise ReplayError(f"{where}: needs a text 'id'")
    for key in ("title", "description", "difficulty"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ReplayError(f"{where}: {key!r} must be text")
    labels = data.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise ReplayError(f"{where}: 'labels' must be a list of texts")
    minutes = data.get("estimated_minutes")
    if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0):
        raise ReplayError(f"{where}: 'estimated_minutes' must be a whole number >= 0")
    fields: dict[str, Any] = {
        "id": data["id"],
        "title": data.get("title") or "",
        "description": data.get("description") or "",
        "labels": labels or [],
        "status": "open",
    }
    if minutes is not None:
        fields["estimated_minutes"] = minutes
    if data.get("difficulty"):
        fields["metadata"] = {"difficulty": data["difficulty"]}
    return fields


def _outcome(value: Any) -> bool:
    return not isinstance(value, float) and value in (0, 1)


class _Turns:
    """The running mean turns per tier over the lines read so far (imputation sees no later line)."""

    def __init__(self) -> None:
        self.total = dict.fromkeys(TIERS, 0.0)
        self.count = dict.fromkeys(TIERS, 0)

    def cost(self, turns: Mapping[str, float | None], prices: Mapping[str, float], where: str) -> dict[str, float]:
        own = [v for v in turns.values() if v is not None]
        found: dict[str, float] = {}
        for tier in TIERS:
            value = turns[tier]
            if value is None:
                if self.count[tier]:
                    value = self.total[tier] / self.count[tier]
                elif own:
                    value = sum(own) / len(own)
                else:
                    raise ReplayError(f"{where}: no tier's turns are recorded here or on an earlier line")
            found[tier] = value * prices[tier]
        for tier in TIERS:
            recorded = turns[tier]
            if recorded is not None:
                self.total[tier] += recorded
                self.count[tier] += 1
        return found


def _costs(data: Mapping[str, Any], where: str, turns: _Turns) -> tuple[dict[str, list[float]], tuple[str, ...], str]:
    """Per tier, the trials' costs; the tiers whose turns were imputed; the file's unit."""
    if "cost_usd" in data:
        costs = _trials(data, "cost_usd", where, _number, "a number >= 0")
        return {t: [float(v) for v in values] for t, values in costs.items()}, (), USD
    if "relative_price" not in data:
        raise ReplayError(f"{where}: needs 'cost_usd' ({{tier: USD}}) or 'relative_price' (with or without 'turns')")
    prices = {t: float(v or 0) for t, v in _tier_map(data, "relative_price", where).items()}
    if "turns" not in data:
        return {t: [p] for t, p in prices.items()}, (), RELATIVE
    counted = _tier_map(data, "turns", where, nullable=True)
    imputed = tuple(tier for tier in TIERS if counted[tier] is None)
    return {t: [c] for t, c in turns.cost(counted, prices, where).items()}, imputed, RELATIVE


def _paired(resolved: dict[str, list[Any]], costs: dict[str, list[float]], where: str) -> dict[str, tuple[float, ...]]:
    paired: dict[str, tuple[float, ...]] = {}
    for tier in TIERS:
        trials, spent = len(resolved[tier]), costs[tier]
        if len(spent) == 1:
            spent = spent * trials
        elif len(spent) != trials:
            raise ReplayError(f"{where}: {tier} has {trials} outcomes but {len(spent)} costs (one per trial, or one)")
        paired[tier] = tuple(spent)
    return paired


def parse_file(lines: Iterable[str], name: str) -> tuple[list[ReplayTask], str]:
    """The tasks of a replay file, in order (blank lines skipped), and its cost unit; a ReplayError
    names ``name:LINE`` for the first bad line."""
    tasks: list[ReplayTask] = []
    units: set[str] = set()
    seen: set[str] = set()
    turns = _Turns()
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        where = f"{name}:{number}"
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ReplayError(f"{where}: not JSON ({exc})") from None
        except RecursionError:  # nested past Python's recursion limit: bad input, not a bug
            raise ReplayError(f"{where}: JSON nested too deeply") from None
        if not isinstance(data, dict):
            raise ReplayError(f"{where}: not a JSON object")
        fields = _fields(data, where)
        if fields["id"] in seen:
            raise ReplayError(f"{where}: id {fields['id']!r} appears twice")
        seen.add(fields["id"])
        resolved = _trials(data, "resolved", where, _outcome, "0 or 1")
        costs, imputed, unit = _costs(data, where, turns)
        if units and unit not in units:
            raise ReplayError(f"{where}: costs in {unit} where earlier lines are in {units.pop()} (one unit a file)")
        units.add(unit)
        outcomes = {t: tuple(bool(v) for v in values) for t, values in resolved.items()}
        tasks.append(ReplayTask(task_from_json(fields), outcomes, _paired(resolved, costs, where), imputed))
    if not tasks:
        raise ReplayError(f"{name}: no tasks")
    return tasks, units.pop()


def parse_lines(lines: Iterable[str], name: str) -> list[ReplayTask]:
    """The tasks of a replay file (``parse_file`` without the unit)."""
    return parse_file(lines, name)[0]


def from_attempts(
    tasks: Iterable[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
    default_costs: Mapping[str, float],
) -> tuple[list[ReplayTask], int]:
    """Replay tasks from a ledger's own history (``routing.outcome_report.by_task`` rows; ``records``:
    the fold's task records, for title, labels and issue type), and how many tier outcomes were
    inferred rather than seen. A tier that was tried is resolved if its attempt succeeded; one that
    was not is resolved when a cheaper tier resolved the task, not when a dearer one failed, and
    otherwise counted unresolved (inferred). Its cost: the task's recorded attempt on it, else the
    mean recorded attempt on that tier, else ``default_costs``."""
    rows = [row for row in tasks if row["attempts"] and row["ending"] not in ("open",)]
    costs: dict[str, list[float]] = {tier: [] for tier in TIERS}
    for row in rows:
        for attempt in row["attempts"]:
            if attempt["cost_usd"] and attempt["tier"] in costs:
                costs[attempt["tier"]].append(float(attempt["cost_usd"]))
    mean = {t: (sum(v) / len(v) if v else float(default_costs[t])) for t, v in costs.items()}
    found: list[ReplayTask] = []
    inferred = 0
    for row in rows:
        seen: dict[str, bool] = {}
        cost = dict(mean)
        for attempt in row["attempts"]:
            if attempt["tier"] in seen or attempt["tier"] not in cost:
                continue
            seen[attempt["tier"]] = bool(attempt["success"])
            if attempt["cost_usd"]:
                cost[attempt["tier"]] = float(attempt["cost_usd"])
        resolved = {}
        for rank, tier in enumerate(TIERS):
            if tier in seen:
                resolved[tier] = seen[tier]
                continue
            inferred += 1
            resolved[tier] = any(seen.get(lower) for lower in TIERS[:rank])
        record = records.get(row["task"], {})
        fields = {
            "id": row["task"],
            "title": record.get("title") or "",
            "labels": list(record.get("labels") or []),
            "issue_type": record.get("issue_type") or "task",
            "status": "open",
        }
        trials = {tier: (resolved[tier],) for tier in TIERS}
        found.append(ReplayTask(task_from_json(fields), trials, {tier: (cost[tier],) for tier in TIERS}))
    return found, inferred
