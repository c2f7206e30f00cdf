"""Telling a test run from an agent's Bash command, and its outcome from the tool's output. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

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
