"""`cloisterctl hook beads ID EVENT` with the issue JSON on stdin (beads' on_create/on_update/on_close)."""

from __future__ import annotations

import os
import sys

from cloisterctl.hooks.record import append_event, event, find_workspace

EVENTS = ("create", "update", "close")


def beads_hook(args: list[str]) -> int:
    """`hook beads ID EVENT` with the issue JSON on stdin (beads' on_create/on_update/on_close)."""
    import json

    if len(args) < 2:
        raise ValueError("usage: cloisterctl hook beads ISSUE_ID create|update|close")
    issue_id, kind = args[0], args[1]
    if kind not in EVENTS:
        print(f"cloister: beads hook: unknown event {kind!r} ({', '.join(EVENTS)}); nothing recorded", file=sys.stderr)
        return 0
    workspace = find_workspace(os.environ.get("CLOISTER_WORKSPACE") or os.getcwd())
    if workspace is None:
        return 0
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    try:
        issue = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):  # not JSON, or nested past Python's recursion limit
        issue = {}
    if isinstance(issue, list):  # some callers pass `bd show --json` output, an array
        issue = issue[0] if issue and isinstance(issue[0], dict) else {}
    status = issue.get("status") if isinstance(issue, dict) else None
    if kind == "update" and status == "closed":
        kind = "close"  # `bd update --status closed` fires on_update, not on_close
    parent = issue.get("parent")
    for dep in issue.get("dependencies") or []:
        if isinstance(dep, dict) and dep.get("type") == "parent-child" and not parent:
            parent = dep.get("depends_on_id")
    record = event(
        "task",
        task=issue_id,
        event=kind,
        status=status or ("closed" if kind == "close" else None),
        title=issue.get("title"),
        issue_type=issue.get("issue_type"),
        parent=parent,
        source="beads-hook",
    )
    append_event(workspace, {**record, "labels": issue.get("labels") or []})
    return 0
