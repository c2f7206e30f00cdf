"""When tick last ran in a workspace: the modification time of ``.cloister/local/last-tick``
(machine-local, never committed), touched at the end of every tick that ran (not a dry run, not a
tick that found another one running). One ``utime`` per tick; `doctor` reads it.
"""

from __future__ import annotations

from pathlib import Path

from cloisterctl.workspace.layout import Workspace

NAME = "last-tick"


def stamp_path(ws: Workspace) -> Path:
    return ws.local_dir / NAME


def stamp(ws: Workspace) -> None:
    """Record that tick ran now; trouble is ignored (the stamp only informs `doctor`)."""
    try:
        stamp_path(ws).touch()
    except OSError:
        pass


def last_tick(ws: Workspace) -> float | None:
    """When tick last ran here (seconds since the epoch), from the stamp, else from the cron line's
    log (``tick.log``, written by ticks of an earlier version); None when neither is there."""
    for path in (stamp_path(ws), ws.local_dir / "tick.log"):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return None
