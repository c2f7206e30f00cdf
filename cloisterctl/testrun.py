"""Test runs: running a test command, reading its outcome, recording it in the ledger.

Sources: `cloisterctl test -- CMD` and the pre-push hook (exit code, and counts from a JUnit XML
file when ``tests.junit_xml`` is set), and the agent's own Bash tool calls seen by the Claude Code
hook (commands matching ``tests.patterns``; the outcome read from the tool's response).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import ledger
from cloisterctl.errors import ToolError
from cloisterctl.store import append, snapshot
from cloisterctl.workspace import Workspace

_FAILED = re.compile(
    r"\b[1-9]\d* (?:failed|failing|errors?)\b|^FAILED\b|^FAIL\b|--- FAIL:|test result: FAILED|"
    r"Tests:.*\b[1-9]\d* failed|npm ERR! Test failed|exit code [1-9]\d*|Exit code [1-9]\d*",
    re.MULTILINE,
)
_PASSED = re.compile(
    r"\b\d+ passed\b|^OK\b|^ok\s|test result: ok|Tests:.*\b\d+ passed|^PASS\b|All tests passed", re.MULTILINE
)


def is_test_command(command: str, patterns: Sequence[str]) -> bool:
    return any(re.search(pattern, command) for pattern in patterns)


def outcome_from_tool_response(response: Any) -> bool | None:
    """Passed (True), failed (False) or unknown (None), from a Bash tool response."""
    if isinstance(response, Mapping):
        for key in ("exit_code", "exitCode", "returncode", "code"):
            code = response.get(key)
            if isinstance(code, int) and not isinstance(code, bool):
                return code == 0
        if response.get("interrupted"):
            return None
        text = "\n".join(str(response.get(key) or "") for key in ("stdout", "stderr", "output", "error"))
    else:
        text = str(response or "")
    if _FAILED.search(text):
        return False
    if _PASSED.search(text):
        return True
    return None


def junit_counts(path: Path) -> dict[str, int] | None:
    """tests/failures/errors/skipped summed over the suites of a JUnit XML file; None if unreadable."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in counts:
            try:
                counts[key] += int(suite.get(key, 0) or 0)
            except ValueError:
                pass
    return counts


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    try:
        stat = path.stat() if path is not None else None
    except FileNotFoundError:
        return None
    return None if stat is None else (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def test_run_event(agent: str, now: datetime, **fields: Any) -> ledger.Event:
    return ledger.make_event("test_run", agent, now, **fields)


def run_and_record(
    ws: Workspace, argv: Sequence[str], *, junit: str | None, source: str, clock: Any, lock_timeout: float
) -> int:
    """Run ``argv`` (no shell), record the outcome, return its exit code."""
    if not argv:
        raise ToolError("no test command given")
    report = ws.root / junit if junit else None
    before = _stamp(report)
    started = time.monotonic()
    try:
        code = subprocess.run(list(argv), cwd=ws.root, check=False).returncode
    except FileNotFoundError:
        raise ToolError(f"`{argv[0]}`: command not found") from None
    # Only a report this run wrote counts; a stale one from an earlier run does not.
    counts = junit_counts(report) if report is not None and _stamp(report) not in (None, before) else None
    state = snapshot(ws).state
    fields: dict[str, Any] = {
        "passed": code == 0,
        "exit_code": code,
        "command": " ".join(argv),
        "source": source,
        "tier": state.tier,
        "seconds": round(time.monotonic() - started, 2),
    }
    if counts is not None:
        fields["counts"] = counts
    append(ws, [test_run_event(state.agent, clock(), **fields)], timeout=lock_timeout)
    return code
