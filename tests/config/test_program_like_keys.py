"""Keys that act like programs (an identity, other repositories, paths read, regular expressions)
need trust like commands do; the list is the schema's, and the README lists exactly it; a pattern
that backtracks for ages is cut short by a bounded matcher."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cloisterctl.config.trust import TRUSTED_KEYS
from testing.helpers import DATA, REPO_ROOT, git, run, write_tasks

BAD = DATA / "bad"
# Backtracks ~fib(44) times under `re`: minutes, not milliseconds.
CATASTROPHIC = "a" * 44 + "!"


def _stranger(workspace: Path) -> Path:
    shutil.copy(BAD / "config-program-like-keys.yaml", workspace / ".cloister" / "config.yaml")
    return workspace


def _post_tool_use(workspace: Path, command: str) -> tuple[subprocess.CompletedProcess[str], float]:
    payload = {
        "hook_event_name": "PostToolUse",
        "session_id": "s",
        "cwd": str(workspace),
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_response": {"stdout": "1 passed", "exit_code": 0},
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "hook", "claude"],
        input=json.dumps(payload),
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return result, time.monotonic() - started


def test_the_trust_needing_keys_are_the_schema_s_and_include_every_key_that_acts() -> None:
    keys = {".".join(path) for path in TRUSTED_KEYS}
    assert {
        "tick.author_name",
        "tick.author_email",
        "tick.workspaces",
        "routing.history",
        "beads.jsonl",
        "beads.command",
        "tests.command",
        "tests.patterns",
        "complexity.keywords",
        "runtime.spawn",
        "runtime.resume",
        "runtime.env",
        "runtime.exit_text",
        "runtime.save_request",
        "verification.commands",
        "verification.reviewer",
    } == keys


def test_the_readme_lists_exactly_the_trust_needing_keys() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Trust", 1)[1].split("\n### ", 1)[0]
    [listing] = [line for line in section.splitlines() if line.startswith("Keys that need trust:")]
    assert set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", listing)) == {".".join(path) for path in TRUSTED_KEYS}


def test_a_stranger_s_program_like_keys_are_ignored_with_their_lines(workspace: Path) -> None:
    _stranger(workspace)
    status = run(workspace, "status")
    assert status.exit_code == 0, status.output
    assert (
        "warning: .cloister/config.yaml sets tick.author_name (line 5), tick.author_email (line 6), "
        "tick.workspaces (line 7), routing.history (line 9), beads.jsonl (line 11), tests.patterns (line 13), "
        "complexity.keywords (line 15), ignored until `cloisterctl trust` in this clone"
    ) in status.output
    shown = json.loads(run(workspace, "config", "show", "--json").output)["config"]
    assert shown["tick"]["author_name"] == "cloisterctl" and shown["tick"]["workspaces"] == []
    assert shown["routing"]["history"] is None and shown["beads"]["jsonl"] == ".beads/issues.jsonl"
    assert "typo" not in shown["complexity"]["keywords"]["expert"]
    # tick --all covers this workspace only, and tick commits as cloisterctl, not as Mallory.
    (workspace / "STATE.md").write_text((workspace / "STATE.md").read_text() + "\nnotes\n")
    ticked = run(workspace, "tick", "--all", "--json")
    assert ticked.exit_code == 0, ticked.output
    assert [Path(r["workspace"]).name for r in json.loads(ticked.output)] == [workspace.name]
    assert "Mallory" not in git(workspace, "log", "--format=%an %ae %cn %ce")


def test_an_untrusted_backtracking_pattern_never_runs(workspace: Path) -> None:
    _stranger(workspace)
    result, seconds = _post_tool_use(workspace, CATASTROPHIC)
    assert result.returncode == 0 and seconds < 10


def test_a_trusted_backtracking_pattern_is_cut_short(workspace: Path) -> None:
    (workspace / ".cloister" / "config.yaml").write_text("tests:\n  patterns: ['^(a|aa)+$', '^make check$']\n")
    assert run(workspace, "trust").exit_code == 0
    result, seconds = _post_tool_use(workspace, CATASTROPHIC)
    assert result.returncode == 0 and seconds < 10, result.stderr
    runs = [json.loads(line) for line in (workspace / ".cloister" / "local" / "signals.jsonl").read_text().splitlines()]
    assert not [event for event in runs if event["type"] == "test_run"]  # too slow: no match
    result, _seconds = _post_tool_use(workspace, "make check")  # the other patterns still count
    runs = [json.loads(line) for line in (workspace / ".cloister" / "local" / "signals.jsonl").read_text().splitlines()]
    assert [event["command"] for event in runs if event["type"] == "test_run"] == ["make check"]


def test_a_trusted_history_that_is_a_device_is_one_line_not_a_hang(workspace: Path) -> None:
    (workspace / ".cloister" / "config.yaml").write_text("routing:\n  history: /dev/zero\n")
    assert run(workspace, "trust").exit_code == 0
    write_tasks(workspace, [{"id": "bd-1", "title": "Fix typo", "status": "open"}])
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "route", "bd-1"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "/dev/zero: not a routing history file (routing.history)" in result.stdout + result.stderr
