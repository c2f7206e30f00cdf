"""The README's pre-commit block, verbatim, with the real pre-commit in a fresh clone of a
repository (a bare remote): it installs and runs on the first commit, and its opt-in pre-push runs
`tests.command` in the user's environment (as does the manifest's `language: python` hook)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from testing.helpers import (
    git,
    install_hooks,
    ledger_events,
    pre_commit,
    readme_pre_commit_config,
    spooled_events,
    write_config,
)
from testing.team import push_to_bare_remote

pytestmark = pytest.mark.slow

PYTEST = "tests:\n  command: [python3, -m, pytest, -q]\n"


def _published(workspace: Path, tmp_path: Path, config: str) -> tuple[Path, Path]:
    """``workspace`` with the README's config committed, pushed to a bare remote, and a fresh clone."""
    (workspace / ".pre-commit-config.yaml").write_text(config)
    (workspace / "test_ok.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister and pre-commit")
    remote = push_to_bare_remote(workspace, tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    return remote, clone


def test_the_readme_block_installs_and_runs_in_a_fresh_clone(
    workspace: Path, tmp_path: Path, pc_env: dict[str, str]
) -> None:
    config = readme_pre_commit_config()
    assert yaml.safe_load(config)["repos"][0]["repo"] == "local"
    _remote, clone = _published(workspace, tmp_path, config)
    pre_commit("install", cwd=clone, env=pc_env)

    (clone / "notes.txt").write_text("first\n")
    git(clone, "add", "notes.txt")
    first = subprocess.run(["git", "commit", "-m", "first"], cwd=clone, env=pc_env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    head = git(clone, "rev-parse", "HEAD").strip()
    assert [(e["hook"], e["commit"]) for e in spooled_events(clone) if e["type"] == "activity"] == [
        ("post-commit", head)
    ]
    assert git(clone, "status", "--porcelain") == ""  # no hook touched a tracked file

    (clone / "STATE.md").write_text("---\ntitle: [unclosed\n---\n")
    git(clone, "add", "STATE.md")
    refused = subprocess.run(["git", "commit", "-m", "bad"], cwd=clone, env=pc_env, capture_output=True, text=True)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "cloister check" in said and "STATE.md:3: invalid YAML in front matter" in said
    assert git(clone, "rev-parse", "HEAD").strip() == head


def _push_runs_pytest(clone: Path, env: dict[str, str]) -> None:
    (clone / "more.txt").write_text("more\n")
    git(clone, "add", "more.txt")
    subprocess.run(["git", "commit", "-q", "-m", "more"], cwd=clone, env=env, check=True)
    pushed = subprocess.run(["git", "push", "-q"], cwd=clone, env=env, capture_output=True, text=True)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "No module named pytest" not in pushed.stdout + pushed.stderr
    runs = [(e["passed"], e["exit_code"], e["source"]) for e in spooled_events(clone) if e["type"] == "test_run"]
    assert runs == [(True, 0, "pre-push")]  # pytest ran (and found the test: no tests is exit code 5)
    assert git(clone, "status", "--porcelain") == ""


def test_the_readme_pre_push_runs_python3_pytest_in_the_users_environment(
    workspace: Path, tmp_path: Path, pc_env: dict[str, str]
) -> None:
    write_config(workspace, PYTEST)
    _remote, clone = _published(workspace, tmp_path, readme_pre_commit_config(pre_push=True))
    from cloisterctl.workspace.layout import Workspace
    from cloisterctl.workspace.trust import set_trust

    set_trust(Workspace(clone), trusted=True)  # as its user does: `cloisterctl trust`
    pre_commit("install", cwd=clone, env=pc_env)
    _push_runs_pytest(clone, pc_env)
    assert not [e for e in ledger_events(clone) if e["type"] == "test_run"]


def test_the_manifest_s_python_hook_runs_tests_outside_its_own_environment(
    workspace: Path, tmp_path: Path, pc_env: dict[str, str], hooks_repo: tuple[Path, str]
) -> None:
    """`language: python`: pre-commit puts its own env (no pytest in it) first on PATH and in
    VIRTUAL_ENV; `python3 -m pytest` must still find the user's."""
    write_config(workspace, PYTEST)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(workspace, "remote", "add", "origin", str(remote))
    (workspace / "test_ok.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    install_hooks(workspace, hooks_repo, pc_env, pre_push=True)
    git(workspace, "add", "-A")
    subprocess.run(["git", "commit", "-q", "-m", "cloister"], cwd=workspace, env=pc_env, check=True)
    git(workspace, "push", "-q", "--no-verify", "-u", "origin", "main")
    assert os.environ.get("VIRTUAL_ENV") != str(pc_env["PRE_COMMIT_HOME"])
    _push_runs_pytest(workspace, pc_env)
