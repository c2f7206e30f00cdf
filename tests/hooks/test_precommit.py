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
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloisterctl.state import ledger
from cloisterctl.state.workspace import Workspace
from testing.helpers import (
    REPO_ROOT,
    STANDIN_BD,
    TASKS,
    cli,
    finish_handoff,
    git,
    handoff_events,
    ledger_events,
    run,
    tick_json,
    tmux_sessions,
    write_tasks,
)

pytestmark = pytest.mark.slow


def pre_commit(*args: str, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pre-commit {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's files (tracked and new, not ignored), committed to a scratch repo."""
    snapshot = tmp_path_factory.mktemp("hooks-repo")
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=snapshot, check=True, env=env)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=snapshot, capture_output=True, text=True, check=True
    ).stdout.strip()
    return snapshot, sha


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def pc_env(pre_commit_home: Path) -> Iterator[dict[str, str]]:
    yield {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home)}


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


def install_hooks(ws: Path, hooks_repo: tuple[Path, str], env: dict[str, str]) -> None:
    snapshot, sha = hooks_repo
    (ws / ".pre-commit-config.yaml").write_text(
        "default_install_hook_types: [pre-commit, post-commit, post-merge, post-checkout, post-rewrite]\n"
        "repos:\n"
        f"  - repo: {snapshot}\n"
        f"    rev: {sha}\n"
        "    hooks:\n"
        "      - id: cloister-check\n"
        "      - id: cloister-activity\n"
    )
    pre_commit("install", "--install-hooks", cwd=ws, env=env)


def activity(ws: Path) -> list[dict[str, object]]:
    return [e for e in ledger.read_events(Workspace(ws).signals_path).events if e.get("source") == "git"]


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
    task_events = [e for e in ledger_events(agent_ws) if e["type"] == "task"]
    assert [(e["task"], e["event"], e["source"]) for e in task_events] == [("app-plan", "close", "beads-hook")]

    report = tick_json(agent_ws)[0]
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
