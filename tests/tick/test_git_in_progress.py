"""A git operation in progress (a rebase stopped on a conflict, a merge, a detached HEAD) is never
disturbed: commands record to the machine-local spool only, and the first tick after it ends
commits what they recorded."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cloisterctl.workspace import git as git_calls
from testing.helpers import cli, git, ledger_events, spooled_events, write_tasks

TASK = {"_type": "issue", "id": "e-1", "title": "Fix typo in README", "status": "open", "issue_type": "chore"}


def _porcelain(ws: Path) -> list[str]:
    return git(ws, "status", "--porcelain").splitlines()


def _committed(ws: Path) -> list[str]:
    return git(ws, "log", "--format=%s").splitlines()


@pytest.fixture
def conflicted(workspace: Path) -> Path:
    """A workspace on branch `side`, rebasing onto `main`, stopped on a conflict in notes.txt."""
    write_tasks(workspace, [TASK])
    (workspace / "notes.txt").write_text("base\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "tasks")
    git(workspace, "checkout", "-q", "-b", "side")
    (workspace / "notes.txt").write_text("side\n")
    git(workspace, "commit", "-q", "-am", "side")
    git(workspace, "checkout", "-q", "main")
    (workspace / "notes.txt").write_text("main\n")
    git(workspace, "commit", "-q", "-am", "main")
    git(workspace, "checkout", "-q", "side")
    stopped = subprocess.run(["git", "rebase", "main"], cwd=workspace, capture_output=True, text=True)
    assert stopped.returncode != 0 and "CONFLICT" in stopped.stdout + stopped.stderr
    return workspace


def test_operation_in_progress_names_each_operation_and_a_detached_head(conflicted: Path) -> None:
    assert git_calls.operation_in_progress(conflicted) == "rebase"
    git(conflicted, "rebase", "--abort")
    assert git_calls.operation_in_progress(conflicted) is None
    git(conflicted, "checkout", "-q", "--detach")
    assert git_calls.operation_in_progress(conflicted) == "detached HEAD"
    git(conflicted, "checkout", "-q", "side")
    assert subprocess.run(["git", "merge", "main"], cwd=conflicted, capture_output=True).returncode != 0
    assert git_calls.operation_in_progress(conflicted) == "merge"
    git(conflicted, "merge", "--abort")
    assert subprocess.run(["git", "cherry-pick", "main"], cwd=conflicted, capture_output=True).returncode != 0
    assert git_calls.operation_in_progress(conflicted) == "cherry-pick"
    git(conflicted, "cherry-pick", "--abort")
    (conflicted / "notes.txt").write_text("later\n")
    git(conflicted, "commit", "-q", "-am", "later")
    assert subprocess.run(["git", "revert", "--no-edit", "HEAD~1"], cwd=conflicted, capture_output=True).returncode != 0
    assert git_calls.operation_in_progress(conflicted) == "revert"
    git(conflicted, "revert", "--abort")
    git(conflicted, "bisect", "start")
    assert git_calls.operation_in_progress(conflicted) == "bisect"
    git(conflicted, "bisect", "reset")
    # A linked worktree has its own markers: the main one's rebase is not the worktree's.
    git(conflicted, "worktree", "add", "-q", str(conflicted.parent / "wt"), "-b", "wt")
    assert git_calls.operation_in_progress(conflicted.parent / "wt") is None
    assert git_calls.operation_in_progress(conflicted) is None


def test_a_rebase_stopped_on_a_conflict_is_left_alone_and_continues(conflicted: Path) -> None:
    ws = conflicted
    before = _committed(ws)
    ledger_before = len(ledger_events(ws))

    ticked = cli(ws, "tick", "--json")
    assert json.loads(ticked.stdout)[0]["held"] == "a rebase is in progress"
    renamed = json.loads(cli(ws, "init", "--agent", "zed", "--json").stdout)  # the agent's name, too
    assert renamed["problems"] == [
        "a rebase is in progress: recorded locally (.cloister/local/); the next tick after it finishes commits it"
    ]
    routed = cli(ws, "route", "e-1", "--record")
    assert "recorded locally" in routed.stdout
    # Every warning is one whole sentence, never cut.
    assert routed.stderr.strip() == (
        "cloisterctl: a rebase is in progress: recorded locally (.cloister/local/); "
        "the next tick after it finishes commits it"
    )
    assert _porcelain(ws) == ["UU notes.txt"]  # only the conflict: no STATE.md, no segment
    assert len(ledger_events(ws)) == ledger_before
    assert [e["task"] for e in spooled_events(ws) if e["type"] == "route"] == ["e-1"]

    status = cli(ws, "status", "--json")
    view = json.loads(status.stdout)
    assert view["waiting"] == "a rebase is in progress: recording locally; the next tick after it finishes commits"
    assert (view["task"], view["tier"]) == ("e-1", "sonnet")  # the spool is folded
    assert "waiting" in cli(ws, "status").stdout

    (ws / "notes.txt").write_text("resolved\n")
    git(ws, "add", "notes.txt")
    done = subprocess.run(
        ["git", "rebase", "--continue"],
        cwd=ws,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_EDITOR": "true"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _committed(ws)[: len(before)] != before  # rebased onto main

    report = json.loads(cli(ws, "tick", "--json").stdout)[0]
    assert report["held"] is None and report["commit"]
    assert _committed(ws)[0] == "cloister: route e-1 -> sonnet"
    assert [e["task"] for e in ledger_events(ws) if e["type"] == "route"] == ["e-1"]
    assert [e["agent"] for e in ledger_events(ws) if e["type"] == "init"][-1] == "zed"
    assert not [e for e in spooled_events(ws) if e["type"] == "route"]
    assert _porcelain(ws) == []


def test_a_detached_head_records_locally_until_a_branch_is_checked_out(workspace: Path) -> None:
    ws = workspace
    write_tasks(ws, [TASK])
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "tasks")
    git(ws, "checkout", "-q", "--detach")
    head = git(ws, "rev-parse", "HEAD")

    # The complexity override file is tracked: without bd, `complexity set` refuses and writes nothing.
    refused = cli(ws, "complexity", "set", "e-1", "simple", check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == (
        "cloisterctl: error: HEAD is detached: complexity set writes .cloister/complexity.yaml, a tracked file; "
        "nothing written, run it again once the operation finishes"
    )
    assert not (ws / ".cloister" / "complexity.yaml").exists()
    cli(ws, "route", "e-1", "--record")
    report = json.loads(cli(ws, "tick", "--json").stdout)[0]
    assert report["held"] == "HEAD is detached" and report["commit"] is None
    assert git(ws, "rev-parse", "HEAD") == head  # nothing committed where a checkout would drop it
    assert _porcelain(ws) == []
    view = json.loads(cli(ws, "status", "--json").stdout)
    assert view["tier"] == "sonnet" and view["waiting"].startswith("HEAD is detached: recording locally")

    git(ws, "checkout", "-q", "main")
    assert json.loads(cli(ws, "tick", "--json").stdout)[0]["commit"]
    assert _committed(ws)[0] == "cloister: route e-1 -> sonnet"
    assert _porcelain(ws) == []
    assert json.loads(cli(ws, "status", "--json").stdout)["waiting"] is None
