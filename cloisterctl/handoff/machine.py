"""The handoff state machine: move an agent to a new session on another model, kill-and-spawn.

``requested -> save_requested -> idle -> captured -> stopped -> spawned -> completed`` (or ``failed``).

Every step is written to the ledger as ``begin`` before its side effect and ``done`` after it, so a
process killed at any point leaves a record the next run resumes from: each side effect is made
safe to repeat (``handoff_steps``). There is never a second live session for one agent, never a
spawn without a packet, and a running session never changes model: the new model always gets a
new session.

A failure before the stop step leaves the old agent as it was. A failure after it restarts the
previous session (``handoff.recovery``): the failure is then recorded ``begin`` and ``done`` around
the restart, like a step.

``advance`` makes as much progress as it can. With ``wait=False`` (tick) it returns as soon as a
step has to wait for the agent; the next tick carries on. With ``wait=True`` (the ``handoff``
command) it polls until the handoff ends or a deadline passes. The caller holds the tick lock and
publishes STATE.md afterwards.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.errors import HandoffError, ToolError
from cloisterctl.handoff import recovery
from cloisterctl.handoff.steps import STEP_FUNCTIONS
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event, make_event
from cloisterctl.ledger.fold import HANDOFF_STEPS, Handoff, WorkspaceState
from cloisterctl.workspace import git

NEXT_STEP = dict(zip(HANDOFF_STEPS, HANDOFF_STEPS[1:], strict=False))


def start_events(
    state: WorkspaceState,
    config: Config,
    now: datetime,
    *,
    decision: str | None,
    mark_applied: bool = False,
    trigger: str,
    reason: str,
    to_tier: str,
    to_model: str | None = None,
    to_role: str | None = None,
    task: str | None = None,
    complexity: dict[str, Any] | None = None,
) -> tuple[str, list[Event]]:
    """The events that record a new handoff as requested (and its decision as applied)."""
    if state.handoff_in_flight is not None:
        raise HandoffError(f"handoff {state.handoff_in_flight.id} is still in progress; one at a time")
    handoff_id = f"{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    events = [
        make_event(
            "handoff",
            state.agent,
            now,
            handoff=handoff_id,
            step="requested",
            status="done",
            decision=decision,
            trigger=trigger,
            reason=reason,
            from_tier=state.tier,
            from_model=state.model,
            from_session=state.session,
            to_tier=to_tier,
            to_model=to_model or config.tier_model(to_tier),
            to_role=to_role,
            task=task or state.task,
            from_task=state.task,
            complexity=complexity,
        )
    ]
    if decision and mark_applied:
        events.append(
            make_event("decision_status", state.agent, now, decision=decision, status="applied", handoff=handoff_id)
        )
    return handoff_id, events


def _record(ctx: Context, handoff_id: str, step: str, phase: str, **fields: Any) -> None:
    event = make_event("handoff", ctx.state.agent, ctx.clock(), handoff=handoff_id, step=step, status=phase, **fields)
    ctx.append([event])
    ctx.maybe_crash(step, phase)


def _begin_fields(ctx: Context, handoff: Handoff, step: str) -> dict[str, Any]:
    """What must be fixed before a side effect, so a resumed step repeats it exactly."""
    if step == "captured":
        return {"uncommitted": git.state(ctx.ws.root).dirty}
    if step == "spawned":
        return {
            "session": str(uuid.uuid4()),
            "model": handoff.fields.get("to_model") or ctx.config.tier_model(str(handoff.to_tier)),
        }
    return {}


def _done_events(ctx: Context, handoff: Handoff, step: str, details: dict[str, Any]) -> list[Event]:
    agent, now = ctx.state.agent, ctx.clock()
    events = [make_event("handoff", agent, now, handoff=handoff.id, step=step, status="done", **details)]
    if step == "spawned":
        session_fields = {key: details[key] for key in ("session", "model", "tier", "role", "task", "tmux")}
        events.append(make_event("session", agent, now, **session_fields, source="spawn", event="start"))
    if step == "stopped" and handoff.fields.get("from_session"):
        events.append(
            make_event(
                "session",
                agent,
                now,
                session=handoff.fields["from_session"],
                source="spawn",
                event="end",
                how=details["how"],
            )
        )
    return events


def advance(ctx: Context, handoff_id: str, *, wait: bool, poll: float = 0.2, deadline: float | None = None) -> Handoff:
    """Carry the handoff forward as far as it can go now (or, with ``wait``, until it ends)."""
    while True:
        handoff = ctx.state.handoffs.get(handoff_id)
        if handoff is None:
            raise HandoffError(f"unknown handoff {handoff_id!r}")
        if not handoff.in_flight:
            return handoff
        if handoff.pending == "failed":
            return _finish_failure(ctx, handoff)  # a crash between a failure and its restart
        step = NEXT_STEP[handoff.step]
        if handoff.pending != step:
            _record(ctx, handoff_id, step, "begin", **_begin_fields(ctx, handoff, step))
            handoff = ctx.state.handoffs[handoff_id]
        try:
            details = STEP_FUNCTIONS[step](ctx, ctx.state, handoff)
        except (HandoffError, ToolError) as exc:
            return _fail(ctx, ctx.state.handoffs[handoff_id], step, str(exc))
        if details is None:
            if not wait or (deadline is not None and time.monotonic() > deadline):
                return handoff
            time.sleep(poll)
            ctx.refresh()  # the agent's hooks and transcript tell when it is idle or working
            continue
        ctx.maybe_crash(step, "effect")
        ctx.append(_done_events(ctx, handoff, step, details))
        ctx.maybe_crash(step, "done")


def _fail(ctx: Context, handoff: Handoff, step: str, reason: str) -> Handoff:
    """Record the failure; when the old agent had been stopped for this handoff, restart it."""
    fields = recovery.failure_fields(ctx, handoff, step, reason)
    if "restart_session" not in fields:
        _record(ctx, handoff.id, "failed", "done", **fields)  # the old agent was never touched
        return ctx.state.handoffs[handoff.id]
    _record(ctx, handoff.id, "failed", "begin", **fields)
    return _finish_failure(ctx, ctx.state.handoffs[handoff.id])


def _finish_failure(ctx: Context, handoff: Handoff) -> Handoff:
    begun = handoff.steps.get("failed", {})
    details = recovery.restart_previous(ctx, ctx.state, handoff)
    ctx.maybe_crash("failed", "effect")
    reason = str(begun.get("reason", "failed"))
    if details.get("note"):
        reason += f"; {details['note']}"
    done = make_event(
        "handoff",
        ctx.state.agent,
        ctx.clock(),
        handoff=handoff.id,
        step="failed",
        status="done",
        reason=reason,
        restarted=bool(details.get("restarted")),
    )
    ctx.append([done])
    ctx.append(recovery.restart_events(ctx, ctx.state.handoffs[handoff.id], details))
    return ctx.state.handoffs[handoff.id]
