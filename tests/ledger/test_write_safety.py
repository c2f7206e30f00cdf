"""Validate, then write, then report: a command that fails has written nothing (or says what it
wrote), a retry counts once, and STATE.md is written where its user wants it or not at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloisterctl.ledger import segments
from cloisterctl.ledger.events import make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import at, events, git, ledger_bytes, run

TASK = '{"id":"bd-1","title":"Fix typo in README","status":"open","labels":["docs"]}\n'


@pytest.fixture
def tasks_ws(workspace: Path) -> Path:
    (workspace / ".beads").mkdir()
    (workspace / ".beads" / "issues.jsonl").write_text(TASK)
    return workspace


def _usage(workspace: Path, *extra: str) -> object:
    return run(
        workspace, "usage", "add", "--model", "claude-haiku-4-5-20251001", "--input", "1000", "--output", "10", *extra
    )


def test_route_record_on_an_invalid_state_md_writes_nothing(tasks_ws: Path) -> None:
    ws = Workspace(tasks_ws)
    ws.state_md.write_text("---\ncloister: [unclosed\n---\nbody\n")
    before = (ledger_bytes(ws.root), ws.state_md.read_bytes())
    result = run(tasks_ws, "route", "bd-1", "--record")
    assert result.exit_code == 1
    assert result.output.startswith(f"cloisterctl: error: {ws.state_md}:")
    assert "invalid YAML in front matter" in result.output
    assert (ledger_bytes(ws.root), ws.state_md.read_bytes()) == before


def test_a_read_only_state_md_is_an_error_and_left_alone(tasks_ws: Path) -> None:
    ws = Workspace(tasks_ws)
    ws.state_md.chmod(0o444)
    before = (ledger_bytes(ws.root), ws.state_md.read_bytes())
    result = run(tasks_ws, "route", "bd-1", "--record")
    assert result.exit_code == 1
    assert "the file is read-only; nothing was written" in result.output
    assert (ledger_bytes(ws.root), ws.state_md.read_bytes()) == before
    assert ws.state_md.stat().st_mode & 0o777 == 0o444


def test_a_symlinked_state_md_is_written_through_to_its_target(tasks_ws: Path) -> None:
    ws = Workspace(tasks_ws)
    docs = tasks_ws / "docs"
    docs.mkdir()
    target = docs / "STATE.md"
    os.replace(ws.state_md, target)
    ws.state_md.symlink_to(Path("docs") / "STATE.md")
    assert run(tasks_ws, "route", "bd-1", "--record").exit_code == 0
    assert ws.state_md.is_symlink() and os.readlink(ws.state_md) == "docs/STATE.md"
    assert "task: bd-1" in target.read_text()


def test_usage_add_counts_a_retry_once(workspace: Path) -> None:
    ws = Workspace(workspace)
    first = _usage(workspace, "--json")
    assert first.exit_code == 0  # type: ignore[attr-defined]
    again = _usage(workspace)
    assert again.exit_code == 0 and "already recorded" in again.output  # type: ignore[attr-defined]
    events_ = [e for e in events(ws.root) if e["type"] == "usage"]
    assert len(events_) == 1
    other = _usage(workspace, "--id", "second-batch")
    assert other.exit_code == 0  # type: ignore[attr-defined]
    assert len([e for e in events(ws.root) if e["type"] == "usage"]) == 2


def test_usage_add_on_a_held_lock_records_nothing_and_its_retry_counts_once(workspace: Path) -> None:
    ws = Workspace(workspace)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire();"
            " print('held', flush=True); time.sleep(30)",
            str(ws.lock_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = ledger_bytes(ws.root)
        env = {**os.environ, "CLOISTER_LOCK_TIMEOUT": "0.3"}
        blocked = subprocess.run(
            [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "usage", "add", "--model", "claude-haiku-4-5-20251001",
             "--input", "1000", "--output", "10"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert blocked.returncode == 1 and "is locked by another cloisterctl process" in blocked.stderr
        assert ledger_bytes(ws.root) == before
    finally:
        holder.kill()
        holder.wait()
    assert _usage(workspace).exit_code == 0  # type: ignore[attr-defined]
    assert _usage(workspace).exit_code == 0  # type: ignore[attr-defined]
    assert len([e for e in events(ws.root) if e["type"] == "usage"]) == 1


def test_absurd_token_counts_are_refused_before_writing(workspace: Path) -> None:
    ws = Workspace(workspace)
    before = ledger_bytes(ws.root)
    result = run(
        workspace, "usage", "add", "--model", "claude-haiku-4-5-20251001", "--input", str(10**30), "--output", "1"
    )
    assert result.exit_code == 1 and "is not a plausible token count" in result.output
    assert ledger_bytes(ws.root) == before


def test_a_decision_without_git_on_path_is_reported_not_a_traceback(
    tasks_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tasks_ws)
    git(tasks_ws, "add", "-A")
    git(tasks_ws, "commit", "-q", "-m", "tasks")
    segments.append_segments(
        ws,
        [
            make_event("route", "repo", at("2026-12-01T10:00:00Z"), task="bd-1", tier="haiku", model="m"),
            make_event("task", "repo", at("2026-12-01T10:01:00Z"), task="bd-1", status="closed", event="close"),
        ],
    )
    (tasks_ws / ".beads" / "issues.jsonl").write_text(TASK.replace('"open"', '"closed"'))
    monkeypatch.setenv("PATH", "/nonexistent")
    result = run(tasks_ws, "tick", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)[0]
    # recorded, and said so (nothing is ready after bd-1: the agent is left idle)
    assert [(d["status"], d["summary"].split(" [")[0]) for d in report["decisions"]] == [
        ("applied", "task_completed: idle on haiku")
    ]
    assert "not committing: git is not installed (no `git` on PATH)" in report["problems"]
