"""`cloisterctl status`: the workspace's current view, read-only (no file is created or changed).

The agent's status comes from the ledger and, for whether its process runs, from the runtime now
(``runtime``: ``alive``, ``stopped``, ``dead`` or ``unknown`` without tmux): a session the ledger
calls current whose tmux session is gone is ``dead`` here at once, before a tick records it.
``stuck`` is the stuck rule's own reading (the one the statusline shows): minutes left until it
fires. ``waiting`` says why nothing is committed now (a git operation in progress, a detached
HEAD): commands record locally meanwhile, and the view folds that too.

Only this worktree's agent is asked of the runtime. Every other agent the ledger tells of (a merged
branch's, another worktree's, a teammate's clone's: ``ledger.ownership``) is a *teammate*
(``teammates``): shown with where it runs ("on clone C", "in worktree W") and what it last
reported there, never as dead (its process is not on this machine to ask, or not this worktree's
to judge), and nothing it recorded is carried out here.
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

WAITING = "recording locally; the next tick after it finishes commits"


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


# What only bookkeeping moves: STATE.md shows it as of cloisterctl's last commit (ledger.bookkeeping).
_BOOKKEPT = ("cost", "budgets")


def _sync_of(written: dict[str, Any], now: dict[str, Any]) -> str:
    """STATE.md's block against the state now: in sync, behind only by bookkeeping, or stale."""
    if written == now:
        return "in sync"
    if {k: v for k, v in written.items() if k not in _BOOKKEPT} == {k: v for k, v in now.items() if k not in _BOOKKEPT}:
        return "in sync (cost as of cloisterctl's last commit)"
    return "stale"


def where(entry: dict[str, Any], clone: str | None) -> str:
    """Where a teammate runs, as `status` and `agents` say it."""
    if not entry.get("clone"):
        return "elsewhere (a line with no origin)"
    if entry["clone"] != clone:
        return f"on clone {entry['clone']}" + (f" ({entry['worktree']})" if entry.get("worktree") else "")
    return f"in worktree {entry.get('worktree')}"


def reported(entry: dict[str, Any]) -> str:
    """What a teammate last reported, as its own clone recorded it."""
    if entry.get("exited"):
        return f"exited ({entry['exited']})"
    if (entry.get("handoff") or {}).get("step") not in (None, "completed", "failed"):
        return "handoff-in-progress"
    return "working" if entry.get("session") else ("routed" if entry.get("tier") else "new")


def teammates(state: WorkspaceState) -> list[dict[str, Any]]:
    """Every other agent the ledger tells of, with where it runs and what it last reported."""
    rows = []
    for key, entry in sorted(state.teammates.items(), key=lambda item: (item[1].get("ts") or "", item[0])):
        rows.append(
            {
                "key": key,
                "agent": entry.get("agent"),
                "clone": entry.get("clone"),
                "worktree": entry.get("worktree"),
                "where": where(entry, state.clone),
                "reported": reported(entry),
                "tier": entry.get("tier"),
                "model": entry.get("model"),
                "task": entry.get("task"),
                "session": entry.get("session"),
                "handoff": entry.get("handoff"),
                "since": entry.get("ts"),
            }
        )
    return rows


def status_view(ctx: Context) -> dict[str, Any]:
    from cloisterctl.integrations.merge_driver import repair

    repaired = repair(ctx)  # conflict markers a merge left in the cloister block
    ws, state = ctx.ws, ctx.state
    in_flight = state.handoff_in_flight
    alive, runtime = runtime_of(ctx, state)
    try:
        doc = statefile.read(ws.state_md) if ws.state_md.exists() else None
        state_md = "missing" if doc is None else _sync_of(doc.cloister, front_matter(state))
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
        "waiting": None if ctx.held is None else f"{ctx.held}: {WAITING}",
        "future_events": len(future),
        "problems": [*repaired, *ctx.problems, *ctx.config.warnings],
        "untrusted_config": list(ctx.config.untrusted),
        "untrusted_config_where": ctx.config.untrusted_where,
        "duplicate_decisions": dict(sorted(state.duplicates.items())),
        "clone": state.clone,
        "worktree": state.worktree,
        "teammates": teammates(state),
    }
