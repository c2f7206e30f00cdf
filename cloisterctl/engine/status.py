"""`cloisterctl status`: the workspace's current view, read-only (no file is created or changed)."""

from __future__ import annotations

from typing import Any

from cloisterctl.core.projection import cost_summary, front_matter
from cloisterctl.engine.context import Context
from cloisterctl.errors import StateFileError
from cloisterctl.state import statefile


def status_view(ctx: Context) -> dict[str, Any]:
    ws, state = ctx.ws, ctx.state
    in_flight = state.handoff_in_flight
    try:
        doc = statefile.read(ws.state_md) if ws.state_md.exists() else None
        state_md = "missing" if doc is None else ("in sync" if doc.cloister == front_matter(state) else "stale")
    except StateFileError as exc:
        state_md = f"invalid: {exc}"
    return {
        "workspace": str(ws.root),
        "agent": state.agent,
        "status": state.status,
        "tier": state.tier,
        "model": state.model,
        "session": state.session,
        "role": state.role,
        "complexity": state.complexity,
        "task": state.task,
        "cost": cost_summary(state),
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
        "problems": ctx.problems,
        "untrusted_config": list(ctx.config.untrusted),
        "duplicate_decisions": dict(sorted(state.duplicates.items())),
    }
