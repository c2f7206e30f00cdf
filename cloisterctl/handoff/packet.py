"""The handoff packet: what a new session starts from, as data (``ID.json``) and as its prompt (``ID.md``).

Field names follow the PlanExe proposal-77 packet (``handoff_version``, ``task_id``, ``parent_task_id``,
``task_description``, ``target_model_tier``, ``complexity_score``, ``required_context.*``,
``handoff_instructions``) plus the Cloister spec's context: reason and trigger, from/to model,
handoff count, cost so far, git state, and the task tree split into completed / active / remaining.

Three kinds (``packet_kind``): ``start`` (a first session: `cloisterctl spawn`), ``handoff`` (a
new session continuing another's work) and ``next_task`` (the brief for the next task, read by the
session that keeps working). When the work moves on to a new task (``previous_task`` closed), the
first instruction says so instead of "continue".

Building it is pure (``build``); reading STATE.md and git is the caller's job. The prompt is kept
under a token budget by trimming, lowest priority first, and the packet says what was trimmed.
Prior decisions are never trimmed: the new session must not re-decide them. A packet is committed,
so it holds no machine path (``workspace`` is the work tree's directory name).
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cloisterctl.handoff.prompt import render_prompt
from cloisterctl.models.tiers import LEVELS
from cloisterctl.routing.complexity import Classification, named_files
from cloisterctl.tasks.graph import blocked_ids, known_root_of
from cloisterctl.tasks.records import Task

HANDOFF_VERSION = "1"
SECTION_KEYS = {
    "plan summary": "plan_summary",
    "summary": "plan_summary",
    "decisions": "prior_decisions",
    "relevant files": "relevant_files",
    "success criteria": "success_criteria",
    "constraints": "constraints",
    "progress": "progress",
    "next steps": "next_steps",
    "blockers": "blockers",
}


def estimate_tokens(text: str) -> int:
    """About four characters a token: close enough to budget a prompt."""
    return math.ceil(len(text) / 4)


def parse_sections(body: str, placeholders: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """STATE.md body -> {section key: non-empty lines}, skipping the template's placeholder lines."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for raw in body.splitlines():
        line = raw.rstrip()
        heading = re.match(r"^#{2,3}\s+(.*?)\s*#*$", line)
        if heading:
            current = SECTION_KEYS.get(heading.group(1).strip().lower())
            continue
        if current is None or not line.strip() or line.strip() in placeholders:
            continue
        sections.setdefault(current, []).append(line)
    return sections


# Task and STATE.md text is anyone's: every piece has a size before the budget trims start.
MAX_TITLE = 200
MAX_ITEM = 500
MAX_DESCRIPTION = 20_000


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, marked when cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0][: limit - 6] + " [...]"


def _items(lines: Sequence[str]) -> list[str]:
    """List items without their bullets; other lines as they are; each at most ``MAX_ITEM`` long."""
    found = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip() for line in lines if line.strip()]
    return [clip(item, MAX_ITEM) for item in found]


@dataclass
class HandoffInfo:
    handoff_id: str
    agent: str
    workspace: str
    trigger: str
    reason: str
    from_model: str | None
    from_tier: str | None
    to_model: str
    to_tier: str
    to_role: str | None
    handoff_count: int
    created_at: str
    mode: str = "handoff"  # start | handoff | next_task
    previous_task: str | None = None  # the task that closed, when the work moves on to a new one


@dataclass
class Packet:
    data: dict[str, Any]
    prompt: str
    token_estimate: int
    trimmed: list[str] = field(default_factory=list)

    def json_text(self) -> str:
        return json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"


def _tree_split(tasks: Mapping[str, Task], root: str | None) -> dict[str, list[dict[str, Any]]]:
    scope = list(tasks.values())
    if root is not None and root in tasks:
        ids = {root}
        changed = True
        while changed:  # descendants of the root
            changed = False
            for task in tasks.values():
                if task.parent in ids and task.id not in ids:
                    ids.add(task.id)
                    changed = True
        scope = [tasks[i] for i in sorted(ids)]
    blocked = blocked_ids(tasks)
    split: dict[str, list[dict[str, Any]]] = {"completed": [], "active": [], "remaining": []}
    for task in sorted(scope, key=lambda t: t.id):
        brief = {"id": task.id, "title": clip(task.title, MAX_TITLE), "status": task.status}
        if task.is_closed:
            split["completed"].append(brief)
        elif task.status == "in_progress":
            split["active"].append(brief)
        else:
            split["remaining"].append({**brief, "blocked": task.id in blocked})
    return split


