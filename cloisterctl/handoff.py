"""The handoff state machine: move an agent to a new session on another model, kill-and-spawn.

``requested -> save_requested -> idle -> captured -> stopped -> spawned -> completed`` (or ``failed``).

Every step is written to the ledger as ``begin`` before its side effect and ``done`` after it, so a
process killed at any point leaves a record the next run resumes from: each side effect is made
safe to repeat (a save request may be sent twice; a WIP commit is found by its trailer; a stopped
agent stays stopped; a spawn is recognised by the session id it put in the tmux environment).
There is never a second live session for one agent, never a spawn without a packet, and a running
session never changes model: the new model always gets a new session.

``advance`` makes as much progress as it can. With ``wait=False`` (tick) it returns as soon as a
step has to wait for the agent; the next tick carries on. With ``wait=True`` (the ``handoff``
command) it polls until the handoff ends or a timeout says how it ended.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import git, ledger, statefile
from cloisterctl.config import Config
from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.fsio import atomic_write_text
from cloisterctl.ledger import Event, format_ts, parse_ts
from cloisterctl.runtime import Tmux, fill_template, session_name
from cloisterctl.state import HANDOFF_STEPS, Handoff, WorkspaceState, cost_summary
from cloisterctl.store import append, refresh_state_md, snapshot
from cloisterctl.workspace import Workspace

NEXT_STEP = dict(zip(HANDOFF_STEPS, HANDOFF_STEPS[1:], strict=False))
KILL_ENV = "CLOISTER_TEST_KILL_AFTER"  # "step:phase": crash on purpose, to test resuming
TRAILER = "Cloister-Handoff"


class HandoffError(CloisterError):
    pass


@dataclass
class Engine:
    ws: Workspace
    config: Config
    tmux: Tmux
    clock: Callable[[], datetime]

    @property
    def agent_env(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.config.get("runtime", "env").items()}

    def tmux_name(self, agent: str) -> str:
        return session_name(str(self.config.get("runtime", "session_prefix")), agent, self.ws.root)

    def record(self, state: WorkspaceState, handoff: str, step: str, phase: str, **fields: Any) -> None:
        event = ledger.make_event(
            "handoff", state.agent, self.clock(), handoff=handoff, step=step, status=phase, **fields
        )
        self.write([event], step, phase)

    def write(self, events: list[Event], step: str, phase: str) -> None:
        append(self.ws, events, timeout=self.config.lock_timeout)
        self.maybe_crash(step, phase)

    @staticmethod
    def maybe_crash(step: str, phase: str) -> None:
        if os.environ.get(KILL_ENV) == f"{step}:{phase}":
            os.kill(os.getpid(), signal.SIGKILL)


# ----------------------------------------------------------------------------------------- start


def start(
    engine: Engine,
    state: WorkspaceState,
    *,
    decision: str | None,
    mark_applied: bool = False,
    trigger: str,
    reason: str,
    to_tier: str,
    to_model: str | None = None,
    to_role: str | None = None,
    task: str | None = None,
) -> str:
    """Record a new handoff as requested; the caller then advances it."""
    if state.handoff_in_flight is not None:
        raise HandoffError(f"handoff {state.handoff_in_flight.id} is still in progress; one at a time")
    handoff_id = f"{engine.clock().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    model = to_model or engine.config.tier_model(to_tier)
    events = [
        ledger.make_event(
            "handoff",
            state.agent,
            engine.clock(),
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
            to_model=model,
            to_role=to_role,
            task=task or state.task,
        )
    ]
    if decision and mark_applied:
        events.append(
            ledger.make_event(
                "decision_status", state.agent, engine.clock(), decision=decision, status="applied", handoff=handoff_id
            )
        )
    engine.write(events, "requested", "done")
    return handoff_id


# ----------------------------------------------------------------------------------------- steps

StepResult = dict[str, Any] | None  # details for the done record, or None: not yet, wait


def _transcript(engine: Engine, session: str | None) -> Path | None:
    if not session:
        return None
    from cloisterctl.usage import claude_config_dirs, project_dir_name

    name = project_dir_name(engine.ws.root)
    for directory in claude_config_dirs():
        candidate = directory / "projects" / name / f"{session}.jsonl"
        if candidate.exists():
            return candidate
    return None


def _save_requested(engine: Engine, state: WorkspaceState, handoff: Handoff) -> StepResult:
    name = engine.tmux_name(state.agent)
    if not engine.tmux.alive(name):
        return {"sent": False, "note": "the agent is not running; nothing to ask"}
    text = str(engine.config.get("runtime", "save_request"))
    request = engine.ws.local_dir / f"save-request-{handoff.id}.txt"
    atomic_write_text(request, text + "\n")
    engine.tmux.send_text(name, text)
    return {"sent": True, "tmux": name, "state_body": _body_digest(engine.ws)}


def _body_digest(ws: Workspace) -> str | None:
    """A digest of STATE.md outside its cloister block: the agent's part, which tick never writes."""
    import hashlib

    try:
        doc = statefile.read(ws.state_md)
    except CloisterError:
        return None
    outside = doc.text if doc.block is None else doc.text[: doc.block[0]] + doc.text[doc.block[1] :]
    return hashlib.sha256(outside.encode()).hexdigest()[:16]


