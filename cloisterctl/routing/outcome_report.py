"""The `outcomes` report: every attempt in a ledger, as ``ledger.attempts`` derives them. Pure.

The report folds the whole ledger once (it is a report, not a hot path) with the same observer the
fold uses, so its figures are those the adaptive router reads from the cached counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cloisterctl.ledger.events import Event, ordered
from cloisterctl.ledger.fold import WorkspaceState, apply, copy_state

PUBLIC = ("n", "task", "agent", "tier", "model", "level", "role", "start", "end", "sessions", "ending", "trigger")


def derive(events: Iterable[Event], start: str | WorkspaceState) -> tuple[list[dict[str, Any]], WorkspaceState]:
    """(every attempt of every agent, oldest first; the folded state). An attempt still running is
    ``open``, or ``abandoned`` when its session stopped and nothing closed its task. ``start``: the
    agent, or the empty state of the workspace (``ledger.identity.blank``: each agent's attempts
    are then its own, ``ledger.attempts``)."""
    state = WorkspaceState(agent=start) if isinstance(start, str) else copy_state(start)
    found: dict[int, dict[str, Any]] = {}

    def collect(attempts: list[dict[str, Any]]) -> None:
        for attempt in attempts:
            found[attempt["n"]] = {**found.get(attempt["n"], {}), **attempt}

    apply(state, ordered(events), collect)
    running = [state.outcomes.current, *state.outcomes.others.values()]
    for current in running:
        if current is None:
            continue
        found[current["n"]] = {**found.get(current["n"], {}), **current}
        if current.get("stopped"):
            found[current["n"]].update(ending="abandoned", end=current["stopped"])
    return [_public(found[n]) for n in sorted(found)], state


def _public(attempt: dict[str, Any]) -> dict[str, Any]:
    row = {key: attempt.get(key) for key in PUBLIC}
    row["cost_usd"] = attempt.get("cost_usd")
    row["verified"] = attempt.get("verified")
    row["success"] = bool(attempt.get("success")) if row["ending"] in ("closed", "reopened") else False
    if attempt.get("reopened_at"):
        row["reopened_at"] = attempt["reopened_at"]
    return row


def since(attempts: list[dict[str, Any]], start: str | None) -> list[dict[str, Any]]:
    """The attempts that began on or after ``start`` (a ``YYYY-MM-DD`` or a timestamp)."""
    if not start:
        return attempts
    return [a for a in attempts if str(a["start"]) >= start]


def by_task(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task: its attempts in order and how it ended overall."""
    tasks: dict[str, list[dict[str, Any]]] = {}
    for attempt in attempts:
        tasks.setdefault(str(attempt["task"]), []).append(attempt)
    return [
        {
            "task": task,
            "attempts": rows,
            "tiers": [row["tier"] for row in rows],
            "ending": rows[-1]["ending"],
            "success": any(row["success"] for row in rows),
            "cost_usd": round(sum(row["cost_usd"] or 0 for row in rows), 6),
        }
        for task, rows in tasks.items()
    ]
