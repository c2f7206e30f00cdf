"""Hostile config: an alias bomb, deep nesting, non-finite or absurd numbers. Each is a one-line
error naming the file and line, wherever the config is read (validate, tick, route, the hooks), and
nothing is written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing.helpers import DATA, run, tree_digest

BAD = DATA / "bad"


def _install(workspace: Path, name: str) -> Path:
    target = workspace / ".cloister" / "config.yaml"
    shutil.copy(BAD / name, target)
    return target


def _one_line_error(output: str, needle: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert needle in lines[0], output


@pytest.mark.parametrize("command", [["config", "validate"], ["tick"], ["route", "bd-1"], ["status"]])
def test_an_alias_bomb_is_refused_at_its_line(workspace: Path, command: list[str]) -> None:
    _install(workspace, "config-alias-bomb.yaml")
    before = tree_digest(workspace)
    result = run(workspace, *command)
    assert result.exit_code == 1
    _one_line_error(result.output, ".cloister/config.yaml:9: its aliases expand to more than 100,000 values")
    assert tree_digest(workspace) == before


def test_the_hooks_refuse_an_alias_bomb_without_blocking(workspace: Path) -> None:
    _install(workspace, "config-alias-bomb.yaml")
    check = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "hook", "check", ".cloister/config.yaml"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 1  # the check hook's job is to fail the commit
    assert ".cloister/config.yaml:9: its aliases expand to more than 100,000 values" in check.stderr
    payload = {
        "hook_event_name": "PostToolUse",
        "session_id": "s",
        "cwd": str(workspace),
        "tool_name": "Bash",
        "tool_input": {"command": "pytest -q"},
        "tool_response": {"stdout": "1 failed"},
    }
    agent = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "hook", "claude"],
        cwd=workspace,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert agent.returncode == 0  # an agent hook never gets in the agent's way
    assert "its aliases expand to more than 100,000 values" in agent.stderr


def test_nesting_too_deep_is_refused(workspace: Path) -> None:
    (workspace / ".cloister" / "config.yaml").write_text("tick: " + "[" * 50_000 + "]" * 50_000 + "\n")
    result = run(workspace, "config", "validate")
    assert result.exit_code == 1
    _one_line_error(result.output, ".cloister/config.yaml:1:")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "config-inf-cooldown.yaml",
            ".cloister/config.yaml:3: handoffs.guards.cooldown_minutes: must be a finite number",
        ),
        ("config-nan-lock.yaml", ".cloister/config.yaml:1: lock_timeout_seconds: must be a finite number"),
        ("config-huge-cooldown.yaml", ".cloister/config.yaml:3: handoffs.guards.cooldown_minutes: must be at most"),
    ],
)
def test_non_finite_and_absurd_numbers_fail_validation_at_their_line(workspace: Path, name: str, message: str) -> None:
    _install(workspace, name)
    result = run(workspace, "config", "validate")
    assert result.exit_code == 1
    assert message in result.output
    ticked = run(workspace, "tick")
    assert ticked.exit_code == 1 and message in ticked.output and "Traceback" not in ticked.output


def test_a_nan_lock_timeout_in_the_environment_is_reported_not_a_crash(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOISTER_LOCK_TIMEOUT", "nan")
    result = run(workspace, "config", "validate")
    assert result.exit_code == 1
    assert "env CLOISTER_LOCK_TIMEOUT: lock_timeout_seconds: must be a finite number" in result.output
