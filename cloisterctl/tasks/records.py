"""Tasks as records: a beads issue and its dependencies, read from any of the JSON shapes beads has
written. Stdlib only; where tasks come from is ``cloisterctl.tasks.beads``.

Task ids are names (``models.names``): they reach ``bd``'s argv, commit messages and the ledger.
An issue whose id is not a safe name is refused (its reader reports the line); a parent or
dependency naming one is left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloisterctl.models.names import is_safe_name, name_problem

BLOCKING_TYPES = frozenset({"blocks", "conditional-blocks", "waits-for"})
PARENT_TYPE = "parent-child"
CLOSED = "closed"
READY_STATUSES = frozenset({"open"})


@dataclass(frozen=True)
class Dependency:
    depends_on: str
    type: str


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    status: str
    issue_type: str = "task"
    description: str = ""
    acceptance_criteria: str = ""
    priority: int | None = None
    labels: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    estimated_minutes: int | None = None
    parent: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    closed_at: str | None = None

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    def brief(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status, "issue_type": self.issue_type}


def task_from_json(data: Mapping[str, Any]) -> Task:
    """A Task from one issue object in any of the shapes beads has written."""
    issue_id = data.get("id")
    if not isinstance(issue_id, str) or not issue_id:
        raise ValueError("issue has no string 'id'")
    wrong = name_problem("issue id", issue_id)
    if wrong is not None:
        raise ValueError(wrong)
    dependencies = []
    parent = data.get("parent") if is_safe_name(data.get("parent")) else None
    for dep in data.get("dependencies") or []:
        if not isinstance(dep, Mapping):
            continue
        target = dep.get("depends_on_id")
        if not isinstance(target, str) or not is_safe_name(target):
            continue
        # Some exports list edges of other issues too; only this issue's own edges matter.
        if dep.get("issue_id") not in (None, issue_id):
            continue
        kind = str(dep.get("type") or "blocks")
        dependencies.append(Dependency(target, kind))
        if kind == PARENT_TYPE and parent is None:
            parent = target
    metadata = data.get("metadata")
    if isinstance(metadata, str):  # older exports store it as a JSON string
        try:
            metadata = json.loads(metadata) if metadata.strip() else {}
        except (ValueError, RecursionError):
            metadata = {}
    minutes = data.get("estimated_minutes")
    priority = data.get("priority")
    return Task(
        id=issue_id,
        title=str(data.get("title") or ""),
        status=str(data.get("status") or "open"),
        issue_type=str(data.get("issue_type") or "task"),
        description=str(data.get("description") or ""),
        acceptance_criteria=str(data.get("acceptance_criteria") or ""),
        priority=priority if isinstance(priority, int) and not isinstance(priority, bool) else None,
        labels=tuple(str(label) for label in data.get("labels") or [] if isinstance(label, str | int)),
        metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
        estimated_minutes=minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else None,
        parent=parent,
        dependencies=tuple(dependencies),
        closed_at=data.get("closed_at") if isinstance(data.get("closed_at"), str) else None,
    )
