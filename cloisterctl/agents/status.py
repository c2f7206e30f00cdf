"""`cloisterctl status`: the workspace's current view, read-only (no file is created or changed).

The agent's status comes from the ledger and, for whether its process runs, from the runtime now
(``runtime``: ``alive``, ``stopped``, ``dead`` or ``unknown`` without tmux): a session the ledger
calls current whose tmux session is gone is ``dead`` here at once, before a tick records it.
``stuck`` is the stuck rule's own reading (the one the statusline shows): minutes left until it
fires.
"""

from __future__ import annotations

from typing import Any

from cloisterctl.errors import StateFileError, ToolError
from cloisterctl.ledger import statefile
from cloisterctl.ledger.agent_state import stuck_reading
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.fold import AWAITING_APPROVAL, DEAD, HANDOFF, WORKING, WorkspaceState
from cloisterctl.ledger.projection import cost_summary, front_matter, unpriced_models
from cloisterctl.triggers.budgets import statuses


def runtime_of(ctx: Context, state: WorkspaceState) -> tuple[bool | None, str]:
    """Whether the agent's tmux session runs, and what that means: alive, stopped, dead, unknown."""
    try:
        alive = ctx.tmux.alive(ctx.tmux_name(state.agent))
    except ToolError:
        return None, "unknown"
    if alive:
        return True, "alive"
    return False, "dead" if state.session else "stopped"


def live_status(state: WorkspaceState, runtime: str) -> str:
    """The ledger's status, corrected by the runtime: a current session with no process is dead,
    and one recorded as exited whose process runs after all is working."""
    if runtime == "dead" and state.status not in (HANDOFF, AWAITING_APPROVAL):
        return DEAD
    if runtime == "alive" and state.status == DEAD:
        return WORKING
    return state.status


def _verification(state: WorkspaceState) -> dict[str, Any] | None:
    found = state.outcomes.verifications.get(state.task or "")
    if found is None:
        return None
    return {key: found.get(key) for key in ("result", "tier", "attempt", "ts", "note")}


def status_view(ctx: Context) -> dict[str, Any]:
    from cloisterctl.integrations.merge_driver import repair

    repaired = repair(ctx)  # conflict markers a merge left in the cloister block
    ws, state = ctx.ws, ctx.state
    in_flight = state.handoff_in_flight
    alive, runtime = runtime_of(ctx, state)
    try:
        doc = statefile.read(ws.state_md) if ws.state_md.exists() else None
        state_md = "missing" if doc is None else ("in sync" if doc.cloister == front_matter(state) else "stale")
    except StateFileError as exc:
        state_md = f"invalid: {exc}"
    future = [problem for problem in ctx.problems if "in the future (ignored until then)" in problem]
    now = ctx.clock()
    reading = stuck_reading(state, ctx.config, alive)
    return {
        "workspace": str(ws.root),
        "agent": state.agent,
        "status": live_status(state, runtime),
        "runtime": runtime,
        "alive": alive,
        "idle_reason": state.idle["reason"] if state.idle else None,
        "tier": state.tier,
        "model": state.model,
        "session": state.session,
        "role": state.role,
        "complexity": state.complexity,
        "task": state.task,
        # The latest verification of a close of the task (testruns.verification): its result and evidence.
        "verification": _verification(state),
        "cost": cost_summary(state),
        # Models counted at $0 for want of a price: the cost and every budget figure are lower bounds.
        "unpriced_models": unpriced_models(state),
        # Every budget set, as it stands now (STATE.md keeps the warnings as the last tick recorded them).
        "budgets": [status.as_dict() for status in statuses(state, ctx.config.budgets, now)],
        # The stuck rule's own reading (``ledger.agent_state.stuck_reading``): below zero, it fires.
        "stuck": None
        if reading is None
        else {
            "quiet_since": reading.quiet_since,
            "threshold_minutes": reading.threshold_minutes,
            "minutes_left": round(reading.minutes_left(now), 1),
        },
        "handoffs": state.handoff_count,
        "handoff_in_flight": (
            None
            if in_flight is None
            else {"id": in_flight.id, "step": in_flight.step, "from": in_flight.from_tier, "to": in_flight.to_tier}
        ),
        "pending_approvals": [{"id": d.id, "decision": d.summary()} for d in state.pending_approvals],
        "last_decision": state.last_decision,
        "last_activity": state.last_activity,
        "flags": dict(sorted(state.flags.items())),
        "state_md": state_md,
        "future_events": len(future),
        "problems": [*repaired, *ctx.problems, *ctx.config.warnings],
        "untrusted_config": list(ctx.config.untrusted),
        "untrusted_config_where": ctx.config.untrusted_where,
        "duplicate_decisions": dict(sorted(state.duplicates.items())),
    }
