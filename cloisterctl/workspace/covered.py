"""Which workspaces `tick --all` and `agents --all` cover, and running a tick over all of them."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from cloisterctl.config.settings import Config
from cloisterctl.errors import ToolError
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import Workspace


def all_workspaces(start: Workspace, config: Config) -> list[Workspace]:
    """This workspace, its git worktrees (``tick.worktrees``) and ``tick.workspaces``: the initialised ones."""
    found: list[Path] = [start.root]
    if config.tick.worktrees:
        try:
            found += git.worktrees(start.root)
        except ToolError:
            pass
    for pattern in config.tick.workspaces:
        expanded = os.path.expanduser(pattern)
        found += [Path(p) for p in sorted(glob.glob(expanded))] or [Path(expanded)]
    unique: dict[Path, Workspace] = {}
    for path in found:
        resolved = path.resolve()
        if resolved not in unique and (resolved / ".cloister").is_dir():
            unique[resolved] = Workspace(resolved)
    return list(unique.values())
