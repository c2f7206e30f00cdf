"""cloisterctl's hooks through the real pre-commit, in real git repos.

pre-commit builds an environment for the hook repo (about 20 s the first time), so these share
one PRE_COMMIT_HOME per session and a snapshot of this checkout committed to a scratch repo
(`try-repo` and `repo:` both read commits; the snapshot includes uncommitted work).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloisterctl.ledger import segments
from cloisterctl.workspace.layout import Workspace
from testing.helpers import (
    REPO_ROOT,
    STANDIN_BD,
    TASKS,
    cli,
    events,
    finish_handoff,
    git,
    handoff_events,
    install_hooks,
    ledger_events,
    pre_commit,
    run,
    spooled_events,
    tick_json,
    tmux_sessions,
    write_config,
    write_tasks,
)

pytestmark = pytest.mark.slow


def test_the_manifest_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(REPO_ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_try_repo_runs_the_check_hook(workspace: Path, hooks_repo: tuple[Path, str], pc_env: dict[str, str]) -> None:
    snapshot, _ = hooks_repo
    git(workspace, "add", "-A")
    ok = pre_commit("try-repo", str(snapshot), "cloister-check", "--all-files", cwd=workspace, env=pc_env)
    assert "cloister check" in ok.stdout and "Passed" in ok.stdout
    (workspace / "STATE.md").write_text("---\ntitle: [unclosed\n---\n")
    git(workspace, "add", "STATE.md")
    failed = pre_commit(
        "try-repo", str(snapshot), "cloister-check", "--all-files", cwd=workspace, env=pc_env, check=False
    )
    assert failed.returncode == 1
    assert "cloister-check: " in failed.stdout and "STATE.md:3: invalid YAML in front matter" in failed.stdout


def activity(ws: Path) -> list[dict[str, object]]:
    return [e for e in segments.read_events(Workspace(ws).signals_path).events if e.get("source") == "git"]


def test_installed_hooks_see_real_commits_merges_checkouts_and_rewrites(
    workspace: Path, hooks_repo: tuple[Path, str], pc_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    install_hooks(workspace, hooks_repo, pc_env)
    monkeypatch.setenv("PRE_COMMIT_HOME", pc_env["PRE_COMMIT_HOME"])
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "set up cloister")
    head = git(workspace, "rev-parse", "HEAD").strip()
    assert [(e["hook"], e["commit"]) for e in activity(workspace)] == [("post-commit", head)]

    git(workspace, "checkout", "-q", "-b", "feature")
    (workspace / "feature.txt").write_text("x\n")
    git(workspace, "add", "feature.txt")
    git(workspace, "commit", "-q", "-m", "feature")
    git(workspace, "commit", "-q", "--amend", "-m", "feature, reworded")
    git(workspace, "checkout", "-q", "main")
    git(workspace, "merge", "-q", "--no-ff", "--no-edit", "feature")
    hooks = [e["hook"] for e in activity(workspace)]
    # (a merge commit runs post-merge, not post-commit)
    assert hooks == [
        "post-commit",
        "post-checkout",
        "post-commit",
        "post-commit",
        "post-rewrite",
        "post-checkout",
        "post-merge",
    ]
    assert activity(workspace)[-1]["commit"] == git(workspace, "rev-parse", "HEAD").strip()

    # The pre-commit stage check blocks a commit with broken front matter.
    (workspace / "STATE.md").write_text("---\nbroken: [\n---\n")
    git(workspace, "add", "STATE.md")
    blocked = subprocess.run(["git", "commit", "-q", "-m", "oops"], cwd=workspace, capture_output=True, text=True)
    assert blocked.returncode != 0 and "invalid YAML in front matter" in blocked.stdout + blocked.stderr
    git(workspace, "checkout", "-q", "HEAD", "--", "STATE.md")


def test_done_when_with_every_hook_installed(
    agent_ws: Path,
    hooks_repo: tuple[Path, str],
    pc_env: dict[str, str],
    tmux_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """pre-commit hooks, beads hooks and agent hooks installed; a planner on opus closes its plan
    task with (a stand-in) bd; one tick decides once; git log -p shows it; the next tick is quiet."""
    monkeypatch.setenv("PRE_COMMIT_HOME", pc_env["PRE_COMMIT_HOME"])
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(STANDIN_BD, bindir / "bd")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("BD_STANDIN_WAIT_HOOKS", "1")
    write_tasks(agent_ws, TASKS)
    install_hooks(agent_ws, hooks_repo, pc_env)
    assert run(agent_ws, "install", "beads-hooks").exit_code == 0
    assert run(agent_ws, "install", "agent-hooks").exit_code == 0
    git(agent_ws, "add", "-A")
    git(agent_ws, "commit", "-q", "-m", "tasks and hooks")

    planner = json.loads(cli(agent_ws, "spawn", "app-plan", "--json").stdout)
    assert planner["tier"] == "opus"
    tick_json(agent_ws)
    closed = subprocess.run(
        ["bd", "close", "app-plan", "--reason", "plan agreed", "--json"], cwd=agent_ws, capture_output=True, text=True
    )
    assert closed.returncode == 0, closed.stderr
    # The beads hook spooled the change (a hook never writes a tracked file): the tree is clean.
    spooled = [e for e in segments.read_events(Workspace(agent_ws).signals_path).events if e["type"] == "task"]
    assert [(e["task"], e["event"], e["source"]) for e in spooled] == [("app-plan", "close", "beads-hook")]
    assert not [e for e in ledger_events(agent_ws) if e["type"] == "task"]
    assert git(agent_ws, "status", "--porcelain", "--", "STATE.md", ".cloister") == ""

    report = tick_json(agent_ws)[0]
    # The tick moved it to the ledger, and committed it with its decision.
    task_events = [e for e in ledger_events(agent_ws) if e["type"] == "task"]
    assert [(e["task"], e["event"], e["source"]) for e in task_events] == [("app-plan", "close", "beads-hook")]
    assert [d["summary"].split(" [")[0] for d in report["decisions"]] == ["planning_complete: opus -> sonnet"]
    finish_handoff(agent_ws)
    assert handoff_events(agent_ws)[-1] == ("completed", "done")
    assert len(tmux_sessions(tmux_socket)) == 1
    log = git(agent_ws, "log", "-p", "--author=cloisterctl")
    assert "cloister: planning_complete: opus -> sonnet applied" in log and '"trigger":"planning_complete"' in log
    # The SessionStart hook of the new (stand-in) session told us its id.
    sessions = [e for e in ledger_events(agent_ws) if e["type"] == "session" and e.get("source") == "hook"]
    assert sessions
    # cloisterctl's own commits did not count as activity.
    own = {line.split()[0] for line in git(agent_ws, "log", "--author=cloisterctl", "--format=%H").splitlines() if line}
    assert not own & {str(e["commit"]) for e in activity(agent_ws)}
    time.sleep(0.5)
    decisions_before = len([e for e in ledger_events(agent_ws) if e["type"] == "decision"])
    tick_json(agent_ws)
    assert len([e for e in ledger_events(agent_ws) if e["type"] == "decision"]) == decisions_before


def test_a_push_through_cloister_pre_push_goes_with_passing_tests_and_stops_with_failing_ones(
    workspace: Path,
    hooks_repo: tuple[Path, str],
    pc_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The real pre-commit, a real bare remote: the hook records its run in the signal spool (a
    hook never changes a tracked file, which pre-commit would fail the push for)."""
    monkeypatch.setenv("PRE_COMMIT_HOME", pc_env["PRE_COMMIT_HOME"])
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(workspace, "remote", "add", "origin", str(remote))
    check = "import pathlib, sys; sys.exit(1 if pathlib.Path('failing').exists() else 0)"
    write_config(workspace, f"tests:\n  command: [{json.dumps(sys.executable)}, -c, {json.dumps(check)}]\n")
    install_hooks(workspace, hooks_repo, pc_env, pre_push=True)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister, with its pre-push hook")

    pushed = subprocess.run(["git", "push", "-u", "origin", "main"], cwd=workspace, capture_output=True, text=True)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "cloister tests before push" in pushed.stdout + pushed.stderr
    assert git(workspace, "status", "--porcelain") == ""  # nothing tracked was touched
    runs = [e for e in spooled_events(workspace) if e["type"] == "test_run"]
    assert [(r["passed"], r["source"]) for r in runs] == [(True, "pre-push")]
    assert not [e for e in ledger_events(workspace) if e["type"] == "test_run"]

    (workspace / "failing").write_text("")
    (workspace / "more.txt").write_text("more\n")
    git(workspace, "add", "more.txt")
    git(workspace, "commit", "-q", "-m", "more")
    refused = subprocess.run(["git", "push"], cwd=workspace, capture_output=True, text=True)
    assert refused.returncode != 0
    assert git(workspace, "rev-parse", "origin/main") != git(workspace, "rev-parse", "HEAD")
    assert git(workspace, "ls-remote", str(remote), "main").split()[0] == git(workspace, "rev-parse", "HEAD~1").strip()
    runs = [e for e in spooled_events(workspace) if e["type"] == "test_run"]
    assert [r["passed"] for r in runs] == [True, False]

    # Test runs are bookkeeping: a tick makes no commit for them; they wait in the spool, folded by
    # every reader, for cloisterctl's next commit.
    assert tick_json(workspace)[0]["commit"] is None
    assert [e["passed"] for e in events(workspace) if e["type"] == "test_run"] == [True, False]
    assert not [e for e in ledger_events(workspace) if e["type"] == "test_run"]
    assert git(workspace, "status", "--porcelain") == "?? failing\n"
