from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.ledger import segments
from cloisterctl.workspace.layout import Workspace
from testing.helpers import git, ledger_bytes, ledger_events, write_config


def hook(
    ws: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloisterctl", "hook", *args],
        cwd=cwd or ws,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def signals(ws: Path) -> list[dict[str, Any]]:
    return segments.read_events(Workspace(ws).signals_path).events


def spooled(ws: Path, type_: str) -> list[dict[str, Any]]:
    """What the hooks recorded of ``type_``: always in the machine-local spool, never the ledger."""
    assert not [e for e in ledger_events(ws) if e["type"] == type_], "a hook wrote a tracked file"
    return [e for e in signals(ws) if e["type"] == type_]


# ----------------------------------------------------------------------------------------- git


def test_git_hook_records_the_commit_as_activity(workspace: Path) -> None:
    head = git(workspace, "rev-parse", "HEAD").strip()
    result = hook(workspace, "git", "post-commit")
    assert result.returncode == 0 and result.stderr == ""
    [event] = signals(workspace)
    assert (event["type"], event["source"], event["hook"], event["commit"]) == ("activity", "git", "post-commit", head)
    assert event["ts"].endswith("Z") and len(event["id"]) == 16


def test_git_hook_reads_head_in_a_worktree_with_packed_refs(workspace: Path, tmp_path: Path) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "init cloister")
    git(workspace, "pack-refs", "--all")
    other = tmp_path / "wt"
    git(workspace, "worktree", "add", "-q", "-b", "feature", str(other))
    head = git(other, "rev-parse", "HEAD").strip()
    assert hook(other, "git", "post-checkout", "0" * 40, head, "1").returncode == 0
    [event] = signals(other)
    assert (event["commit"], event["hook"], event["checkout"]) == (head, "post-checkout", "1")


def test_git_hook_infers_the_stage_from_pre_commits_variables(workspace: Path) -> None:
    hook(workspace, "git", env={"PRE_COMMIT_REWRITE_COMMAND": "amend"})
    hook(workspace, "git", env={"PRE_COMMIT_IS_SQUASH_MERGE": "0"})
    hook(workspace, "git", env={"PRE_COMMIT_CHECKOUT_TYPE": "0"})  # a file checkout: not activity
    hook(workspace, "git")
    assert [(e["hook"], e.get("rewrite")) for e in signals(workspace)] == [
        ("post-rewrite", "amend"),
        ("post-merge", None),
        ("post-commit", None),
    ]