def _idle(engine: Engine, state: WorkspaceState, handoff: Handoff) -> StepResult:
    saved = handoff.steps.get("save_requested", {})
    if not saved.get("sent"):
        return {"how": "agent not running"}
    asked = parse_ts(str(saved["done"]))
    now = engine.clock()
    session = handoff.fields.get("from_session") or state.session
    stop_signal = state.idle_signals.get(str(session or ""))
    if stop_signal and parse_ts(stop_signal) >= asked:
        return {"how": "the agent stopped (Stop hook) after the request"}
    before = saved.get("state_body")
    if before is not None and _body_digest(engine.ws) not in (before, None):
        return {"how": "STATE.md was updated after the request"}
    idle_seconds = float(engine.config.get("handoffs", "idle_seconds"))
    transcript = _transcript(engine, session)
    last_growth = asked
    if transcript is not None:
        last_growth = max(asked, datetime.fromtimestamp(transcript.stat().st_mtime, asked.tzinfo))
    if transcript is not None and (now - last_growth).total_seconds() >= idle_seconds:
        return {"how": f"no transcript growth for {idle_seconds:g}s"}
    timeout = float(engine.config.get("handoffs", "save_timeout_seconds"))
    if (now - asked).total_seconds() >= timeout:
        return {"how": f"timeout: no sign of idleness within {timeout:g}s; proceeding"}
    return None


def _captured(engine: Engine, state: WorkspaceState, handoff: Handoff) -> StepResult:
    from cloisterctl.packet import HandoffInfo

    begun = handoff.steps.get("captured", {})
    uncommitted = list(begun.get("uncommitted", git.state(engine.ws.root).dirty))
    protected = _protect(engine, handoff, uncommitted)
    info = HandoffInfo(
        handoff_id=handoff.id,
        agent=state.agent,
        workspace=str(engine.ws.root),
        trigger=str(handoff.fields.get("trigger")),
        reason=str(handoff.fields.get("reason")),
        from_model=handoff.fields.get("from_model"),
        from_tier=handoff.from_tier,
        to_model=str(handoff.fields.get("to_model")),
        to_tier=str(handoff.to_tier),
        to_role=handoff.fields.get("to_role"),
        handoff_count=state.handoff_count + 1,
        created_at=format_ts(engine.clock()),
    )
    return write_packet(engine, state, info, handoff.fields.get("task"), protected, uncommitted)


def write_packet(
    engine: Engine,
    state: WorkspaceState,
    info: Any,
    task_id: str | None,
    protected: dict[str, Any] | None,
    uncommitted: list[str],
) -> dict[str, Any]:
    """Capture the context and write ``.cloister/handoffs/ID.json`` and ``ID.md``; returns a summary."""
    from cloisterctl.packet import build, parse_sections

    ws, config = engine.ws, engine.config
    git_state = git.state(ws.root).as_dict()
    git_state["uncommitted_files"] = uncommitted
    tasks, classification = _task_context(engine, task_id)
    packet = build(
        info,
        task_id=task_id,
        tasks=tasks,
        classification=classification,
        sections=parse_sections(_state_body(ws), _template_placeholders()),
        git=git_state,
        cost=cost_summary(state),
        protected=protected,
        budget_tokens=int(config.get("handoffs", "packet", "budget_tokens")),
    )
    ws.handoffs_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ws.handoffs_dir / f"{info.handoff_id}.json", packet.json_text())
    atomic_write_text(ws.handoffs_dir / f"{info.handoff_id}.md", packet.prompt)
    details: dict[str, Any] = {
        "packet": f".cloister/handoffs/{info.handoff_id}.json",
        "prompt": f".cloister/handoffs/{info.handoff_id}.md",
        "token_estimate": packet.token_estimate,
        "trimmed": packet.trimmed,
        "protected": protected,
    }
    warn = int(config.get("handoffs", "packet", "warn_tokens"))
    if packet.token_estimate > warn:
        details["warning"] = f"packet is {packet.token_estimate} tokens, over the {warn}-token alert"
    return details


