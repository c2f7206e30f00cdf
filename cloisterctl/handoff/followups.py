"""Carrying out, on the running agent, a decision that changes no tier: once, recorded by a ``brief`` event.

- The agent moves on to its next task in the session it keeps (a ``continue`` decision, or a tier
  change that was skipped because it did not pay, or rejected): the next task's brief is written
  (``.cloister/handoffs/next-ID.json`` and ``.md``, a ``next_task`` packet) and the agent is told
  in its terminal where to read it.
- Nothing is ready (``idle``): the agent is told to update STATE.md and stop.
- The cost-bleed guard with ``bleed_action: stop``: the agent's session is stopped, as `cloisterctl
  stop` does it.

The fold keeps the decision pending until its ``brief`` event is written, so a tick that dies in
between carries it out on the next tick (at worst a message is typed twice). What is typed is
cloisterctl's own text and a task id reduced to safe characters, never a task's title.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.handoff.capture import write_packet
from cloisterctl.handoff.packet import HandoffInfo
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event, format_ts, make_event
from cloisterctl.ledger.fold import Decision, WorkspaceState


def _safe(text: str | None) -> str:
    """A task id as it may be typed into an agent's terminal: no spaces, quotes or control keys."""
    return re.sub(r"[^\w.:/#-]", "_", text or "?")[:80]


def _alive(ctx: Context, name: str) -> bool:
    try:
        return ctx.tmux.alive(name)
    except ToolError:
        return False


def _next_task_brief(ctx: Context, state: WorkspaceState, decision: Decision, name: str) -> dict[str, Any]:
    task = str(decision.fields["next_task"])
    if not _alive(ctx, name) or state.tier is None:
        return {"sent": False, "note": f"the agent is not running; its next spawn starts on {task}"}
    now = ctx.clock()
    info = HandoffInfo(
        handoff_id=f"next-{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}",
        agent=state.agent,
        workspace=str(ctx.ws.root),
        trigger=decision.trigger,
        reason=decision.reason,
        from_model=state.model,
        from_tier=state.tier,
        to_model=state.model or ctx.config.tier_model(state.tier),
        to_tier=state.tier,
        to_role=state.role,
        handoff_count=state.handoff_count,
        created_at=format_ts(now),
        mode="next_task",
        previous_task=decision.task,
    )
    packet = write_packet(ctx, state, info, task, None, [])
    text = (
        f"cloisterctl: {_safe(decision.task)} is closed. Your next task is {_safe(task)}; its brief is in "
        f"{packet['prompt']}. Read it, then start on {_safe(task)}."
    )
    ctx.tmux.send_text(name, text)
    return {"sent": True, "packet": packet["packet"]}


def _idle_notice(ctx: Context, decision: Decision, name: str) -> dict[str, Any]:
    if not _alive(ctx, name):
        return {"sent": False, "note": "the agent is not running"}
    text = (
        f"cloisterctl: {_safe(decision.task)} is closed and no task is ready. Update STATE.md with where "
        "things stand, then stop and wait; there is nothing more to do for now."
    )
    ctx.tmux.send_text(name, text)
    return {"sent": True}


def _stop(ctx: Context, name: str) -> dict[str, Any]:
    runtime = ctx.config.runtime
    return {"how": ctx.tmux.stop(name, runtime.exit_text, runtime.stop_timeout_seconds)}


def carry_out(ctx: Context) -> dict[str, Any] | None:
    """Carry out the pending decision, if there is one; returns what was done (for tick's report)."""
    state = ctx.state
    decision = state.decisions.get(state.brief_pending or "")
    if decision is None or state.handoff_in_flight is not None:
        return None
    name = ctx.tmux_name(state.agent)
    action = {"idle": "idle", "stop": "stop"}.get(decision.kind, "next_task")
    try:
        if action == "stop":
            details = _stop(ctx, name)
        elif action == "idle":
            details = _idle_notice(ctx, decision, name)
        else:
            details = _next_task_brief(ctx, state, decision, name)
    except CloisterError as exc:  # the agent went away meanwhile, tmux failed: said, not retried forever
        details = {"sent": False, "note": str(exc)}
    now = ctx.clock()
    task = decision.fields.get("next_task") if action == "next_task" else decision.task
    events: list[Event] = [
        make_event("brief", state.agent, now, decision=decision.id, action=action, task=task, **details)
    ]
    if action == "stop" and state.session:
        events.append(
            make_event(
                "session", state.agent, now, session=state.session, source="spawn", event="end", how=details["how"]
            )
        )
    ctx.append(events)
    return {"decision": decision.id, "action": action, "task": task, **details}
