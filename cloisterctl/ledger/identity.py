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

from cloisterctl.ledger.events import Event
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.workspace import origin
from cloisterctl.workspace.layout import Workspace


def blank(ws: Workspace) -> WorkspaceState:
    root = str(ws.root)
    hosted = origin.hosted_agent(root)
    return WorkspaceState(
        agent=hosted or ws.default_agent,
        clone=origin.clone_id(root),
        worktree=origin.worktree_name(root),
        pinned=hosted is not None,
    )


def key(ws: Workspace) -> str:
    state = blank(ws)
    return f"{state.agent}{'' if state.pinned else '?'}@{state.clone}/{state.worktree}"


def stamp(ws: Workspace, events: Iterable[Event]) -> None:
    """Give each event this clone's and worktree's origin (an event that has one keeps it)."""
    root = str(ws.root)
    found = {"clone": origin.clone_id(root), "worktree": origin.worktree_name(root)}
    for event in events:
        for name, value in found.items():
            event.setdefault(name, value)