def _protect(engine: Engine, handoff: Handoff, uncommitted: list[str]) -> dict[str, Any] | None:
    """Save uncommitted work before the agent is stopped (once, even if this step is resumed)."""
    method = str(engine.config.get("handoffs", "protect_uncommitted"))
    if method == "none" or not uncommitted:
        return None
    root = engine.ws.root
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
    tick = engine.config.get("tick")
    sha = git.wip_commit(
        root,
        f"cloister: work in progress before handoff {handoff.id}\n\n{marker}",
        tick["author_name"],
        tick["author_email"],
    )
    return {"method": "wip_commit", "ref": sha} if sha else None


def _task_context(engine: Engine, task_id: str | None) -> tuple[dict[str, Any], Any]:
    """The task tree and the task's complexity, when a tracker is there; nothing otherwise."""
    from cloisterctl.routing import classify_task, tracker_for

    try:
        tracker = tracker_for(engine.ws, engine.config)
        tasks = tracker.all_tasks()
        found = classify_task(engine.ws, engine.config, tracker, task_id) if task_id and task_id in tasks else None
    except CloisterError:
        return {}, None
    return dict(tasks), found


def _state_body(ws: Workspace) -> str:
    """STATE.md's body, for the summary. python-frontmatter reads it (its stripped body is fine here)."""
    try:
        import frontmatter

        return str(frontmatter.loads(ws.state_md.read_text(encoding="utf-8")).content)
    except FileNotFoundError:
        return ""
    except Exception:  # noqa: BLE001 - broken front matter must not block a handoff; use what we can
        try:
            return statefile.read(ws.state_md).body
        except CloisterError:
            return ws.state_md.read_text(encoding="utf-8", errors="replace")


