"""A cloned repository's config cannot run programs until its user trusts it in that clone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.helpers import DATA, git, run, write_config

EVIL = '#!/bin/sh\necho "$0 $*" >> "$HOME/pwned"\nexit 0\n'


@pytest.fixture
def strangers_clone(tmp_path: Path, isolated_env: Path) -> Path:
    """A repository from someone else, whose committed config names ./evil.sh everywhere, cloned."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    assert run(origin, "init").exit_code == 0
    shutil.copy(DATA / "bad" / "config-evil-commands.yaml", origin / ".cloister" / "config.yaml")
    (origin / "evil.sh").write_text(EVIL)
    (origin / "evil.sh").chmod(0o755)
    (origin / ".beads").mkdir()
    (origin / ".beads" / "issues.jsonl").write_text('{"id":"bd-1","title":"Fix typo","status":"open"}\n')
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "a helpful repo")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    return clone


def pwned(home: Path) -> bool:
    return (home / "pwned").exists()


def hook(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloisterctl", "hook", *args], cwd=ws, capture_output=True, text=True, timeout=60
    )


def test_nothing_the_config_names_runs_before_trust(strangers_clone: Path, isolated_env: Path) -> None:
    status = run(strangers_clone, "status")
    assert status.exit_code == 0
    assert (
        "warning: .cloister/config.yaml sets beads.command (line 3), runtime.spawn (line 6), runtime.env (line 7), "
        "runtime.save_request (line 8), tests.command (line 10), ignored until `cloisterctl trust` in this clone"
    ) in status.output
    tick = run(strangers_clone, "tick", "--json")
    assert "ignored until you run `cloisterctl trust`" in " ".join(json.loads(tick.output)[0]["problems"])
    run(strangers_clone, "tick", "--all")
    run(strangers_clone, "route", "bd-1")
    push = hook(strangers_clone, "pre-push")
    assert push.returncode == 0 and "no tests.command configured" in push.stderr
    assert not pwned(isolated_env)
    # The effective config shows the built-in values, not the repository's.
    shown = json.loads(run(strangers_clone, "config", "show", "--json").output)
    assert shown["config"]["tests"]["command"] == [] and shown["config"]["beads"]["command"] == "bd"


def test_tick_all_never_runs_an_untrusted_workspace_s_commands(
    strangers_clone: Path, workspace: Path, isolated_env: Path
) -> None:
    write_config(workspace, f"tick:\n  workspaces: [{json.dumps(str(strangers_clone))}]\n")
    result = run(workspace, "tick", "--all", "--json")
    assert result.exit_code == 0
    assert {Path(r["workspace"]).name for r in json.loads(result.output)} == {workspace.name, "clone"}
    assert not pwned(isolated_env)


def test_trust_lets_the_commands_run_until_the_file_changes(strangers_clone: Path, isolated_env: Path) -> None:
    trusted = run(strangers_clone, "trust", "--json")
    assert trusted.exit_code == 0, trusted.output
    data = json.loads(trusted.output)
    assert data["trusted"] and "tests.command" in data["command_keys"]
    assert Path(data["store"]).is_relative_to(isolated_env)  # user-local state, not the repository
    assert "ignored until" not in run(strangers_clone, "status").output
    assert hook(strangers_clone, "pre-push").returncode == 0
    assert pwned(isolated_env)  # now it ran: the user said so
    os.remove(isolated_env / "pwned")
    config = strangers_clone / ".cloister" / "config.yaml"
    config.write_text(config.read_text() + "# changed upstream\n")
    assert "no tests.command configured" in hook(strangers_clone, "pre-push").stderr
    assert not pwned(isolated_env)
    run(strangers_clone, "trust")
    run(strangers_clone, "trust", "--revoke")
    assert "no tests.command configured" in hook(strangers_clone, "pre-push").stderr
    assert not pwned(isolated_env)


def test_the_users_own_config_is_trusted(workspace: Path, isolated_env: Path) -> None:
    user_config = isolated_env / ".config" / "cloisterctl" / "config.yaml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text(f"tests:\n  command: [{sys.executable}, -c, 'pass']\n")
    assert "ignored until" not in run(workspace, "status").output
    assert json.loads(run(workspace, "config", "show", "--json").output)["config"]["tests"]["command"][0] == (
        sys.executable
    )


def test_trust_is_by_place_so_a_config_symlinked_to_a_trusted_one_gets_none(
    tmp_path: Path, isolated_env: Path, tmux_socket: str
) -> None:
    """My clone's config is trusted and runs `{workspace}/tools/agent`; a stranger's repository
    commits its config as a symlink to mine, plus its own tools/agent. Spawning there runs nothing
    of theirs: their config is a symlink, so it is neither read nor trusted."""
    mine = tmp_path / "mine"
    mine.mkdir()
    git(mine, "init", "-q", "-b", "main")
    assert run(mine, "init").exit_code == 0
    write_config(mine, 'runtime:\n  spawn: ["{workspace}/tools/agent", "{prompt}"]\n')  # trusted
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    assert run(origin, "init").exit_code == 0
    (origin / ".cloister" / "config.yaml").unlink()
    (origin / ".cloister" / "config.yaml").symlink_to(mine / ".cloister" / "config.yaml")
    (origin / "tools").mkdir()
    (origin / "tools" / "agent").write_text(EVIL)
    (origin / "tools" / "agent").chmod(0o755)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "a helpful repo")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert (clone / ".cloister" / "config.yaml").is_symlink()
    status = run(clone, "status")
    assert ".cloister/config.yaml: a symlink; not followed" in status.output
    run(clone, "spawn", "--tier", "haiku")
    deadline = time.monotonic() + 5  # the agent would start in tmux, a moment later
    while time.monotonic() < deadline and not pwned(isolated_env):
        time.sleep(0.2)
    assert not pwned(isolated_env)
    refused = run(clone, "trust")
    assert refused.exit_code == 1 and "a symlink; not followed" in refused.output
