"""The side effect of each handoff step, made safe to repeat after a crash.

A repeated save request is harmless; idleness is re-detected; a WIP commit is found by its
trailer; a stopped agent stays stopped; a spawn is recognised by the session id it put in the tmux
environment. Each function returns the details for the step's ``done`` record, or None when it has
to wait for the agent; a ``HandoffError`` or ``ToolError`` fails the handoff.

Whatever would keep the new agent from starting is checked before the old one is stopped: the
prompt must fit in one argument, and the spawn command must resolve to an executable on the PATH
the agent will get (``runtime.env.PATH``, else the PATH tick runs with: the schedule's).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl.cost.transcripts.locate import session_transcript
from cloisterctl.errors import HandoffError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.handoff.capture import body_digest, in_dir, write_packet
from cloisterctl.handoff.packet import HandoffInfo
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import format_ts, parse_ts
from cloisterctl.ledger.fold import Handoff, WorkspaceState
from cloisterctl.runtime.launch import (
    MAX_ARGUMENT_BYTES,
    agent_path,
    describe_exit,
    fill_template,
    read_exit_file,
    resolve_program,
)
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import slug

TRAILER = "Cloister-Handoff"
StepResult = dict[str, Any] | None  # details for the done record, or None: not yet, wait


def _save_requested(ctx: Context, state: WorkspaceState, handoff: Handoff) -> StepResult:
    name = ctx.tmux_name(state.agent)
    if not ctx.tmux.alive(name):
        return {"sent": False, "note": "the agent is not running; nothing to ask"}
    text = ctx.config.runtime.save_request
    request = in_dir(ctx.ws.local_dir, f"save-request-{handoff.id}.txt")
    atomic_write_text(request, text + "\n")
    before = body_digest(ctx.ws)  # taken first: a quick agent may update STATE.md as the text lands
    ctx.tmux.send_text(name, text)
    return {"sent": True, "tmux": name, "state_body": before}


def _idle(ctx: Context, state: WorkspaceState, handoff: Handoff) -> StepResult:
    saved = handoff.steps.get("save_requested", {})
    if not saved.get("sent"):
        return {"how": "agent not running"}
    asked = parse_ts(str(saved["done"]))
    now = ctx.clock()
    session = handoff.fields.get("from_session") or state.session
    stop_signal = state.idle_signals.get(str(session or ""))
    if stop_signal and parse_ts(stop_signal) >= asked:
        return {"how": "the agent stopped (Stop hook) after the request"}
    before = saved.get("state_body")
    if before is not None and body_digest(ctx.ws) not in (before, None):
        return {"how": "STATE.md was updated after the request"}
    idle_seconds = ctx.config.handoffs.idle_seconds
    transcript = session_transcript(ctx.ws.root, session)
    last_growth = asked
    if transcript is not None:
        last_growth = max(asked, datetime.fromtimestamp(transcript.stat().st_mtime, asked.tzinfo))
    if transcript is not None and (now - last_growth).total_seconds() >= idle_seconds:
        return {"how": f"no transcript growth for {idle_seconds:g}s"}
    timeout = ctx.config.handoffs.save_timeout_seconds
    if (now - asked).total_seconds() >= timeout:
        return {"how": f"timeout: no sign of idleness within {timeout:g}s; proceeding"}
    return None


def check_command(ctx: Context, template: Sequence[str], key: str = "runtime.spawn") -> str:
    """The program ``template`` runs, resolved on the agent's PATH; a HandoffError naming the key and
    the PATH when it is not an executable there (so nothing is stopped for an agent that cannot start)."""
    values = {"workspace": str(ctx.ws.root), "agent": ctx.state.agent}
    program = fill_template(list(template[:1]), values)[0] if template else ""
    path = agent_path(ctx.config.runtime.env)
    found = resolve_program(program, path, ctx.ws.root)
    if found is None:
        shown = path if len(path) <= 300 else path[:297] + "..."
        raise HandoffError(
            f"{key}[0] {program!r} is not an executable on the agent's PATH ({shown}); set runtime.env.PATH "
            "in the config (or PATH in the schedule), or give the program's full path"
        )
    return found


def session_file(ctx: Context, kind: str, session: str) -> Path:
    """``.cloister/local/KIND-SESSION.json``, the session id reduced to characters that make one
    file name (``layout.slug``): a merged ledger line may name any session, ``../..`` included."""
    return in_dir(ctx.ws.local_dir, f"{kind}-{slug(session)}.json")


def exit_file(ctx: Context, session: str) -> Path:
    """Where the launcher records how the session's process ended."""
    return session_file(ctx, "exit", session)


