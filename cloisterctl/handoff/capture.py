"""Handoff packets: capture the context (STATE.md, the task tree, git, cost) and write
``.cloister/handoffs/ID.json`` and ``ID.md``. Building the packet itself is pure (``handoff.packet``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cloisterctl.errors import CloisterError, HandoffError, StateFileError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.handoff.packet import HandoffInfo, build, parse_sections
from cloisterctl.ledger import statefile
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.projection import cost_summary
from cloisterctl.models.names import file_in
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import Workspace


def in_dir(directory: Path, name: str) -> Path:
    """``directory/name`` for a file named after a handoff or session id: the schema admits only
    safe names, and this makes sure the path stays in its directory all the same."""
    try:
        return file_in(directory, name)
    except CloisterError as exc:
        raise HandoffError(str(exc)) from None


def write_packet(
    ctx: Context,
    state: WorkspaceState,
    info: HandoffInfo,
    task_id: str | None,
    protected: dict[str, Any] | None,
    uncommitted: list[str],
) -> dict[str, Any]:
    """Capture the context and write ``.cloister/handoffs/ID.json`` and ``ID.md``; returns a summary."""
    ws, config = ctx.ws, ctx.config
    git_state = git.state(ws.root).as_dict()
    git_state["uncommitted_files"] = uncommitted
    tasks, classification = _task_context(ctx, task_id)
    packet = build(
        info,
        task_id=task_id,
        tasks=tasks,
        classification=classification,
        sections=parse_sections(_state_body(ws), _template_placeholders()),
        git=git_state,
        cost=cost_summary(state),
        protected=protected,
        budget_tokens=config.handoffs.budget_tokens,
    )
    ws.handoffs_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(in_dir(ws.handoffs_dir, f"{info.handoff_id}.json"), packet.json_text())
    atomic_write_text(in_dir(ws.handoffs_dir, f"{info.handoff_id}.md"), packet.prompt)
    details: dict[str, Any] = {
        "packet": f".cloister/handoffs/{info.handoff_id}.json",
        "prompt": f".cloister/handoffs/{info.handoff_id}.md",
        "token_estimate": packet.token_estimate,
        "trimmed": packet.trimmed,
        "protected": protected,
    }
    warn = config.handoffs.warn_tokens
    if packet.token_estimate > warn:
        details["warning"] = f"packet is {packet.token_estimate} tokens, over the {warn}-token alert"
    return details


def body_digest(ws: Workspace) -> str | None:
    """A digest of STATE.md outside its cloister block: the agent's part, which tick never writes."""
    try:
        doc = statefile.read(ws.state_md)
    except CloisterError:
        return None
    outside = doc.text if doc.block is None else doc.text[: doc.block[0]] + doc.text[doc.block[1] :]
    return hashlib.sha256(outside.encode()).hexdigest()[:16]


def _task_context(ctx: Context, task_id: str | None) -> tuple[dict[str, Any], Any]:
    """The task tree and the task's complexity, when a tracker is there; nothing otherwise."""
    from cloisterctl.routing.route import classify_task, tracker_for

    try:
        tracker = tracker_for(ctx.ws, ctx.config)
        tasks = tracker.all_tasks()
        found = classify_task(ctx.ws, ctx.config, tracker, task_id) if task_id and task_id in tasks else None
    except CloisterError:
        return {}, None
    return dict(tasks), found


def _state_body(ws: Workspace) -> str:
    """STATE.md's body, for the summary, read by our bounded STATE.md reader; the whole text when
    its front matter is broken (that must not block a handoff), nothing when there is no file."""
    try:
        text = statefile.read_bytes(ws.state_md).decode("utf-8", errors="replace")
    except (FileNotFoundError, StateFileError):
        return ""
    try:
        return statefile.parse(text, ws.state_md).body
    except CloisterError:
        return text


def _template_placeholders() -> frozenset[str]:
    from cloisterctl.ledger.init import render_state_template

    body = render_state_template("x").split("\n---\n", 1)[-1]
    return frozenset(line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#"))
