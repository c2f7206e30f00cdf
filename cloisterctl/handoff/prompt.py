"""The first message of a session, rendered from its packet (start, handoff or next task). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _opening(data: Mapping[str, Any]) -> list[str]:
    """Who the session is and why it starts: a first start, a handoff, or the next task."""
    task = data["task_id"] or "this workspace"
    model = f"{data['to_model']} ({data['target_model_tier']} tier)" + (
        f" as the {data['to_role']}" if data.get("to_role") else ""
    )
    kind = data.get("packet_kind", "handoff")
    if kind == "start":
        return [f"# Starting work: {task}", "", f"You start {task} on {model}.", f"Started by: {data['reason']}."]
    if kind == "next_task":
        return [
            f"# Next task: {task}",
            "",
            f"{data.get('previous_task') or 'Your task'} is closed; you go on with {task} in this session, on {model}.",
            f"Why: {data['trigger']}: {data['reason']}.",
        ]
    return [
        f"# Continuing work: {task}",
        "",
        f"You are continuing work that a previous session did on {data['from_model'] or 'another model'}"
        f" ({data['from_tier'] or '?'} tier). You run on {model}.",
        f"Why the handoff: {data['trigger']}: {data['reason']}.",
    ]


def render_prompt(data: Mapping[str, Any]) -> str:
    """The first message of the new session."""
    ctx = data["required_context"]
    lines = [
        *_opening(data),
        "",
        "## First",
        "",
        str(data["handoff_instructions"]),
        "",
        "## Task",
        "",
        str(data["task_description"]),
    ]

    def section(title: str, items: Sequence[str], empty: str | None = None) -> None:
        if not items and empty is None:
            return
        lines.extend(["", f"## {title}", ""])
        lines.extend(f"- {item}" for item in items) if items else lines.append(str(empty))

    section("Success criteria", ctx["success_criteria"], "Not written down: check STATE.md and the task.")
    if ctx["plan_summary"]:
        lines.extend(["", "## Plan summary", "", ctx["plan_summary"]])
    section("Decisions already made (do not re-decide them)", ctx["prior_decisions"], "None recorded.")
    section("Constraints", ctx["constraints"])
    section("Relevant files", ctx["relevant_files"])
    section("Progress so far", data["progress"])
    section("Blockers", data["blockers"])
    tasks = data["tasks"]
    for title, key in (("Tasks done", "completed"), ("Tasks in progress", "active"), ("Tasks remaining", "remaining")):
        section(title, [f"{t['id']}: {t['title']}" + (" (blocked)" if t.get("blocked") else "") for t in tasks[key]])
    git = data["git"]
    lines.extend(["", "## Git", "", f"- branch {git.get('branch') or '(detached)'}, HEAD {git.get('head')}"])
    if git.get("uncommitted_files"):
        lines.append(f"- uncommitted when the last session stopped: {', '.join(git['uncommitted_files'])}")
    protected = data.get("protected_work")
    if protected:
        lines.append(f"- that work was saved as {protected['method']} {protected['ref']}")
    for commit in git.get("last_commits") or []:
        lines.append(f"- {commit}")
    if git.get("diffstat"):
        lines.extend(["", "```", str(git["diffstat"]), "```"])
    cost = data.get("cost_so_far")
    if cost:
        lines.extend(
            ["", f"Cost so far: ${float(cost.get('total_usd', 0)):.2f}; handoffs so far: {data['handoff_count']}."]
        )
    lines.extend(["", "Keep STATE.md current as you go: the next session will start from it."])
    return "\n".join(lines) + "\n"
