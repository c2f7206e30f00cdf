"""The routing edge: tasks from beads, complexity overrides from `.cloister/`, decisions into the ledger.

`complexity.py` and `router.py` decide; this module fetches their inputs and records their outputs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import ledger
from cloisterctl.beads import BdTracker, Tracker, open_tracker
from cloisterctl.complexity import LEVELS, Classification, classify, explicit_level
from cloisterctl.config import Config
from cloisterctl.errors import CloisterError
from cloisterctl.fsio import atomic_write_text
from cloisterctl.locking import locked
from cloisterctl.pricing import PriceTable, price_table
from cloisterctl.router import Route, Running, route
from cloisterctl.state import WorkspaceState
from cloisterctl.store import record, snapshot
from cloisterctl.workspace import Workspace

OVERRIDES_HEADER = (
    "# Complexity levels set with `cloisterctl complexity set` where `bd` is not available.\n"
    "# task id: level (trivial, simple, medium, complex, expert). A task's own metadata.complexity\n"
    "# and complexity:LEVEL label take precedence over this file.\n"
)


def overrides_path(ws: Workspace) -> Path:
    return ws.cloister_dir / "complexity.yaml"


def tracker_for(ws: Workspace, config: Config) -> Tracker:
    beads = config.get("beads")
    return open_tracker(ws.root, beads["command"], beads["jsonl"], beads["use_cli"], ws.local_dir / "tasks.cache")


def prices_for(config: Config) -> PriceTable:
    return price_table(config.get("cost", "prices"))


def read_overrides(ws: Workspace) -> dict[str, str]:
    path = overrides_path(ws)
    if not path.exists():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise CloisterError(f".cloister/complexity.yaml{where}: invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CloisterError(".cloister/complexity.yaml: must map task ids to levels")
    return {str(task): str(level) for task, level in data.items()}


def write_override(ws: Workspace, task_id: str, level: str, timeout: float) -> None:
    import yaml

    with locked(ws.lock_path, timeout, what="the workspace"):
        current = read_overrides(ws)
        current[task_id] = level
        body = yaml.safe_dump(dict(sorted(current.items())), default_flow_style=False, sort_keys=False)
        atomic_write_text(overrides_path(ws), OVERRIDES_HEADER + body)


def children_count(tracker: Tracker, task_id: str) -> int:
    return sum(1 for task in tracker.all_tasks().values() if task.parent == task_id)


def classify_task(ws: Workspace, config: Config, tracker: Tracker, task_id: str) -> Classification:
    task = tracker.show(task_id)
    return classify(
        task,
        config.get("complexity"),
        child_count=children_count(tracker, task.id),
        override=read_overrides(ws).get(task.id),
    )


def classify_all(ws: Workspace, config: Config, tracker: Tracker) -> list[tuple[Any, Classification]]:
    overrides = read_overrides(ws)
    tasks = tracker.all_tasks()
    counts: dict[str, int] = {}
    for task in tasks.values():
        if task.parent:
            counts[task.parent] = counts.get(task.parent, 0) + 1
    settings = config.get("complexity")
    return [
        (task, classify(task, settings, child_count=counts.get(task.id, 0), override=overrides.get(task.id)))
        for task in sorted(tasks.values(), key=lambda t: t.id)
    ]


def running_agent(state: WorkspaceState, config: Config) -> Running | None:
    """The agent's live session, with its warm context size (from the latest cost checkpoint)."""
    if not state.session or not state.tier or not state.model:
        return None
    checkpoint = state.cost_checkpoints.get(state.session) or {}
    context = checkpoint.get("context_tokens")
    if not isinstance(context, int) or context <= 0:
        context = int(config.get("cost", "default_context_tokens"))
    return Running(state.tier, state.model, context)


def route_task(ws: Workspace, config: Config, tracker: Tracker, task_id: str, role: str | None) -> Route:
    classification = classify_task(ws, config, tracker, task_id)
    task = tracker.show(task_id)
    state = snapshot(ws).state if ws.is_initialised else None
    running = running_agent(state, config) if state is not None else None
    return route(task, classification, config, prices_for(config), role=role, running=running)


def route_event(result: Route, agent: str, now: datetime) -> ledger.Event:
    return ledger.make_event(
        "route",
        agent,
        now,
        task=result.task,
        tier=result.tier,
        model=result.model,
        rule=result.rule,
        role=result.role,
        reasons=list(result.reasons),
        complexity={
            "level": result.complexity.level,
            "source": result.complexity.source,
            "confidence": result.complexity.confidence,
        },
        **({"economics": result.economics} if result.economics else {}),
        **({"hint": result.hint} if result.hint else {}),
    )


def record_route(ws: Workspace, config: Config, result: Route, now: datetime) -> None:
    ws.require_initialised()
    agent = snapshot(ws).state.agent
    record(ws, [route_event(result, agent, now)], timeout=config.lock_timeout)


def set_complexity(
    ws: Workspace, config: Config, tracker: Tracker, task_id: str, level: str, now: datetime
) -> dict[str, Any]:
    """Write an explicit level: bd metadata plus the label mirror, or the override file without bd."""
    if level not in LEVELS:
        raise CloisterError(f"{level!r} is not a complexity level ({', '.join(LEVELS)})")
    task = tracker.show(task_id)
    notes: list[str] = []
    if isinstance(tracker, BdTracker):
        stale = [
            label for label in task.labels if label.lower().startswith("complexity:") and label != f"complexity:{level}"
        ]
        tracker.write_metadata(task.id, "complexity", level, add_labels=[f"complexity:{level}"], remove_labels=stale)
        via = "bd"
    else:
        write_override(ws, task.id, level, config.lock_timeout)
        via = "override"
        winner, _ignored = explicit_level(task, None)
        if winner is not None and winner[0] != level:
            notes.append(f"the task's own {winner[1]} says {winner[0]}, which takes precedence over the override file")
    if ws.is_initialised:
        agent = snapshot(ws).state.agent
        record(
            ws,
            [ledger.make_event("complexity", agent, now, task=task.id, level=level, via=via)],
            timeout=config.lock_timeout,
        )
    return {"task": task.id, "level": level, "via": via, "notes": notes}


def price_of(config: Config, model_or_tier: str) -> Any:
    """The price of a model id, or of the model a tier name is configured to use."""
    prices = prices_for(config)
    model = model_or_tier
    if model_or_tier.strip().lower() in ("opus", "sonnet", "haiku"):
        model = config.tier_model(model_or_tier.strip().lower())
    price = prices.lookup(model)
    if price is None:
        raise CloisterError(f"no price for model {model!r}; add it under cost.prices in the config")
    return price