def _template_placeholders() -> frozenset[str]:
    from cloisterctl.init_workspace import render_state_template

    body = render_state_template("x").split("\n---\n", 1)[-1]
    return frozenset(line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#"))


def _stopped(engine: Engine, state: WorkspaceState, handoff: Handoff) -> StepResult:
    name = engine.tmux_name(state.agent)
    how = engine.tmux.stop(
        name,
        str(engine.config.get("runtime", "exit_text")),
        float(engine.config.get("runtime", "stop_timeout_seconds")),
    )
    return {"how": how, "tmux": name}


def _spawned(engine: Engine, state: WorkspaceState, handoff: Handoff) -> StepResult:
    begun = handoff.steps.get("spawned", {})
    session = str(begun["session"])
    name = engine.tmux_name(state.agent)
    if engine.tmux.alive(name):
        running = engine.tmux.environment(name, "CLOISTER_SESSION_ID")
        if running != session:
            raise HandoffError(
                f"tmux session {name} is running another session ({running}); refusing to start a second agent"
            )
    else:
        prompt_path = engine.ws.handoffs_dir / f"{handoff.id}.md"
        if not prompt_path.exists():
            raise HandoffError(f"{prompt_path}: the handoff packet is missing; never spawning without one")
        spawn(engine, state.agent, session, str(begun["model"]), str(handoff.to_tier), prompt_path, handoff.id)
    return {
        "session": session,
        "model": begun["model"],
        "tier": handoff.to_tier,
        "role": handoff.fields.get("to_role"),
        "task": handoff.fields.get("task"),
        "tmux": name,
    }


def spawn(
    engine: Engine, agent: str, session: str, model: str, tier: str, prompt_file: Path, handoff: str | None
) -> None:
    """Start an agent session in tmux from the configured argv template."""
    prompt = prompt_file.read_text(encoding="utf-8")
    argv = fill_template(
        engine.config.get("runtime", "spawn"),
        {
            "model": model,
            "tier": tier,
            "session_id": session,
            "prompt": prompt,
            "prompt_file": str(prompt_file),
            "workspace": str(engine.ws.root),
            "agent": agent,
        },
    )
    env = {
        **engine.agent_env,
        "CLOISTER_AGENT_ID": agent,
        "CLOISTER_WORKSPACE": str(engine.ws.root),
        "CLOISTER_SESSION_ID": session,
        **({"CLOISTER_HANDOFF": handoff} if handoff else {}),
    }
    engine.tmux.start(engine.tmux_name(agent), argv, engine.ws.root, env)


def _completed(engine: Engine, state: WorkspaceState, handoff: Handoff) -> StepResult:
    spawned = handoff.steps.get("spawned", {})
    session = str(spawned.get("session"))
    name = engine.tmux_name(state.agent)
    transcript = _transcript(engine, session)
    seen = [
        ts
        for ts in (state.activity.get("agent"), state.activity.get("transcript"))
        if ts and ts >= str(spawned.get("done"))
    ]
    if transcript is not None or (seen and state.session == session):
        return {"how": "the new session is working" + (f" ({transcript.name})" if transcript else "")}
    if not engine.tmux.alive(name):
        raise HandoffError("the new agent process exited right after starting; check runtime.spawn")
    waited = (engine.clock() - parse_ts(str(spawned["done"]))).total_seconds()
    timeout = float(engine.config.get("handoffs", "spawn_timeout_seconds"))
    if waited >= timeout:
        raise HandoffError(f"no activity from the new session within {timeout:g}s")
    return None


STEP_FUNCTIONS: dict[str, Callable[[Engine, WorkspaceState, Handoff], StepResult]] = {
    "save_requested": _save_requested,
    "idle": _idle,
    "captured": _captured,
    "stopped": _stopped,
    "spawned": _spawned,
    "completed": _completed,
}


def _begin_fields(engine: Engine, state: WorkspaceState, handoff: Handoff, step: str) -> dict[str, Any]:
    """What must be fixed before a side effect, so a resumed step repeats it exactly."""
    if step == "captured":
        return {"uncommitted": git.state(engine.ws.root).dirty}
    if step == "spawned":
        return {
            "session": str(uuid.uuid4()),
            "model": handoff.fields.get("to_model") or engine.config.tier_model(str(handoff.to_tier)),
        }
    return {}


def advance(
    engine: Engine, handoff_id: str, *, wait: bool, poll: float = 0.2, deadline: float | None = None
) -> Handoff:
    """Carry the handoff forward as far as it can go now (or, with ``wait``, until it ends);
    STATE.md shows where it got to."""
    try:
        return _advance(engine, handoff_id, wait=wait, poll=poll, deadline=deadline)
    finally:
        refresh_state_md(engine.ws, snapshot(engine.ws).state, timeout=engine.config.lock_timeout)


def _advance(engine: Engine, handoff_id: str, *, wait: bool, poll: float, deadline: float | None) -> Handoff:
    while True:
        state = snapshot(engine.ws).state
        handoff = state.handoffs.get(handoff_id)
        if handoff is None:
            raise HandoffError(f"unknown handoff {handoff_id!r}")
        if not handoff.in_flight:
            return handoff
        step = NEXT_STEP[handoff.step]
        if handoff.pending != step:
            engine.record(state, handoff_id, step, "begin", **_begin_fields(engine, state, handoff, step))
            state = snapshot(engine.ws).state
            handoff = state.handoffs[handoff_id]
        try:
            details = STEP_FUNCTIONS[step](engine, state, handoff)
        except (HandoffError, ToolError) as exc:
            engine.record(state, handoff_id, "failed", "done", reason=f"{step}: {exc}")
            return snapshot(engine.ws).state.handoffs[handoff_id]
        if details is None:
            if not wait or (deadline is not None and time.monotonic() > deadline):
                return handoff
            time.sleep(poll)
            continue
        engine.maybe_crash(step, "effect")
        events = [
            ledger.make_event(
                "handoff", state.agent, engine.clock(), handoff=handoff_id, step=step, status="done", **details
            )
        ]
        if step == "spawned":
            events.append(
                ledger.make_event(
                    "session",
                    state.agent,
                    engine.clock(),
                    session=details["session"],
                    model=details["model"],
                    tier=details["tier"],
                    role=details["role"],
                    task=details["task"],
                    tmux=details["tmux"],
                    source="spawn",
                    event="start",
                )
            )
        if step == "stopped" and handoff.fields.get("from_session"):
            events.append(
                ledger.make_event(
                    "session",
                    state.agent,
                    engine.clock(),
                    session=handoff.fields["from_session"],
                    source="spawn",
                    event="end",
                    how=details["how"],
                )
            )
        engine.write(events, step, "done")
