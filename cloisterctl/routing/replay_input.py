"""Replay input: JSON lines of tasks with known outcomes per tier. Pure (text in, records out).

One object a line: ``id`` (text), optional ``title``, ``description``, ``labels`` (texts),
``estimated_minutes`` (a whole number), ``difficulty`` (a level or a time band such as
``"<15 min fix"``; read as ``metadata.difficulty``), ``resolved`` ({tier: 0|1} for every tier),
and the cost of an attempt per tier: ``cost_usd`` ({tier: USD}), or ``turns`` ({tier: count})
with ``relative_price`` ({tier: price per turn}), the cost then being turns x price. Other keys
(``repo``...) are ignored. A tier whose ``turns`` are missing or null costs the mean turns of that
tier over the file's lines that have them (``imputed`` names such tiers): the attempt happened,
its length was not recorded. Any other bad line is an error naming ``FILE:LINE``.
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


@dataclass(frozen=True)
class ReplayTask:
    task: Task
    resolved: Mapping[str, bool]
    cost: Mapping[str, float]  # per tier: USD, or turns x relative price
    imputed: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.task.id


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


def _resolved(data: Mapping[str, Any], where: str) -> dict[str, bool]:
    raw = data.get("resolved")
    if not isinstance(raw, dict):
        raise ReplayError(f"{where}: needs 'resolved': {{tier: 0|1}} for {', '.join(TIERS)}")
    found = {}
    for tier in TIERS:
        value = raw.get(tier)
        if value not in (0, 1) or value is None:
            raise ReplayError(f"{where}: resolved.{tier} must be 0 or 1 (got {value!r})")
        found[tier] = bool(value)
    return found


def parse_lines(lines: Iterable[str], name: str) -> list[ReplayTask]:
    """The tasks of a replay file, in order (blank lines skipped); a ReplayError names
    ``name:LINE`` for the first bad line."""
    parsed: list[tuple[dict[str, Any], dict[str, bool], dict[str, float | None], dict[str, float] | None]] = []
    seen: set[str] = set()
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
        resolved = _resolved(data, where)
        if "cost_usd" in data:
            parsed.append((fields, resolved, _tier_map(data, "cost_usd", where), None))
        elif "turns" in data and "relative_price" in data:
            prices = {t: float(v or 0) for t, v in _tier_map(data, "relative_price", where).items()}
            parsed.append((fields, resolved, _tier_map(data, "turns", where, nullable=True), prices))
        else:
            raise ReplayError(f"{where}: needs 'cost_usd' ({{tier: USD}}) or 'turns' with 'relative_price'")
    if not parsed:
        raise ReplayError(f"{name}: no tasks")
    return _costed(parsed)


def _costed(
    parsed: list[tuple[dict[str, Any], dict[str, bool], dict[str, float | None], dict[str, float] | None]],
) -> list[ReplayTask]:
    known: dict[str, list[float]] = {tier: [] for tier in TIERS}
    for _, _, amounts, prices in parsed:
        if prices is not None:
            for tier, turns in amounts.items():
                if turns is not None:
                    known[tier].append(turns)
    mean = {tier: (sum(values) / len(values) if values else 0.0) for tier, values in known.items()}
    tasks = []
    for fields, resolved, amounts, prices in parsed:
        imputed = tuple(tier for tier in TIERS if amounts[tier] is None)
        if prices is None:
            cost = {tier: float(amounts[tier] or 0) for tier in TIERS}
        else:
            cost = {
                tier: (mean[tier] if amounts[tier] is None else float(amounts[tier] or 0)) * prices[tier]
                for tier in TIERS
            }
        tasks.append(ReplayTask(task_from_json(fields), resolved, cost, imputed))
    return tasks


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
        found.append(ReplayTask(task_from_json(fields), resolved, cost))
    return found, inferred