def test_events_are_compact_json_lines_with_text_as_written(workspace: Path) -> None:
    hook(workspace, "git", "post-rewrite", env={"PRE_COMMIT_REWRITE_COMMAND": 'rebase "ü"\t'})
    [line] = (workspace / ".cloister" / "local" / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    assert '"rewrite":"rebase \\"ü\\"\\t"' in line and '": ' not in line and '", "' not in line
    assert json.loads(line)["rewrite"] == 'rebase "ü"\t'


def test_cloisterctls_own_commits_are_not_activity(workspace: Path) -> None:
    assert hook(workspace, "git", "post-commit", env={"CLOISTER_SELF_COMMIT": "1"}).returncode == 0
    assert signals(workspace) == []


def test_a_git_hook_never_fails_the_users_git(workspace: Path) -> None:
    spool = workspace / ".cloister" / "local" / "signals.jsonl"
    spool.unlink(missing_ok=True)
    spool.mkdir(parents=True)  # the spool cannot be opened: the hook's own trouble
    result = hook(workspace, "git", "post-commit")
    assert result.returncode == 0
    assert result.stderr.startswith("cloister: git hook:") and "nothing recorded" in result.stderr


def test_outside_a_cloister_workspace_the_hook_does_nothing(repo: Path) -> None:
    result = hook(repo, "git", "post-commit")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# ----------------------------------------------------------------------------------------- beads


ISSUE = {
    "id": "bd-7",
    "title": "Plan: billing",
    "status": "closed",
    "issue_type": "task",
    "labels": ["planning"],
    "dependencies": [{"issue_id": "bd-7", "depends_on_id": "bd-1", "type": "parent-child", "metadata": "{}"}],
}


def test_beads_update_to_closed_is_a_close(workspace: Path) -> None:
    assert hook(workspace, "beads", "bd-7", "update", stdin=json.dumps(ISSUE)).returncode == 0
    [event] = spooled(workspace, "task")
    assert (event["task"], event["event"], event["status"], event["labels"], event["parent"]) == (
        "bd-7",
        "close",
        "closed",
        ["planning"],
        "bd-1",
    )
    hook(workspace, "beads", "bd-8", "update", stdin=json.dumps({**ISSUE, "id": "bd-8", "status": "in_progress"}))
    assert spooled(workspace, "task")[-1]["event"] == "update"


def test_beads_hook_survives_bad_input(workspace: Path) -> None:
    assert hook(workspace, "beads", "bd-9", "close", stdin="not json").returncode == 0
    assert spooled(workspace, "task")[-1]["status"] == "closed"
    result = hook(workspace, "beads")
    assert result.returncode == 0 and "usage: cloisterctl hook beads" in result.stderr


# ----------------------------------------------------------------------------------------- claude


def claude(ws: Path, **payload: Any) -> subprocess.CompletedProcess[str]:
    body = {"session_id": "sess-1", "transcript_path": "/tmp/t.jsonl", "cwd": str(ws), **payload}
    return hook(ws, "claude", stdin=json.dumps(body), cwd=Path("/"))


def test_claude_hooks_record_session_activity_idleness_and_test_runs(workspace: Path) -> None:
    assert claude(workspace, hook_event_name="SessionStart", source="startup").returncode == 0
    claude(workspace, hook_event_name="PostToolUse", tool_name="Edit", tool_input={"file_path": "a.py"})
    claude(
        workspace,
        hook_event_name="PostToolUse",
        tool_name="Bash",
        tool_input={"command": "python -m pytest -q"},
        tool_response={"stdout": "2 failed, 10 passed in 1.2s", "stderr": "", "interrupted": False},
    )
    claude(
        workspace,
        hook_event_name="PostToolUse",
        tool_name="Bash",
        tool_input={"command": "npm test"},
        tool_response={"stdout": "Tests: 12 passed, 12 total", "stderr": ""},
    )
    claude(
        workspace,
        hook_event_name="PostToolUse",
        tool_name="Bash",
        tool_input={"command": "cloisterctl test -- pytest -q"},
        tool_response={"stdout": "1 failed", "stderr": ""},
    )  # records itself: not counted twice
    claude(
        workspace,
        hook_event_name="PostToolUse",
        tool_name="Bash",
        tool_input={"command": "ls -la"},
        tool_response={"stdout": "1 failed", "stderr": ""},
    )
    claude(workspace, hook_event_name="Stop", stop_hook_active=False)
    [started] = spooled(workspace, "session")
    assert (started["session"], started["source"]) == ("sess-1", "hook")
    runs = spooled(workspace, "test_run")
    assert [(r["command"], r["passed"]) for r in runs] == [("python -m pytest -q", False), ("npm test", True)]
    local = signals(workspace)
    assert [e["type"] for e in local].count("idle") == 1
    assert {e.get("tool") for e in local if e["type"] == "activity"} >= {"Edit", "Bash"}


def test_a_reviewers_claude_hooks_record_nothing(workspace: Path) -> None:
    """A reviewer session (handoff.review) is not the agent at work: its tool use, test runs and
    stops are not the agent's activity; its cost comes by the session line its start recorded."""
    review = {"CLOISTER_REVIEW": "bd-1"}
    body = {"session_id": "rev-1", "cwd": str(workspace)}
    for payload in (
        {"hook_event_name": "SessionStart", "source": "startup"},
        {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "pytest"},
         "tool_response": {"stdout": "1 failed", "stderr": ""}},
        {"hook_event_name": "Stop"},
    ):  # fmt: skip
        assert hook(workspace, "claude", stdin=json.dumps({**body, **payload}), env=review).returncode == 0
    assert signals(workspace) == []
    claude(workspace, hook_event_name="Stop")  # the same hook in the agent's own session records
    assert [e["type"] for e in signals(workspace)] == ["idle", "activity"]


def test_claude_hook_exits_zero_on_garbage(workspace: Path) -> None:
    result = hook(workspace, "claude", stdin="{{{")
    assert result.returncode == 0 and "cloister: claude hook:" in result.stderr


@pytest.mark.parametrize("session", ["s\x001", "../../etc/passwd", "-x", "a\nCloister-Commit: bookkeeping"])
def test_a_session_id_that_is_not_a_safe_name_is_dropped_and_the_next_tick_works(workspace: Path, session: str) -> None:
    for event in ("SessionStart", "PostToolUse", "Stop"):
        result = claude(workspace, hook_event_name=event, session_id=session, tool_name="Edit")
        assert result.returncode == 0  # a hook never gets in the agent's way
        assert "line dropped: its session" in result.stderr and "is not a safe name" in result.stderr
    assert not Workspace(workspace).signals_path.exists() or signals(workspace) == []
    tick = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "tick"], capture_output=True, text=True, timeout=120
    )
    assert tick.returncode == 0, tick.stderr
    assert git(workspace, "diff", "--cached", "--name-only") == ""  # nothing left staged


