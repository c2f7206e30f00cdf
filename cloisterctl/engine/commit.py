"""cloisterctl's own commits: only STATE.md and .cloister/, as cloisterctl, with a message that
names the decision. Never during a merge, rebase, cherry-pick or bisect.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloisterctl.config.settings import Config
from cloisterctl.edges import git
from cloisterctl.errors import ToolError
from cloisterctl.model.events import Event
from cloisterctl.state.workspace import Workspace

COMMIT_PATHS = ("STATE.md", ".cloister")


def commit_message(events: list[Event]) -> str:
    """Decisions first (the subject names the first), then handoff steps, task changes, test runs."""
    rank = {"decision": 0, "handoff": 1, "task": 2, "test_run": 3, "exit": 3}
    lines: list[str] = []
    steps: dict[str, list[str]] = {}
    for event in events:
        if event["type"] == "handoff" and event.get("status", "done") == "done":
            steps.setdefault(str(event.get("handoff")), []).append(str(event.get("step")))
    for event in sorted(events, key=lambda e: rank.get(e["type"], 4)):
        if event["type"] == "decision":
            move = f"{event.get('from_tier') or '?'} -> {event.get('to_tier') or '?'}"
            lines.append(f"{event.get('trigger')}: {move} {event.get('status')}: {event.get('reason')}")
        elif event["type"] == "handoff" and str(event.get("handoff")) in steps:
            done = steps.pop(str(event.get("handoff")))
            lines.append(f"handoff {event.get('handoff')}: {', '.join(done)}")
        elif event["type"] == "task":
            lines.append(f"task {event.get('task')} {event.get('status')}")
        elif event["type"] == "test_run":
            lines.append(f"test run {'passed' if event.get('passed') else 'failed'}")
        elif event["type"] == "exit":
            code = event.get("exit_code")
            lines.append(f"session {event.get('session')} exited" + ("" if code is None else f" (exit code {code})"))
        elif event["type"] == "flag_cleared":
            lines.append(f"flags cleared: {', '.join(event.get('flags') or [])}")
    subject = lines[0] if lines else "record activity"
    body = "\n".join(f"- {line}" for line in lines[1:])
    return f"cloister: {subject}" + (f"\n\n{body}" if body else "")


def commit(
    ws: Workspace, config: Config, events: list[Event], problems: list[str], *, extra: Sequence[str] = ()
) -> str | None:
    """Commit what ``events`` changed (and the ``extra`` files the ledger's upkeep changed); returns
    the short sha, or None (and why, in ``problems``)."""
    tick = config.tick
    paths = (*COMMIT_PATHS, *(path for path in extra if path == ".gitattributes"))
    message = commit_message(events) if events else f"cloister: ledger upkeep ({', '.join(extra)})"
    try:
        busy = git.busy_reason(ws.root)
        if busy:
            problems.append(f"not committing: {busy}; the next tick will")
            return None
        return git.commit_paths(ws.root, paths, message, tick.author_name, tick.author_email)
    except ToolError as exc:
        problems.append(f"not committing: {exc}")
        return None
