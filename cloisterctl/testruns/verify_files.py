"""Where a verification keeps its files, and how they are read: ``.cloister/local/verify/``.

Per task (its id made a file name): ``TASK.run.json`` (what the worker runs: attempt, commands,
base commit, deadline, pid), ``TASK.json`` (the worker's result), and with a reviewer
(``testruns.review``) ``TASK.review.md`` (the review packet), ``TASK.review.run.json`` (the
reviewer's session, tmux name, deadline) and ``TASK.review.json`` (the verdict the reviewer
writes). Machine-local, never committed; read through ``files.safeopen`` (no symlink, a regular
file, bounded), and a file that is not a JSON object reads as absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.files import safeopen
from cloisterctl.models.names import file_in
from cloisterctl.workspace.layout import Workspace


def verify_dir(ws: Workspace) -> Path:
    return ws.local_dir / "verify"


def _stem(task: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", task)


def run_path(ws: Workspace, task: str) -> Path:
    return file_in(verify_dir(ws), f"{_stem(task)}.run.json")


def result_path(ws: Workspace, task: str) -> Path:
    return file_in(verify_dir(ws), f"{_stem(task)}.json")


def review_packet_path(ws: Workspace, task: str) -> Path:
    return file_in(verify_dir(ws), f"{_stem(task)}.review.md")


def review_run_path(ws: Workspace, task: str) -> Path:
    return file_in(verify_dir(ws), f"{_stem(task)}.review.run.json")


def verdict_path(ws: Workspace, task: str) -> Path:
    return file_in(verify_dir(ws), f"{_stem(task)}.review.json")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing, unsafe, or not a JSON object."""
    try:
        data = json.loads(safeopen.read_capped(path, safeopen.JSON_CAP))
    except (OSError, ValueError, RecursionError, CloisterError):
        return None
    return data if isinstance(data, dict) else None
