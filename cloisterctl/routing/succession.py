"""What an agent works on after its task closes: the next ready task, same tree first, routed. Pure.

planning_complete, implementation_complete and task_completed all end a task; each hands the
agent (its new session, or the one it keeps) the task this module picks, or, when nothing is
ready, leaves it idle. "Same tree" is the closed task's parent tree, and a task the closed one was
blocking counts as its successor too (a plan task usually blocks the work it planned); among
equals, beads' own ready order (priority, then id) decides.

The tracker's export may not show the close yet when the hook's event arrives first: the closed
task is treated as closed here whatever the export says, so what it was blocking is ready.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.models.prices import PriceTable
from cloisterctl.routing.complexity import classify
from cloisterctl.routing.router import Route, route
from cloisterctl.tasks.graph import ready, root_of
from cloisterctl.tasks.records import CLOSED, Task


@dataclass(frozen=True)
class NextTask:
    task: Task
    route: Route

    @property
    def complexity(self) -> dict[str, Any]:
        found = self.route.complexity
        return {"level": found.level, "source": found.source, "confidence": found.confidence}

    def describe(self) -> str:
        return f"next ready task {self.task.id} routes to {self.route.tier} ({self.route.rule})"


def _successor_rank(tasks: Mapping[str, Task], closed_id: str, root: str, candidate: Task) -> int:
    """0 for a task of the closed task's tree or one it was blocking; 1 for any other."""
    if any(dep.depends_on == closed_id for dep in candidate.dependencies):
        return 0
    return 0 if root != candidate.id and root_of(tasks, candidate.id) == root else 1


def next_ready(tasks: Mapping[str, Task], closed_id: str) -> Task | None:
    """The task to take up after ``closed_id``; None when no task is ready."""
    if not tasks:
        return None
    view = dict(tasks)
    if closed_id in view and not view[closed_id].is_closed:
        view[closed_id] = dataclasses.replace(view[closed_id], status=CLOSED)
    candidates = [task for task in ready(view) if task.id != closed_id]
    if not candidates:
        return None
    root = root_of(view, closed_id)
    candidates.sort(key=lambda task: _successor_rank(view, closed_id, root, task))  # stable: ready order kept
    return candidates[0]


def next_task(
    tasks: Mapping[str, Task],
    closed_id: str,
    config: Config,
    prices: PriceTable,
    overrides: Mapping[str, str],
    counts: Mapping[str, Sequence[int]] | None = None,
    detection: float | None = None,
) -> NextTask | None:
    """The next ready task and how it routes on its own (complexity, tier, rule, reasons)."""
    following = next_ready(tasks, closed_id)
    if following is None:
        return None
    children = sum(1 for task in tasks.values() if task.parent == following.id)
    found = classify(following, config.complexity, child_count=children, override=overrides.get(following.id))
    return NextTask(following, route(following, found, config, prices, counts=counts, detection=detection))
