"""Who this worktree is: its agent, this clone and this worktree, for the fold and for every event.

- ``blank``: the empty state a fold of this workspace starts from (``ledger.ownership``): the
  agent the worktree hosts (``workspace.origin.hosted_agent``, which ``init --agent`` records in
  the worktree's private git directory, where no merge reaches), else -- a 0.1.0 workspace, a
  worktree not given an agent yet -- the work tree's name until an ``init`` event of this clone
  and worktree (or a legacy one) names one.
- ``stamp``: the origin every event this clone records carries (``clone``, ``worktree``).
- ``key``: what a fold made for this identity is cached under (a cache or checkpoint of another
  is refolded).
"""

from __future__ import annotations

from collections.abc import Iterable

from cloisterctl.errors import WorkspaceError
from cloisterctl.ledger.events import Event
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.workspace import origin
from cloisterctl.workspace.layout import Workspace


def blank(ws: Workspace) -> WorkspaceState:
    """The empty state of this worktree; one with no origin (every event its own) where there is no
    git work tree (the machine-wide pseudo-workspace `cost --all` keeps its records in)."""
    root = str(ws.root)
    try:
        hosted = origin.hosted_agent(root)
        clone, worktree = origin.clone_id(root), origin.worktree_name(root)
    except WorkspaceError:
        return WorkspaceState(agent=ws.default_agent)
    return WorkspaceState(agent=hosted or ws.default_agent, clone=clone, worktree=worktree, pinned=hosted is not None)


def key(ws: Workspace) -> str:
    state = blank(ws)
    return f"{state.agent}{'' if state.pinned else '?'}@{state.clone or '-'}/{state.worktree or '-'}"


def stamp(ws: Workspace, events: Iterable[Event]) -> None:
    """Give each event this clone's and worktree's origin (an event that has one keeps it); none
    where there is no git work tree."""
    state = blank(ws)
    if state.clone is None or state.worktree is None:
        return
    found = {"clone": state.clone, "worktree": state.worktree}
    for event in events:
        for name, value in found.items():
            event.setdefault(name, value)
