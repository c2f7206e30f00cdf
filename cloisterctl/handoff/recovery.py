"""A handoff that fails after the old agent was stopped: its previous session is started again.

The agent is never left with nothing. When the new session cannot start, dies, or shows no sign
of work in time, and the old one had been stopped for it, the new process (if it still runs) is
stopped and the previous session starts again on its previous model: with ``runtime.resume``
(Claude Code's ``claude --resume SESSION``: the same conversation, its cache still warm), or, for
another CLI with no resume configured, with ``runtime.spawn`` in a new session. Either way it is
told, in its first message (``.cloister/handoffs/ID-restart.md``), that the handoff failed and
where the packet its successor was to get is.

The failure is recorded ``begin`` (with the session to restart, fixed then) before this side
effect and ``done`` after it, like every handoff step, so a crash in between restarts once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.handoff.capture import in_dir
from cloisterctl.handoff.steps import check_command, exit_file, spawn
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event, make_event
from cloisterctl.ledger.fold import Handoff, WorkspaceState
from cloisterctl.runtime.launch import describe_exit, read_exit_file

CHECK_SECONDS = 1.0  # how long a restarted session is watched for dying at once


def needs_restart(handoff: Handoff) -> bool:
    """Whether the old agent was stopped for this handoff (and had a session to go back to)."""
    stopped = handoff.steps.get("stopped", {})
    return "done" in stopped and stopped.get("how") != "not running" and bool(handoff.fields.get("from_session"))


def failure_fields(ctx: Context, handoff: Handoff, step: str, reason: str) -> dict[str, Any]:
    """What the ``failed`` record keeps: the reason, how the new process ended, the session to restart."""
    fields: dict[str, Any] = {"reason": f"{step}: {reason}"}
    spawned = handoff.steps.get("spawned", {})
    if spawned.get("session") and step in ("spawned", "completed"):
        ended = read_exit_file(exit_file(ctx, str(spawned["session"])))
        if ended is not None:
            fields.update(exit_code=ended["exit_code"], output=ended["output"])
    if needs_restart(handoff):
        resumes = bool(ctx.config.runtime.resume)
        fields["restart_session"] = str(handoff.fields["from_session"]) if resumes else str(uuid.uuid4())
    return fields


def _restart_prompt(ctx: Context, handoff: Handoff, reason: str) -> str:
    packet = in_dir(ctx.ws.handoffs_dir, f"{handoff.id}.md")
    task = handoff.fields.get("task") or "the work"
    text = (
        f"cloisterctl: the handoff of this work to {handoff.fields.get('to_model')} failed ({reason}), so you "
        f"continue on {handoff.fields.get('from_model')}. Read STATE.md, then continue {task}"
        + (f"; the brief your successor was to get is {packet.relative_to(ctx.ws.root)}." if packet.exists() else ".")
    )
    path = in_dir(ctx.ws.handoffs_dir, f"{handoff.id}-restart.md")
    ctx.ws.handoffs_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text + "\n")
    return str(path)


def restart_previous(ctx: Context, state: WorkspaceState, handoff: Handoff) -> dict[str, Any]:
    """Start the previous session again; returns what to add to the ``done`` record."""
    begun = handoff.steps.get("failed", {})
    session = begun.get("restart_session")
    model, tier = handoff.fields.get("from_model"), handoff.from_tier
    if not (session and model and tier):
        return {"restarted": False}
    name = ctx.tmux_name(state.agent)
    runtime = ctx.config.runtime
    try:
        if ctx.tmux.alive(name):
            if ctx.tmux.environment(name, "CLOISTER_SESSION_ID") == session:
                return {"restarted": True, "note": "the previous session was running again already"}
            ctx.tmux.stop(name, runtime.exit_text, runtime.stop_timeout_seconds)  # the successor that hung
        template = runtime.resume or runtime.spawn
        check_command(ctx, template, "runtime.resume" if runtime.resume else "runtime.spawn")
        prompt = _restart_prompt(ctx, handoff, str(begun.get("reason", "")))
        spawn(ctx, state.agent, str(session), str(model), str(tier), ctx.ws.root / prompt, None, template=template)
    except CloisterError as exc:
        return {"restarted": False, "note": f"the previous session could not be started again: {exc}"}
    deadline = time.monotonic() + CHECK_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if not ctx.tmux.alive(name):
            ended = describe_exit(read_exit_file(exit_file(ctx, str(session))))
            return {"restarted": False, "note": f"the previous session was started again but exited ({ended})"}
    how = "resumed with runtime.resume" if runtime.resume else "restarted with runtime.spawn in a new session"
    return {"restarted": True, "note": f"the previous session ({tier}) was {how}"}


def restart_events(ctx: Context, handoff: Handoff, details: dict[str, Any]) -> list[Event]:
    """The session records of a failure: the new session ended, the previous one running again."""
    agent = ctx.state.agent
    events: list[Event] = []
    spawned = handoff.steps.get("spawned", {})
    restarting = details.get("restarted") and handoff.steps.get("failed", {}).get("restart_session")
    if "done" in spawned and spawned.get("session"):
        new = str(spawned["session"])
        if restarting:  # superseded: the previous session runs again
            events.append(make_event("session", agent, ctx.clock(), session=new, source="spawn", event="end"))
        elif not ctx.tmux.alive(ctx.tmux_name(agent)):  # nothing to go back to: the agent is dead
            events.append(make_event("exit", agent, ctx.clock(), session=new, how="exited after a failed handoff"))
    if restarting:
        session = str(handoff.steps["failed"]["restart_session"])
        events.append(
            make_event(
                "session",
                agent,
                ctx.clock(),
                session=session,
                model=handoff.fields.get("from_model"),
                tier=handoff.from_tier,
                task=handoff.fields.get("task"),
                tmux=ctx.tmux_name(agent),
                source="spawn",
                event="start",
                resumed=session == handoff.fields.get("from_session"),
            )
        )
    return events