def test_a_beads_hook_with_an_unsafe_task_id_records_nothing(workspace: Path) -> None:
    result = hook(workspace, "beads", "--status", "update", stdin=json.dumps({**ISSUE, "id": "--status"}))
    assert result.returncode == 0 and "its task '--status' is not a safe name" in result.stderr
    deep = hook(workspace, "beads", "bd-9", "update", stdin="[" * 300_000 + "]" * 300_000)
    assert deep.returncode == 0 and "Traceback" not in deep.stderr
    assert [e["task"] for e in signals(workspace)] == ["bd-9"]  # the deep payload reads as no issue data


# ----------------------------------------------------------------------------------------- check


def test_check_hook_fails_on_invalid_front_matter_and_config(workspace: Path) -> None:
    assert hook(workspace, "check", "STATE.md", ".cloister/config.yaml").returncode == 0
    (workspace / "STATE.md").write_text("---\ntitle: [oops\n---\n")
    (workspace / ".cloister" / "config.yaml").write_text("tick:\n  comit: true\n")
    result = hook(workspace, "check", "STATE.md", ".cloister/config.yaml")
    assert result.returncode == 1
    assert "cloister-check: " in result.stderr
    assert "STATE.md:3: invalid YAML in front matter" in result.stderr
    assert ".cloister/config.yaml:2: tick.comit: unknown key 'comit' (did you mean 'commit'?)" in result.stderr


# ----------------------------------------------------------------------------------------- pre-push


def test_pre_push_runs_the_configured_tests_and_records_them(workspace: Path) -> None:
    assert "no tests.command configured" in hook(workspace, "pre-push").stderr
    write_config(workspace, f"tests:\n  command: [{sys.executable}, -c, 'raise SystemExit(1)']\n")
    assert hook(workspace, "pre-push").returncode == 1
    write_config(workspace, f"tests:\n  command: {sys.executable} -c pass\n")
    assert hook(workspace, "pre-push").returncode == 0
    assert [(r["passed"], r["source"]) for r in spooled(workspace, "test_run")] == [
        (False, "pre-push"),
        (True, "pre-push"),
    ]


def test_a_hook_does_not_wait_for_a_held_ledger_lock(workspace: Path) -> None:
    """A tick (or anything else) holding the ledger lock for long never delays git nor drops the event."""
    import subprocess
    import sys

    lock = Workspace(workspace).lock_path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire();"
            " print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for _ in range(3):
            assert hook(workspace, "git", "post-commit").returncode == 0
        assert len(signals(workspace)) == 3
    finally:
        holder.kill()
        holder.wait()


# ----------------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kind", ["git", "claude", "beads", "check", "pre-push"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_usage_and_records_nothing(workspace: Path, kind: str, flag: str) -> None:
    before = ledger_bytes(workspace)
    result = hook(workspace, kind, flag, stdin=json.dumps({"hook_event_name": "Stop", "session_id": "s"}))
    assert result.returncode == 0 and result.stdout.startswith(f"usage: cloisterctl hook {kind}")
    assert signals(workspace) == [] and ledger_bytes(workspace) == before


def test_hook_without_a_kind_prints_the_overview(workspace: Path) -> None:
    result = hook(workspace, "--help")
    assert result.returncode == 0 and "hook git post-commit" in result.stdout and "hook claude" in result.stdout
    bare = hook(workspace)
    assert bare.returncode == 2 and bare.stderr.startswith("usage: cloisterctl hook")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["git", "bogus"], "", "cloister: git hook: unknown stage 'bogus' (post-commit, post-merge"),
        (["git", "post-frobnicate"], "", "unknown stage 'post-frobnicate'"),
        (["claude"], "", "cloister: claude hook: no hook event"),
        (["claude", "bogus"], "", "cloister: claude hook: unknown hook event 'bogus'"),
        (["claude"], json.dumps({"hook_event_name": "Bogus", "session_id": "s"}), "unknown hook event 'Bogus'"),
        (["beads", "bd-1", "bogus"], json.dumps({"id": "bd-1"}), "cloister: beads hook: unknown event 'bogus'"),
    ],
)
def test_unknown_stages_and_events_record_nothing_and_exit_zero(
    workspace: Path, args: list[str], stdin: str, message: str
) -> None:
    before = ledger_bytes(workspace)
    result = hook(workspace, *args, stdin=stdin)
    assert result.returncode == 0 and message in result.stderr and "nothing recorded" in result.stderr
    assert signals(workspace) == [] and ledger_bytes(workspace) == before


def test_a_known_claude_event_from_the_argument_still_records(workspace: Path) -> None:
    assert hook(workspace, "claude", "Stop").returncode == 0
    assert [e["type"] for e in signals(workspace)] == ["idle", "activity"]