def complexity_score(task: Task | None, found: Classification | None, tasks: Mapping[str, Task]) -> dict[str, Any]:
    """The decision as it stands, and PlanExe's four 1-5 dimensions derived from our signals."""
    if found is None:
        return {}
    files = len(named_files(task)) if task else 0
    links = 0
    if task is not None:
        links = len(task.dependencies) + sum(1 for t in tasks.values() if t.parent == task.id)
    dims = {
        "file_size": min(5, 1 + files // 2),
        "semantic_complexity": LEVELS.index(found.level) + 1,
        "ambiguity": max(1, min(5, round(1 + 4 * (1 - found.confidence)))),
        "context_dependency": min(5, 1 + links // 2),
    }
    return {
        "level": found.level,
        "source": found.source,
        "confidence": found.confidence,
        "reasons": list(found.reasons),
        **dims,
        "total": sum(dims.values()),
    }


def build(
    info: HandoffInfo,
    *,
    task_id: str | None,
    tasks: Mapping[str, Task],
    classification: Classification | None,
    sections: Mapping[str, list[str]],
    git: Mapping[str, Any],
    cost: Mapping[str, Any] | None,
    protected: Mapping[str, Any] | None,
    budget_tokens: int,
) -> Packet:
    data = packet_data(info, task_id, tasks, classification, sections, git, cost, protected)
    trimmed: list[str] = []
    prompt = render_prompt(data)
    for step in _TRIMS:
        if estimate_tokens(prompt) <= budget_tokens:
            break
        note = step(data)
        if note:
            trimmed.append(note)
            prompt = render_prompt(data)
    data["token_estimate"] = estimate_tokens(prompt)
    data["budget_tokens"] = budget_tokens
    data["trimmed"] = trimmed
    return Packet(data, prompt, data["token_estimate"], trimmed)


def packet_data(
    info: HandoffInfo,
    task_id: str | None,
    tasks: Mapping[str, Task],
    classification: Classification | None,
    sections: Mapping[str, list[str]],
    git: Mapping[str, Any],
    cost: Mapping[str, Any] | None,
    protected: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The packet's fields, before trimming to the budget."""
    task = tasks.get(task_id) if task_id else None
    description = clip(task.title, MAX_TITLE) if task else (task_id or "(no task)")
    if task and task.description:
        description += "\n\n" + clip(task.description, MAX_DESCRIPTION)
    success = _items(sections.get("success_criteria", []))
    if task and task.acceptance_criteria:
        success = _items([line for line in task.acceptance_criteria.splitlines() if not line.startswith("#")]) + success
    next_steps = _items(sections.get("next_steps", []))
    relevant = list(
        dict.fromkeys(
            _items(sections.get("relevant_files", []))
            + (named_files(task) if task else [])
            + list(git.get("uncommitted_files", []))
        )
    )
    decisions = _items(sections.get("prior_decisions", []))
    instructions = _instructions(info, task_id, next_steps)
    data: dict[str, Any] = {
        "handoff_version": HANDOFF_VERSION,
        "handoff_id": info.handoff_id,
        "packet_kind": info.mode,
        "previous_task": info.previous_task,
        "created_at": info.created_at,
        "agent": info.agent,
        # The work tree's name: a committed file never holds a machine path.
        "workspace": posixpath.basename(info.workspace.replace("\\", "/").rstrip("/")),
        "task_id": task_id,
        "parent_task_id": task.parent if task else None,
        "task_description": description,
        "target_model_tier": info.to_tier,
        "complexity_score": complexity_score(task, classification, tasks),
        "required_context": {
            "plan_summary": "\n".join(sections.get("plan_summary", [])),
            "relevant_files": relevant,
            "prior_decisions": decisions,
            "success_criteria": success,
            "constraints": _items(sections.get("constraints", [])),
        },
        "handoff_instructions": instructions,
        "trigger": info.trigger,
        "reason": info.reason,
        "from_model": info.from_model,
        "from_tier": info.from_tier,
        "to_model": info.to_model,
        "to_role": info.to_role,
        "handoff_count": info.handoff_count,
        "cost_so_far": dict(cost) if cost else None,
        "git": dict(git),
        "protected_work": dict(protected) if protected else None,
        "tasks": _tree_split(tasks, known_root_of(tasks, task_id)),
        "progress": _items(sections.get("progress", [])),
        "next_steps": next_steps,
        "blockers": _items(sections.get("blockers", [])),
    }
    return data


def _instructions(info: HandoffInfo, task_id: str | None, next_steps: list[str]) -> str:
    """The first thing the session does: start the task, move on to it, or continue it."""
    task = task_id or "the work"
    if info.mode == "start":
        return f"Read STATE.md, then start on {task}."
    if info.previous_task and info.previous_task != task_id:
        if task_id is None:
            return f"{info.previous_task} is done and no task is ready: update STATE.md, then stop."
        return f"{info.previous_task} is done. Start on {task}: read STATE.md for what came before, then begin."
    return next_steps[0] if next_steps else f"Read STATE.md, then continue {task} from where it stopped."


# Trimming steps, lowest priority first. Each returns what it cut, or None.
def _trim_diffstat(data: dict[str, Any]) -> str | None:
    lines = str(data["git"].get("diffstat") or "").splitlines()
    if not lines:
        return None
    data["git"]["diffstat"] = lines[-1] if lines else ""
    return f"diffstat ({len(lines) - 1} file lines; summary kept)"


def _trim_completed(data: dict[str, Any]) -> str | None:
    done = data["tasks"]["completed"]
    if not done:
        return None
    data["tasks"]["completed"] = [{"id": "...", "title": f"{len(done)} completed tasks", "status": "closed"}]
    return f"completed tasks ({len(done)}; count kept)"


def _trim_commits(data: dict[str, Any]) -> str | None:
    commits = data["git"].get("last_commits") or []
    if len(commits) <= 2:
        return None
    data["git"]["last_commits"] = commits[:2]
    return f"older commits ({len(commits) - 2})"


def _trim_progress(data: dict[str, Any]) -> str | None:
    progress = data["progress"]
    if len(progress) <= 3:
        return None
    data["progress"] = progress[-3:]
    return f"older progress notes ({len(progress) - 3})"


def _trim_remaining(data: dict[str, Any]) -> str | None:
    remaining = data["tasks"]["remaining"]
    if len(remaining) <= 10:
        return None
    data["tasks"]["remaining"] = remaining[:10]
    return f"remaining tasks beyond the first 10 ({len(remaining) - 10})"


def _trim_files(data: dict[str, Any]) -> str | None:
    files = data["required_context"]["relevant_files"]
    if len(files) <= 15:
        return None
    data["required_context"]["relevant_files"] = files[:15]
    return f"relevant files beyond the first 15 ({len(files) - 15})"


def _trim_summary(data: dict[str, Any]) -> str | None:
    summary = data["required_context"]["plan_summary"]
    if len(summary) <= 1500:
        return None
    data["required_context"]["plan_summary"] = summary[:1500].rsplit(" ", 1)[0] + " [...]"
    return f"plan summary ({len(summary) - 1500} characters; STATE.md has it all)"


def _trim_description(data: dict[str, Any]) -> str | None:
    text = data["task_description"]
    if len(text) <= 1500:
        return None
    data["task_description"] = text[:1500].rsplit(" ", 1)[0] + " [...]"
    return f"task description ({len(text) - 1500} characters; `bd show` has it all)"


_TRIMS = (
    _trim_diffstat,
    _trim_completed,
    _trim_commits,
    _trim_progress,
    _trim_remaining,
    _trim_files,
    _trim_summary,
    _trim_description,
)
