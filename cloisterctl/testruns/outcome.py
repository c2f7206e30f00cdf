"""Telling a test run from an agent's Bash command, and its outcome from the tool's output. Pure.

``tests.patterns`` are regular expressions, and one such as ``^(a|aa)+$`` backtracks for ages on
a long enough command. The built-in patterns (ours, written not to) run with ``re``; any other
pattern runs with the ``regex`` package and a time limit (``MATCH_SECONDS``): a pattern that takes
longer counts as no match. ``regex`` is imported only when such a pattern is there, so the agent's
hook pays nothing for it by default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cloisterctl.config.schema import TEST_PATTERNS

# `cloisterctl test` in an agent's Bash command: it records its own run.
SELF_RECORDING = r"(^|[\s;&|(])cloisterctl test(\s|$)"
BUILT_IN = frozenset({*TEST_PATTERNS, SELF_RECORDING})
MATCH_SECONDS = 0.05  # per pattern; regex checks its clock coarsely, so a runaway stops within ~0.2 s

_FAILED = re.compile(
    r"\b[1-9]\d* (?:failed|failing|errors?)\b|^FAILED\b|^FAIL\b|--- FAIL:|test result: FAILED|"
    r"Tests:.*\b[1-9]\d* failed|npm ERR! Test failed|exit code [1-9]\d*|Exit code [1-9]\d*",
    re.MULTILINE,
)


_PASSED = re.compile(
    r"\b\d+ passed\b|^OK\b|^ok\s|test result: ok|Tests:.*\b\d+ passed|^PASS\b|All tests passed", re.MULTILINE
)


def is_test_command(command: str, patterns: Sequence[str]) -> bool:
    return any(_search(pattern, command) for pattern in patterns)


def _search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches in ``text``: ours with ``re``, any other one bounded in time."""
    if pattern in BUILT_IN:
        return re.search(pattern, text) is not None
    import regex  # a bounded matcher (its timeout); ~25 ms to import, so only for others' patterns

    try:
        return regex.search(pattern, text, timeout=MATCH_SECONDS) is not None
    except (TimeoutError, regex.error):
        return False  # too slow (or not valid here: `config validate` reports it)


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
