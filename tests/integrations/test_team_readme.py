"""README "Working as a team": the once-per-clone commands, run verbatim in a fresh clone of a bare
remote (cron through a stand-in `crontab`), then a teammate's day: commits through the hooks, a
route, ticks with cost, a pull --rebase over another clone's push. The tree is never left dirty."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testing.helpers import TASKS, cli, crontab_stand_in, git, readme_block, readme_pre_commit_config, write_tasks
from testing.team import push_to_bare_remote

pytestmark = pytest.mark.slow


def test_the_readme_s_team_steps_work_verbatim_in_a_fresh_clone(
    workspace: Path, tmp_path: Path, pc_env: dict[str, str]
) -> None:
    write_tasks(workspace, TASKS)
    (workspace / ".pre-commit-config.yaml").write_text(readme_pre_commit_config())
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister, tasks and the hooks")
    remote = push_to_bare_remote(workspace, tmp_path)

    steps = readme_block("cloisterctl install git", "sh")
    assert steps.splitlines()[0].startswith("git clone URL ")
    cron_bin, table = crontab_stand_in(tmp_path)
    env = {**pc_env, "PATH": f"{cron_bin}{os.pathsep}{pc_env['PATH']}"}
    done = subprocess.run(
        ["bash", "-euc", steps.replace("URL", str(remote))], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    clone = tmp_path / "shop"
    assert git(clone, "config", "--get", "merge.cloister-state.driver").strip()
    assert (clone / ".git" / "hooks" / "post-commit").exists()
    assert "cloisterctl" in table.read_text() and "tick --all" in table.read_text()
    assert git(clone, "status", "--porcelain") == ""

    # A teammate's day in the clone.
    (clone / "notes.txt").write_text("mine\n")
    git(clone, "add", "notes.txt")
    committed = subprocess.run(
        ["git", "commit", "-q", "-m", "notes"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert committed.returncode == 0, committed.stdout + committed.stderr
    cli(clone, "route", "app-2", "--record", env=env)
    cli(clone, "tick", env=env)
    assert git(clone, "status", "--porcelain") == ""
    # Meanwhile the other clone pushed: the pull --rebase is never refused for a dirty tree.
    (workspace / "theirs.txt").write_text("theirs\n")
    git(workspace, "add", "theirs.txt")
    git(workspace, "commit", "-q", "-m", "theirs")
    git(workspace, "push", "-q")
    pulled = subprocess.run(["git", "pull", "-q", "--rebase"], cwd=clone, env=env, capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (clone / "theirs.txt").exists() and git(clone, "status", "--porcelain") == ""
    view = json.loads(cli(clone, "status", "--json", env=env).stdout)
    assert (view["task"], view["waiting"]) == ("app-2", None)
