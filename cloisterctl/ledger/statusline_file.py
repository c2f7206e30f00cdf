"""The statusline's summary file: ``statusline.json`` in the workspace's cache dir (machine-local,
outside the work tree), which `cloisterctl statusline` reads on every refresh of Claude Code's
status bar instead of folding the ledger.

Every command that publishes STATE.md keeps it (``Context.publish``): tick, cost --record, usage,
route --record, handoffs, flags. It is written atomically, and only when what it says changed,
so a tick with nothing new writes nothing. It is a shortcut: a failure to write it is not an
error, and a missing or unreadable one makes the statusline say so.

Its ``version`` is the digest of the source of ``ledger.statusline``, which decides what it says
(``files.codedigest``); the statusline computes the same digest of its own installation's copy of
that module and reads only a summary whose version matches.
"""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.config.settings import Config
from cloisterctl.files.atomic import atomic_write_bytes
from cloisterctl.files.codedigest import source_digest
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.statusline import summary
from cloisterctl.workspace.layout import Workspace

FILE = "statusline.json"
SCHEMA_MODULE = "cloisterctl.ledger.statusline"  # its source's digest is the summary's version


def summary_path(ws: Workspace) -> Path:
    return ws.cache_dir / FILE


def keep(ws: Workspace, state: WorkspaceState, config: Config) -> bool:
    """Write the summary when it differs from the one on disk; whether it was written."""
    found = {**summary(state, config), "version": source_digest(SCHEMA_MODULE)}
    data = (json.dumps(found, sort_keys=True, separators=(",", ":")) + "\n").encode()
    target = summary_path(ws)
    try:
        if target.read_bytes() == data:
            return False
    except OSError:
        pass
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
    except OSError:
        return False
    return True
