"""The workspace's state on disk: read and fold the ledger and signals, append events, refresh STATE.md.

This is the edge between the pure fold (``state.py``) and the files. Every write happens under the
workspace lock, so a hook appending an event and a tick refreshing STATE.md never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cloisterctl import ledger, statefile
from cloisterctl.ledger import Event
from cloisterctl.locking import locked
from cloisterctl.state import WorkspaceState, fold, front_matter
from cloisterctl.workspace import Workspace


@dataclass
class Snapshot:
    """The folded state and what was wrong with the files it was read from."""

    state: WorkspaceState
    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _label(ws: Workspace, path: Path) -> str:
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def read_all(ws: Workspace) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    problems: list[str] = []
    for path in (ws.ledger_path, ws.signals_path):
        result = ledger.read_events(path, label=_label(ws, path))
        events += result.events
        problems += result.problems
    return events, problems


def snapshot(ws: Workspace) -> Snapshot:
    events, problems = read_all(ws)
    return Snapshot(fold(events, agent=ws.default_agent), events, problems)


def append(ws: Workspace, events: Iterable[Event], *, timeout: float | None = None, local: bool = False) -> None:
    """Append events to the committed ledger (or, with ``local``, to the git-ignored signal spool)."""
    target = ws.signals_path if local else ws.ledger_path
    ledger.append(target, ws.lock_path, events, timeout)


def refresh_state_md(ws: Workspace, state: WorkspaceState, *, timeout: float | None = None) -> bool:
    """Project ``state`` into STATE.md's cloister block; returns whether the file changed."""
    if not ws.state_md.exists():
        return False
    with locked(ws.lock_path, timeout, what="STATE.md"):
        return statefile.write_cloister(ws.state_md, front_matter(state))


def record(ws: Workspace, events: list[Event], *, timeout: float | None = None) -> Snapshot:
    """Append events, then refresh STATE.md from the new fold, all under one lock hold."""
    with locked(ws.lock_path, timeout, what="the ledger"):
        ledger.append_lines(ws.ledger_path, [ledger.encode(e) for e in events])
        current = snapshot(ws)
        if ws.state_md.exists():
            statefile.write_cloister(ws.state_md, front_matter(current.state))
    return current
