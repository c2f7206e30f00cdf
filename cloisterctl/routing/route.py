"""Routing a task: tasks from beads, complexity overrides from `.cloister/`, decisions into the ledger.

``routing.complexity`` and ``routing.router`` decide; this module fetches their inputs and records their
outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.errors import CloisterError
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event, make_event
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.models.prices import Price
from cloisterctl.models.tiers import LEVELS, TIERS
from cloisterctl.routing.adaptive import add_counts
from cloisterctl.routing.complexity import Classification, classify, explicit_level
from cloisterctl.routing.detection import detection_rate
from cloisterctl.routing.economics import warm_context
from cloisterctl.routing.history import read_history
from cloisterctl.routing.overrides import read_overrides, write_override
from cloisterctl.routing.router import Route, Running, route
from cloisterctl.tasks.beads import BdTracker, Tracker, open_tracker
from cloisterctl.tasks.records import Task
from cloisterctl.workspace.layout import Workspace


def tracker_for(ws: Workspace, config: Config) -> Tracker:
    beads = config.beads
    return open_tracker(ws.root, beads.command, beads.jsonl, beads.use_cli, ws.cache_dir / "tasks.cache")


def children_count(tracker: Tracker, task_id: str) -> int:
    return sum(1 for task in tracker.all_tasks().values() if task.parent == task_id)


def classify_task(ws: Workspace, config: Config, tracker: Tracker, task_id: str) -> Classification:
    task = tracker.show(task_id)
    return classify(
        task,
        config.complexity,
        child_count=children_count(tracker, task.id),
        override=read_overrides(ws).get(task.id),
    )


def classify_all(ws: Workspace, config: Config, tracker: Tracker) -> list[tuple[Task, Classification]]:
    overrides = read_overrides(ws)
    tasks = tracker.all_tasks()
    counts: dict[str, int] = {}
    for task in tasks.values():
        if task.parent:
            counts[task.parent] = counts.get(task.parent, 0) + 1
    return [
        (task, classify(task, config.complexity, child_count=counts.get(task.id, 0), override=overrides.get(task.id)))
        for task in sorted(tasks.values(), key=lambda t: t.id)
    ]


def running_agent(state: WorkspaceState, config: Config) -> Running | None:
    """The agent's live session, with its warm context size (from the latest cost checkpoint)."""
    if not state.session or not state.tier or not state.model:
        return None
    context = warm_context(state.session_context.get(state.session), config.whatif_defaults.context_tokens)
    return Running(state.tier, state.model, context)


def route_task(ctx: Context, tracker: Tracker, task_id: str, role: str | None) -> Route:
    classification = classify_task(ctx.ws, ctx.config, tracker, task_id)
    task = tracker.show(task_id)
    running = running_agent(ctx.state, ctx.config) if ctx.ws.is_initialised else None
    counts = routing_counts(ctx) if ctx.config.routing.policy == "adaptive" else None
    detection = detection_rate(ctx.state) if counts is not None else None
    return route(
        task,
        classification,
        ctx.config,
        ctx.config.prices,
        role=role,
        running=running,
        counts=counts,
        detection=detection,
    )


def routing_counts(ctx: Context) -> dict[str, list[int]]:
    """The outcome counts per level/tier the adaptive policy learns from: this workspace's (kept
    by the fold, read in O(1)) plus the user-level history file when ``routing.history`` names one."""
    own = ctx.state.outcomes.counts if ctx.ws.is_initialised else {}
    history = ctx.config.routing.history
    return add_counts(own, read_history(Path(history).expanduser()) if history else {})


def route_event(result: Route, agent: str, ctx: Context) -> Event:
    return make_event(
        "route",
        agent,
        ctx.clock(),
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
        policy=result.policy,
        **({"adaptive": result.adaptive} if result.adaptive else {}),
    )


def record_route(ctx: Context, result: Route) -> None:
    ctx.ws.require_initialised()
    ctx.preflight()
    ctx.append([route_event(result, ctx.state.agent, ctx)])
    ctx.publish()


def set_complexity(ctx: Context, tracker: Tracker, task_id: str, level: str) -> dict[str, Any]:
    """Write an explicit level: bd metadata plus the label mirror, or the override file without bd."""
    if level not in LEVELS:
        raise CloisterError(f"{level!r} is not a complexity level ({', '.join(LEVELS)})")
    task = tracker.show(task_id)
    if ctx.ws.is_initialised:
        ctx.preflight()
    notes: list[str] = []
    if isinstance(tracker, BdTracker):
        stale = [
            label for label in task.labels if label.lower().startswith("complexity:") and label != f"complexity:{level}"
        ]
        tracker.write_metadata(task.id, "complexity", level, add_labels=[f"complexity:{level}"], remove_labels=stale)
        via = "bd"
    else:
        if ctx.ws.is_initialised and ctx.held is not None:
            # The override file is tracked: written now, it would stop the operation (or be left
            # behind by the next checkout). Nothing is written; the user sets it once git is done.
            raise CloisterError(
                f"{ctx.held}: complexity set writes .cloister/complexity.yaml, a tracked file; "
                "nothing written, run it again once the operation finishes"
            )
        write_override(ctx.ws, task.id, level, ctx.config.lock_timeout)
        via = "override"
        winner, _ignored = explicit_level(task, None)
        if winner is not None and winner[0] != level:
            notes.append(f"the task's own {winner[1]} says {winner[0]}, which takes precedence over the override file")
    if ctx.ws.is_initialised:
        ctx.append([make_event("complexity", ctx.state.agent, ctx.clock(), task=task.id, level=level, via=via)])
        ctx.publish()
    return {"task": task.id, "level": level, "via": via, "notes": notes}


def price_of(config: Config, model_or_tier: str) -> Price:
    """The price of a model id, or of the model a tier name is configured to use."""
    model = model_or_tier
    if model_or_tier.strip().lower() in TIERS:
        model = config.tier_model(model_or_tier.strip().lower())
    price = config.prices.lookup(model)
    if price is None:
        raise CloisterError(f"no price for model {model!r}; add it under cost.prices in the config")
    return price