def _captured(ctx: Context, state: WorkspaceState, handoff: Handoff) -> StepResult:
    check_command(ctx, ctx.config.runtime.spawn)
    begun = handoff.steps.get("captured", {})
    uncommitted = list(begun.get("uncommitted", git.state(ctx.ws.root).dirty))
    protected = _protect(ctx, handoff, uncommitted)
    info = HandoffInfo(
        handoff_id=handoff.id,
        agent=state.agent,
        workspace=str(ctx.ws.root),
        trigger=str(handoff.fields.get("trigger")),
        reason=str(handoff.fields.get("reason")),
        from_model=handoff.fields.get("from_model"),
        from_tier=handoff.from_tier,
        to_model=str(handoff.fields.get("to_model")),
        to_tier=str(handoff.to_tier),
        to_role=handoff.fields.get("to_role"),
        handoff_count=state.handoff_count + 1,
        created_at=format_ts(ctx.clock()),
        previous_task=handoff.fields.get("from_task"),
    )
    details = write_packet(ctx, state, info, handoff.fields.get("task"), protected, uncommitted)
    prompt_bytes = (ctx.ws.root / details["prompt"]).stat().st_size
    if prompt_bytes > MAX_ARGUMENT_BYTES:
        # Checked before the stop step: an agent is never stopped for a successor that cannot start.
        raise HandoffError(
            f"{details['prompt']}: the prompt is {prompt_bytes:,} bytes, more than one program argument may "
            f"hold ({MAX_ARGUMENT_BYTES:,}); lower handoffs.packet.budget_tokens"
        )
    return details


def _protect(ctx: Context, handoff: Handoff, uncommitted: list[str]) -> dict[str, Any] | None:
    """Save uncommitted work before the agent is stopped (once, even if this step is resumed)."""
    method = ctx.config.handoffs.protect_uncommitted
    if method == "none" or not uncommitted:
        return None
    root = ctx.ws.root
    marker = f"{TRAILER}: {handoff.id}"
    if method == "stash":
        existing = [line for line in git.stash_list(root) if marker in line]
        if existing:
            return {"method": "stash", "ref": existing[0].split(":", 1)[0]}
        ref = git.stash(root, f"cloister: work in progress before handoff ({marker})")
        return {"method": "stash", "ref": ref} if ref else None
    found = git.find_commit_with_trailer(root, marker)
    if found:
        return {"method": "wip_commit", "ref": found}
    tick = ctx.config.tick
    sha = git.wip_commit(
        root,
        f"cloister: work in progress before handoff {handoff.id}\n\n{marker}",
        tick.author_name,
        tick.author_email,
    )
    return {"method": "wip_commit", "ref": sha} if sha else None


def _stopped(ctx: Context, state: WorkspaceState, handoff: Handoff) -> StepResult:
    check_command(ctx, ctx.config.runtime.spawn)  # again: the config may have changed since capture
    name = ctx.tmux_name(state.agent)
    how = ctx.tmux.stop(
        name,
        ctx.config.runtime.exit_text,
        ctx.config.runtime.stop_timeout_seconds,
    )
    if handoff.fields.get("from_session"):
        exit_file(ctx, str(handoff.fields["from_session"])).unlink(missing_ok=True)  # stopped on purpose
    return {"how": how, "tmux": name}


def _spawned(ctx: Context, state: WorkspaceState, handoff: Handoff) -> StepResult:
    begun = handoff.steps.get("spawned", {})
    session = str(begun["session"])
    name = ctx.tmux_name(state.agent)
    if ctx.tmux.alive(name):
        running = ctx.tmux.environment(name, "CLOISTER_SESSION_ID")
        if running != session:
            raise HandoffError(
                f"tmux session {name} is running another session ({running}); refusing to start a second agent"
            )
    else:
        prompt_path = in_dir(ctx.ws.handoffs_dir, f"{handoff.id}.md")
        if not prompt_path.exists():
            raise HandoffError(f"{prompt_path}: the handoff packet is missing; never spawning without one")
        spawn(ctx, state.agent, session, str(begun["model"]), str(handoff.to_tier), prompt_path, handoff.id)
    return {
        "session": session,
        "model": begun["model"],
        "tier": handoff.to_tier,
        "role": handoff.fields.get("to_role"),
        "task": handoff.fields.get("task"),
        "tmux": name,
    }


