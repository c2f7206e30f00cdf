"""`cloisterctl install|uninstall statusline`: Claude Code's statusLine merged into the local (or,
with --shared, the committed) settings, calling cloisterctl by name and silent without it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cloisterctl.integrations.statusline_install import COMMAND
from testing.helpers import git, run

LOCAL = ".claude/settings.local.json"
SHARED = ".claude/settings.json"


def settings(ws: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws / name).read_text())
    return data


def install(ws: Path, *args: str) -> dict[str, Any]:
    result = run(ws, "install", "statusline", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_installed_into_the_local_settings_kept_out_of_git_and_idempotent(workspace: Path) -> None:
    assert install(workspace)["changed"] == [LOCAL]
    assert settings(workspace, LOCAL) == {"statusLine": {"type": "command", "command": COMMAND}}
    assert COMMAND == "command -v cloisterctl >/dev/null 2>&1 && cloisterctl statusline || true"
    assert sys.executable not in (workspace / LOCAL).read_text()  # no path of this machine
    assert git(workspace, "status", "--porcelain", "--untracked-files=all", ".claude") == ""
    assert git(workspace, "check-ignore", LOCAL).strip() == LOCAL
    before = (workspace / LOCAL).read_bytes(), (workspace / ".git" / "info" / "exclude").read_bytes()
    assert install(workspace) == {"changed": [], "unchanged": [LOCAL], "removed": []}
    assert ((workspace / LOCAL).read_bytes(), (workspace / ".git" / "info" / "exclude").read_bytes()) == before
    assert (workspace / ".git" / "info" / "exclude").read_text().count(f"/{LOCAL}") == 1


def test_other_settings_and_a_users_additions_to_ours_are_kept(workspace: Path) -> None:
    (workspace / ".claude").mkdir()
    mine = {
        "permissions": {"allow": ["Bash(ls)"]},
        "hooks": {"Stop": []},
        "statusLine": {"padding": 2, "command": "old cloisterctl statusline"},
    }
    (workspace / LOCAL).write_text(json.dumps(mine))
    install(workspace)
    assert settings(workspace, LOCAL) == {**mine, "statusLine": {"padding": 2, "type": "command", "command": COMMAND}}
    assert run(workspace, "uninstall", "statusline").exit_code == 0
    assert settings(workspace, LOCAL) == {"permissions": {"allow": ["Bash(ls)"]}, "hooks": {"Stop": []}}


def test_shared_goes_into_the_committed_settings_and_leaves_one_statusline(workspace: Path) -> None:
    install(workspace)
    report = install(workspace, "--shared")
    assert report["changed"] == [SHARED] and report["removed"] == [LOCAL]  # only ours was in it
    assert settings(workspace, SHARED)["statusLine"]["command"] == COMMAND
    assert not (workspace / LOCAL).exists()
    git(workspace, "add", SHARED)
    git(workspace, "commit", "-q", "-m", "statusline for the team")
    assert COMMAND in git(workspace, "show", f"HEAD:{SHARED}")
    back = install(workspace)  # back to local: ours leaves the shared file (nothing else was in it)
    assert (back["changed"], back["removed"]) == ([LOCAL], [SHARED]) and not (workspace / SHARED).exists()


def test_another_tools_statusline_is_left_alone_unless_replaced(workspace: Path) -> None:
    (workspace / ".claude").mkdir()
    theirs = {"statusLine": {"type": "command", "command": "npx ccusage statusline"}}
    (workspace / LOCAL).write_text(json.dumps(theirs))
    refused = run(workspace, "install", "statusline")
    assert refused.exit_code == 1
    assert (
        f'{workspace / LOCAL}: a statusLine is set already ("npx ccusage statusline"); give --replace' in refused.output
    )
    assert settings(workspace, LOCAL) == theirs
    assert run(workspace, "uninstall", "statusline").exit_code == 0 and settings(workspace, LOCAL) == theirs
    install(workspace, "--replace")
    assert settings(workspace, LOCAL)["statusLine"]["command"] == COMMAND


def test_broken_settings_are_an_error_naming_the_file(workspace: Path) -> None:
    (workspace / ".claude").mkdir()
    (workspace / LOCAL).write_text("{not json")
    result = run(workspace, "install", "statusline")
    assert result.exit_code == 1 and f"{workspace / LOCAL}: not valid JSON" in result.output
    assert (workspace / LOCAL).read_text() == "{not json"


def test_in_a_worktree_the_exclude_is_the_repositorys(workspace: Path, tmp_path: Path) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "init")
    tree = tmp_path / "tree"
    git(workspace, "worktree", "add", "-q", str(tree))
    assert run(tree, "init").exit_code == 0
    install(tree)
    assert git(tree, "status", "--porcelain", "--untracked-files=all", ".claude") == ""
    assert f"/{LOCAL}" in (workspace / ".git" / "info" / "exclude").read_text()
    # The agent hooks share the rule (integrations.install): their local settings stay out of git too.
    assert run(tree, "uninstall", "statusline").exit_code == 0
    (workspace / ".git" / "info" / "exclude").write_text("")
    assert run(tree, "install", "agent-hooks").exit_code == 0
    assert git(tree, "status", "--porcelain", "--untracked-files=all", ".claude") == ""


def test_the_command_runs_cloisterctl_by_name_and_is_silent_without_it(workspace: Path, tmp_path: Path) -> None:
    shell = shutil.which("sh")
    assert shell is not None
    payload = json.dumps({"workspace": {"project_dir": str(workspace)}, "model": {"display_name": "Opus"}})
    found = str(Path(sys.executable).parent)  # where this cloisterctl's console script is
    assert (Path(found) / "cloisterctl").exists()
    with_it = subprocess.run(
        [shell, "-c", COMMAND],
        input=payload,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{found}:/usr/bin:/bin"},
    )
    assert with_it.returncode == 0 and with_it.stdout.startswith("Opus | ")
    bare = tmp_path / "bin"
    bare.mkdir()
    without = subprocess.run(
        [shell, "-c", COMMAND], input=payload, capture_output=True, text=True, env={**os.environ, "PATH": str(bare)}
    )
    assert (without.returncode, without.stdout, without.stderr) == (0, "", "")
