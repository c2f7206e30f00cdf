"""`cloisterctl hook merge-state BASE CURRENT OTHER MARKER_SIZE PATH`: git's merge driver for
STATE.md (``integrations.merge_driver``), registered by `cloisterctl init` / `cloisterctl install git`.

Like git's own merge: the result goes to CURRENT, and the exit code is 0 for a clean merge, 1 when
conflicts are left for the user (in the body or the user's own front matter keys, never in the
cloister block). Its own trouble falls back to git's text merge, so a merge never breaks on us.
"""

from __future__ import annotations

import sys
from pathlib import Path

USAGE = "usage: cloisterctl hook merge-state BASE CURRENT OTHER MARKER_SIZE PATH (git runs it)"


def merge_state_hook(args: list[str]) -> int:
    if len(args) != 5 or not args[3].isdigit():
        print(USAGE, file=sys.stderr)
        return 2
    base, current, other, size, name = args
    from cloisterctl.errors import CloisterError
    from cloisterctl.files.atomic import atomic_write_bytes
    from cloisterctl.integrations.merge_driver import merge_driver
    from cloisterctl.workspace import git

    paths = Path(base), Path(current), Path(other)
    try:
        return 1 if merge_driver(*paths, int(size), name) else 0
    except (CloisterError, OSError, ValueError) as exc:
        print(f"cloister: STATE.md merge driver: {exc}; merging it as text", file=sys.stderr)
        merged, conflicts = git.merge_file(paths[1], paths[0], paths[2], ["ours", "base", "theirs"], int(size))
        atomic_write_bytes(paths[1], merged)
        return 1 if conflicts else 0
