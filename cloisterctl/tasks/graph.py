"""The task graph: which tasks are blocked, which are ready, a task's children, tree and root. Pure.

Readiness follows beads: an open task is blocked while a ``blocks``, ``conditional-blocks`` or
``waits-for`` dependency is not closed, or while its parent (a ``parent-child`` dependency) is
itself blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cloisterctl.tasks.records import BLOCKING_TYPES, PARENT_TYPE, READY_STATUSES, Task


class TaskIndex(dict[str, Task]):
    """Tasks by id, remembering which are blocked (computed once per version of the tasks)."""

    blocked_memo: frozenset[str] | None = None


def index(tasks: Iterable[Task]) -> TaskIndex:
    return TaskIndex((task.id, task) for task in tasks)


def blocked_ids(tasks: Mapping[str, Task]) -> set[str]:
    """Ids of tasks that beads would not call ready because of their dependencies."""
    if isinstance(tasks, TaskIndex):
        if tasks.blocked_memo is None:
            tasks.blocked_memo = frozenset(_blocked_ids(tasks))
        return set(tasks.blocked_memo)
    return _blocked_ids(tasks)


def _blocked_ids(tasks: Mapping[str, Task]) -> set[str]:
    """Tasks blocked directly (an open blocking dependency), and every task whose parent chain
    reaches one. A walk over the reversed parent edges, not a recursion: a 5,000-deep chain, or a
    cycle, is as cheap as any other."""
    blocked: set[str] = set()
    children: dict[str, list[str]] = {}
    for task in tasks.values():
        for dep in task.dependencies:
            target = tasks.get(dep.depends_on)
            # An edge to a task the export does not hold (an ephemeral wisp, a deleted task)
            # cannot be checked; it does not block.
            if dep.type in BLOCKING_TYPES and target is not None and not target.is_closed:
                blocked.add(task.id)
            elif dep.type == PARENT_TYPE:
                children.setdefault(dep.depends_on, []).append(task.id)
    pending = list(blocked)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in blocked:
                blocked.add(child)
                pending.append(child)
    return blocked


def ready(tasks: Mapping[str, Task]) -> list[Task]:
    """Open tasks with nothing blocking them, by priority then id (as `bd ready` lists them)."""
    blocked = blocked_ids(tasks)
    found = [t for t in tasks.values() if t.status in READY_STATUSES and t.id not in blocked]
    return sorted(found, key=lambda t: (t.priority if t.priority is not None else 2, t.id))


def children(tasks: Mapping[str, Task], task_id: str) -> list[Task]:
    return sorted((t for t in tasks.values() if t.parent == task_id), key=lambda t: t.id)


def root_of(tasks: Mapping[str, Task], task_id: str) -> str:
    """The top of ``task_id``'s parent chain (which may be a parent the tasks do not hold)."""
    seen: set[str] = set()
    current = task_id
    while current in tasks and tasks[current].parent and current not in seen:
        seen.add(current)
        current = str(tasks[current].parent)
    return current


def known_root_of(tasks: Mapping[str, Task], task_id: str | None) -> str | None:
    """The topmost task of ``task_id``'s parent chain that the tasks hold; None for an unknown task."""
    if task_id is None or task_id not in tasks:
        return None
    current, seen = task_id, set()
    while tasks[current].parent and tasks[current].parent in tasks and current not in seen:
        seen.add(current)
        current = str(tasks[current].parent)
    return current
