"""`cloisterctl hook claude`: Claude Code's hooks (SessionStart, PostToolUse, Stop, SubagentStop).

Reads the hook's JSON from stdin and records: the agent's session id (SessionStart, committed, for
cost attribution; its transcript's path only relative to the Claude config dir or the work tree,
never a machine path), activity (every event, machine-local), idleness (Stop), and test runs (a Bash
command matching ``tests.patterns``, with the outcome read from the tool's response). Always exits
0: a non-zero exit would get in the agent's way. A reviewer's session (``CLOISTER_REVIEW`` set by
``handoff.review``) records nothing: its activity and test runs are not the agent's, and its cost
is attributed by the ``session`` line its start recorded.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from cloisterctl.hooks.record import append_event, event, find_workspace

# Claude Code's hook events; anything else is not a hook input, and records nothing.
EVENTS = frozenset(
    {
        "SessionStart",
        "SessionEnd",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Notification",
        "Stop",
        "SubagentStop",
        "PreCompact",
    }
)


def claude_hook(args: list[str]) -> int:
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    payload = json.loads(raw) if raw.strip() else {}
    if not isinstance(payload, dict):
        raise ValueError("hook input is not a JSON object")
    name = str(payload.get("hook_event_name") or (args[0] if args else ""))
    if name not in EVENTS:
        what = f"unknown hook event {name!r}" if name else "no hook event (the input has no hook_event_name)"
        print(f"cloister: claude hook: {what}; nothing recorded", file=sys.stderr)
        return 0
    if os.environ.get("CLOISTER_REVIEW"):
        return 0  # a reviewer of a close: not the agent at work (module docstring)
    workspace = find_workspace(os.environ.get("CLOISTER_WORKSPACE") or str(payload.get("cwd") or os.getcwd()))
    if workspace is None:
        return 0
    session = payload.get("session_id")
    activity = event("activity", source="agent", hook=name, session=session)
    if name == "SessionStart":
        started = event(
            "session",
            session=session,
            source="hook",
            event="start",
            model=payload.get("model") if isinstance(payload.get("model"), str) else None,
            transcript=_portable(payload.get("transcript_path"), workspace),
        )
        append_event(workspace, started)
    elif name == "PostToolUse":
        activity["tool"] = payload.get("tool_name")
        tool_input = payload.get("tool_input") or {}
        command = tool_input.get("command") if isinstance(tool_input, dict) else None
        if payload.get("tool_name") == "Bash" and isinstance(command, str):
            _maybe_test_run(workspace, command, payload.get("tool_response"), session)
    elif name == "Stop":
        append_event(workspace, event("idle", session=session, source="agent"))
    append_event(workspace, activity)
    return 0


def _portable(path: Any, workspace: str) -> str | None:
    """The transcript's path as a teammate's clone can read it (``claude:...`` or relative to the
    work tree); None for a path elsewhere on this machine, which is never committed (the session
    id finds its transcript anyway)."""
    if not isinstance(path, str) or not path:
        return None
    from pathlib import Path

    from cloisterctl.cost.transcripts.locate import portable_path

    return portable_path(path, Path(workspace))


def _maybe_test_run(workspace: str, command: str, response: Any, session: Any) -> None:
    from pathlib import Path

    from cloisterctl.config.load import load_config
    from cloisterctl.testruns.outcome import SELF_RECORDING, is_test_command, outcome_from_tool_response

    if is_test_command(command, [SELF_RECORDING]):
        return  # `cloisterctl test` records its own run; counting it here too would double it
    config = load_config(Path(workspace) / ".cloister" / "config.yaml")
    if not is_test_command(command, config.tests.patterns):
        return
    passed = outcome_from_tool_response(response)
    if passed is None:
        return  # a test command whose outcome cannot be told: activity only
    record = event("test_run", passed=passed, command=command[:500], source="agent-hook", session=session)
    append_event(workspace, record)
