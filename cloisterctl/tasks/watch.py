"""Noticing task status changes that beads hooks missed (hook delivery is best effort). Pure.

Each tick compares the tracker with the statuses it saw last time (``cloisterctl.tasks.seen``) and
records a ``task`` event for every change the ledger does not already know about. The first look
only takes note: tasks closed before cloisterctl watched them fire nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloisterctl.tasks.records import Task


def task_fields(task: Task, event: str, source: str) -> dict[str, Any]:
    return {
        "task": task.id,
        "event": event,
        "status": task.status,
        "title": task.title,
        "labels": list(task.labels),
        "issue_type": task.issue_type,
        "parent": task.parent,
        "source": source,
    }


def changes(
    seen: Mapping[str, str] | None, tasks: Mapping[str, Task], known: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(task event fields to record, the new seen-statuses). Pure.

    ``known`` is what the ledger already says per task (from hooks): a change it already has is not
    recorded twice.
    """
    now_seen = {task_id: task.status for task_id, task in tasks.items()}
    if seen is None:
        return [], now_seen
    found = []
    for task_id, task in sorted(tasks.items()):
        before = seen.get(task_id)
        if before is None or before == task.status:
            continue
        if known.get(task_id, {}).get("status") == task.status:
            continue
        found.append(task_fields(task, "close" if task.is_closed else "update", "reconcile"))
    return found, now_seen


def reopens(changes: list[dict[str, Any]], known: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``reopen`` event fields for the changes that bring a task the ledger saw closed back open."""
    return [
        {"task": change["task"], "status": change["status"], "source": change["source"]}
        for change in changes
        if change["status"] != "closed" and "closed" in known.get(change["task"], {})
    ]
