"""The task statuses a tick saw last time, kept machine-locally in ``.cloister/local/tasks-seen.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cloisterctl.errors import UnsafeFileError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.safeopen import JSON_CAP, read_capped
from cloisterctl.workspace.layout import Workspace

SEEN_FILE = "tasks-seen.json"


def read_seen(ws: Workspace) -> tuple[dict[str, str] | None, list[int] | None]:
    """The statuses seen last time, and the identity of the export they were read from."""
    try:
        data = json.loads(read_capped(ws.local_dir / SEEN_FILE, JSON_CAP))
    except (OSError, ValueError, RecursionError, UnsafeFileError):
        return None, None
    statuses = data.get("statuses") if isinstance(data, dict) else None
    if not isinstance(statuses, dict):
        return None, None
    stamp = data.get("source")
    return {str(k): str(v) for k, v in statuses.items()}, stamp if isinstance(stamp, list) else None


def write_seen(ws: Workspace, statuses: Mapping[str, str], stamp: list[int] | None = None) -> None:
    data = {"version": 1, "source": stamp, "statuses": dict(statuses)}
    atomic_write_text(ws.local_dir / SEEN_FILE, json.dumps(data, sort_keys=True))