def spawn(
    ctx: Context,
    agent: str,
    session: str,
    model: str,
    tier: str,
    prompt_file: Path,
    handoff: str | None,
    *,
    template: Sequence[str] | None = None,
    tmux_name: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """Start an agent session in tmux from the configured argv template (or ``template``: the resume
        one), through a launch file (``runtime.launch``): the prompt never rides tmux's own command line,
        and how the process ends is recorded in ``exit_file``. The agent gets the PATH it was checked
        against. ``tmux_name``: another tmux session than the agent's own, and ``extra_env`` what else its
    environment says (a reviewer's: ``handoff.review``)."""
    values = spawn_values(ctx, agent, session, model, tier, prompt_file)
    launch_file = session_file(ctx, "launch", session)
    argv = list(ctx.config.runtime.spawn if template is None else template)
    ended = exit_file(ctx, session)
    ended.unlink(missing_ok=True)
    path = agent_path(ctx.config.runtime.env)
    spec = {"argv": argv, "values": values, "exit_file": str(ended), "env": {"PATH": path}}
    atomic_write_text(launch_file, json.dumps(spec))
    env = {
        **ctx.config.runtime.env,
        "PATH": path,
        "CLOISTER_AGENT_ID": agent,
        "CLOISTER_WORKSPACE": str(ctx.ws.root),
        "CLOISTER_SESSION_ID": session,
        **({"CLOISTER_HANDOFF": handoff} if handoff else {}),
        **(extra_env or {}),
    }
    launcher = [sys.executable, "-m", "cloisterctl.runtime.launch", str(launch_file)]
    ctx.tmux.start(tmux_name or ctx.tmux_name(agent), launcher, ctx.ws.root, env)


def spawn_values(ctx: Context, agent: str, session: str, model: str, tier: str, prompt_file: Path) -> dict[str, str]:
    """The values of the spawn template's placeholders; the prompt must fit in one argument."""
    prompt = prompt_file.read_text(encoding="utf-8")
    if len(prompt.encode("utf-8")) > MAX_ARGUMENT_BYTES:
        raise HandoffError(
            f"{prompt_file}: the prompt is {len(prompt.encode()):,} bytes, more than one program argument "
            f"may hold ({MAX_ARGUMENT_BYTES:,}); lower handoffs.packet.budget_tokens"
        )
    return {
        "model": model,
        "tier": tier,
        "session_id": session,
        "prompt": prompt,
        "prompt_file": str(prompt_file),
        "workspace": str(ctx.ws.root),
        "agent": agent,
    }


def _completed(ctx: Context, state: WorkspaceState, handoff: Handoff) -> StepResult:
    spawned = handoff.steps.get("spawned", {})
    session = str(spawned.get("session"))
    name = ctx.tmux_name(state.agent)
    transcript = session_transcript(ctx.ws.root, session)
    seen = [
        ts
        for ts in (state.activity.get("agent"), state.activity.get("transcript"))
        if ts and ts >= str(spawned.get("done"))
    ]
    if transcript is not None or (seen and state.session == session):
        return {"how": "the new session is working" + (f" ({transcript.name})" if transcript else "")}
    if not ctx.tmux.alive(name):
        ended = describe_exit(read_exit_file(exit_file(ctx, session)))
        raise HandoffError(f"the new agent process exited right after starting ({ended}); check runtime.spawn")
    waited = (ctx.clock() - parse_ts(str(spawned["done"]))).total_seconds()
    timeout = ctx.config.handoffs.spawn_timeout_seconds
    if waited >= timeout:
        raise HandoffError(f"no activity from the new session within {timeout:g}s")
    return None


STEP_FUNCTIONS: dict[str, Callable[[Context, WorkspaceState, Handoff], StepResult]] = {
    "save_requested": _save_requested,
    "idle": _idle,
    "captured": _captured,
    "stopped": _stopped,
    "spawned": _spawned,
    "completed": _completed,
}
