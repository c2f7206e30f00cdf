"""`cloisterctl doctor` in real git repos: a workspace set up as the README says is all ok, and
breaking each part turns its check into a problem (or a warning) with the line that fixes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from testing.helpers import git, pre_commit, run, standin_config, write_config


def _checks(ws: Path) -> tuple[int, dict[str, dict[str, str]]]:
    result = run(ws, "doctor", "--json")
    data = json.loads(result.output)
    assert data["ok"] == (result.exit_code == 0)
    return result.exit_code, {check["name"]: check for check in data["checks"]}


@pytest.fixture
def healthy(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bd_on_path: Path, pc_env: dict[str, str]
) -> Path:
    """A workspace with everything the README's Install section sets up."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # the systemd units go here
    claude_dir = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    write_config(workspace, standin_config())  # the agent is a stand-in: its program is this Python
    (workspace / ".beads").mkdir()
    (workspace / ".pre-commit-config.yaml").write_text(
        "default_install_hook_types: [pre-commit, post-commit, post-merge, post-checkout, post-rewrite]\n"
        "repos:\n"
        "  - repo: https://example.invalid/cloisterctl\n"
        "    rev: v0.1.0\n"
        "    hooks:\n"
        "      - id: cloister-check\n"
        "      - id: cloister-activity\n"
    )
    pre_commit("install", cwd=workspace, env={**pc_env, "PATH": os.environ["PATH"]})
    for what in ("beads-hooks", "agent-hooks", "statusline", "subagents"):
        assert run(workspace, "install", what).exit_code == 0
    assert run(workspace, "schedule", "--systemd", "--install").exit_code == 0
    transcripts = claude_dir / "projects" / project_dir_name(workspace)
    transcripts.mkdir(parents=True)
    (transcripts / "0b6c3d4e-0000-4000-8000-000000000001.jsonl").write_text("")
    assert run(workspace, "tick").exit_code == 0
    return workspace


def test_a_healthy_workspace_is_all_ok(healthy: Path) -> None:
    code, checks = _checks(healthy)
    assert code == 0
    assert {name: check["level"] for name, check in checks.items() if check["level"] != "ok"} == {}
    assert "systemd, every 1m; tick last ran less than a minute ago" == checks["schedule"]["detail"]
    text = run(healthy, "doctor")
    assert text.exit_code == 0 and text.output.endswith("all ok\n")
    assert run(healthy, "-q", "doctor").output == "all ok\n"


def test_without_verification_the_recall_is_unknown(healthy: Path) -> None:
    _, checks = _checks(healthy)
    assert checks["verification"]["level"] == "ok"
    assert "recall of failure detection is unknown" in checks["verification"]["detail"]
    write_config(healthy, standin_config() + f"tests:\n  command: [{sys.executable}, -c, 'pass']\n")
    _, checks = _checks(healthy)
    assert checks["verification"]["detail"] == "closes below opus are verified before they count: tests.command"


def _broken(ws: Path, name: str, level: str = "problem") -> dict[str, str]:
    code, checks = _checks(ws)
    check = checks[name]
    assert check["level"] == level, check
    assert code == (1 if level == "problem" else 0)
    assert check["fix"]
    others = {other: c["level"] for other, c in checks.items() if c["level"] != "ok" and other != name}
    assert others == {}, others
    return check


def test_hooks_that_do_not_fire(healthy: Path) -> None:
    (healthy / ".git" / "hooks" / "post-commit").unlink()
    check = _broken(healthy, "pre-commit hooks")
    assert "post-commit not installed by pre-commit" in check["detail"]
    assert "default_install_hook_types" in check["fix"] and "pre-commit install" in check["fix"]

    (healthy / ".git" / "hooks" / "post-commit").write_text("#!/bin/sh\necho mine\n")
    assert "another hook is there" in _broken(healthy, "pre-commit hooks")["detail"]


def test_hooks_whose_interpreter_is_gone(healthy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hook = healthy / ".git" / "hooks" / "post-merge"
    lines = [
        f"INSTALL_PYTHON={tmp_path / 'old-venv' / 'bin' / 'python'}" if line.startswith("INSTALL_PYTHON=") else line
        for line in hook.read_text().splitlines()
    ]
    hook.write_text("\n".join(lines) + "\n")
    bindir = os.path.dirname(sys.executable)  # where this environment's pre-commit is
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != bindir))
    code, checks = _checks(healthy)
    check = checks["pre-commit hooks"]
    assert code == 1 and check["level"] == "problem"
    assert "old-venv/bin/python, which is gone" in check["detail"] and "pre-commit install" in check["fix"]


def test_pre_commit_config_without_cloister_hooks(healthy: Path) -> None:
    (healthy / ".pre-commit-config.yaml").write_text("repos: []\n")
    check = _broken(healthy, "pre-commit hooks")
    assert "does not list cloister-check, cloister-activity" in check["detail"]


def test_beads_agent_hooks_and_statusline(healthy: Path) -> None:
    run(healthy, "uninstall", "beads-hooks")
    assert _broken(healthy, "beads hooks")["fix"] == "cloisterctl install beads-hooks"
    text = run(healthy, "doctor")
    assert text.exit_code == 1
    problem = next(i for i, line in enumerate(text.output.splitlines()) if line.startswith("problem  beads hooks"))
    assert text.output.splitlines()[problem + 1].strip() == "fix: cloisterctl install beads-hooks"
    assert text.output.endswith("1 problem\n")
    run(healthy, "install", "beads-hooks")
    run(healthy, "uninstall", "agent-hooks")
    assert _broken(healthy, "agent hooks")["fix"] == "cloisterctl install agent-hooks"
    run(healthy, "install", "agent-hooks")
    run(healthy, "uninstall", "statusline")
    assert _broken(healthy, "statusline", "warning")["fix"] == "cloisterctl install statusline"


def test_subagents_missing_or_out_of_date(healthy: Path) -> None:
    (healthy / ".claude" / "agents" / "cloister-opus.md").write_text(
        (healthy / ".claude" / "agents" / "cloister-opus.md").read_text().replace("claude-opus-4-7", "claude-opus-4-1")
    )
    assert "the next tick rewrites them" in _broken(healthy, "subagents", "warning")["detail"]
    run(healthy, "tick")
    run(healthy, "uninstall", "subagents")
    assert _broken(healthy, "subagents", "warning")["fix"] == "cloisterctl install subagents"


def test_the_merge_driver(healthy: Path) -> None:
    git(healthy, "config", "--unset", "merge.cloister-state.driver")
    check = _broken(healthy, "merge driver")
    assert check["fix"] == "cloisterctl install git" and "git config" in check["detail"]
    run(healthy, "install", "git")
    (healthy / ".gitattributes").write_text(".cloister/ledger/*.jsonl merge=union\n")
    assert ".gitattributes lacks" in _broken(healthy, "merge driver")["detail"]


def test_the_schedule_and_a_tick_that_stopped(healthy: Path) -> None:
    old = time.time() - 3600
    os.utime(healthy / ".cloister" / "local" / "last-tick", (old, old))
    check = _broken(healthy, "schedule")
    assert check["detail"] == "systemd, every 1m, but tick last ran 60 minutes ago"
    run(healthy, "schedule", "--systemd", "--remove")
    check = _broken(healthy, "schedule")
    assert check["detail"].startswith("no crontab line or systemd timer runs tick here")
    assert check["fix"].startswith("cloisterctl schedule --cron --install")


def test_tools_on_the_schedules_path(healthy: Path, tmp_path: Path) -> None:
    service = next((tmp_path / "xdg-config" / "systemd" / "user").glob("*.service"))
    text = service.read_text()
    service.write_text(
        "".join(line + "\n" for line in text.splitlines() if "PATH=" not in line) + "Environment=PATH=/nonexistent\n"
    )
    code, checks = _checks(healthy)
    assert code == 1
    for tool in ("git", "tmux"):
        assert checks[tool]["level"] == "problem"
        assert checks[tool]["detail"] == f"{tool} is not on the PATH tick will have (the systemd schedule's PATH)"
    service.write_text(text.replace(sys.executable, str(tmp_path / "gone" / "python")))
    assert "which is not there any more" in _broken(healthy, "schedule")["detail"]


def test_the_spawn_command_and_cloisterctl_itself(healthy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(healthy, "runtime:\n  spawn: [no-such-agent-cli, '{prompt}']\n")
    run(healthy, "tick")  # a fresh stamp; the config changed nothing else
    check = _broken(healthy, "spawn command")
    assert "no-such-agent-cli is not on the PATH tick will have" in check["detail"]
    write_config(healthy, standin_config())
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != bindir))
    code, checks = _checks(healthy)
    assert code == 1 and checks["cloisterctl on PATH"]["level"] == "problem"


def test_config_transcripts_and_ledger(healthy: Path, tmp_path: Path) -> None:
    write_config(healthy, "tiers: [oops\n", trusted=False)
    check = _broken(healthy, "config")
    assert ".cloister/config.yaml" in check["detail"] and "config validate" in check["fix"]
    write_config(healthy, standin_config() + "# edited: trust is per content\n", trusted=False)
    assert "cloisterctl trust" in _broken(healthy, "config", "warning")["fix"]
    write_config(healthy, standin_config())

    for path in (tmp_path / "claude-config" / "projects").rglob("*.jsonl"):
        path.unlink()
    for path in (tmp_path / "claude-config" / "projects").iterdir():
        path.rmdir()
    assert "no Claude Code transcripts" in _broken(healthy, "transcripts", "warning")["detail"]
    (tmp_path / "claude-config" / "projects" / project_dir_name(healthy)).mkdir()

    segment = next((healthy / ".cloister" / "ledger").glob("*.jsonl"))
    lines = segment.read_text().count("\n")
    with segment.open("a") as handle:
        handle.write("this is not json\n{}\n")
    check = _broken(healthy, "ledger", "warning")
    relative = segment.relative_to(healthy)
    assert check["detail"].startswith(f"2 bad lines skipped by every reader; the first: {relative}:{lines + 1}: ")


def test_a_user_config_in_its_old_place(healthy: Path, tmp_path: Path, isolated_env: Path) -> None:
    new = tmp_path / "xdg-config" / "cloisterctl" / "config.yaml"  # healthy sets XDG_CONFIG_HOME
    assert _checks(healthy)[1]["user config"]["detail"] == f"none (optional: {new})"
    old = isolated_env / ".panopticon" / "cloister.yaml"
    old.parent.mkdir()
    old.write_text("tick:\n  wait_seconds: 2\n")
    check = _broken(healthy, "user config", "warning")
    assert check["detail"] == f"{old} is read from the old place; the user config now lives in {new}"
    assert check["fix"] == f"mkdir -p {new.parent} && mv {old} {new}"
    subprocess.run(check["fix"], shell=True, check=True)  # the fix as a user pastes it
    code, checks = _checks(healthy)
    assert code == 0 and (checks["user config"]["level"], checks["user config"]["detail"]) == ("ok", str(new))
    assert str(new) in checks["config"]["detail"]  # and it is read from there

    old.write_text("tick:\n  wait_seconds: 3\n")
    check = _broken(healthy, "user config", "warning")
    assert check["detail"] == f"{old} is ignored: {new} exists and is read instead"
    assert check["fix"] == f"move what you still need from {old} into {new}, then delete {old}"


def test_a_key_under_its_old_name_is_a_config_warning(healthy: Path) -> None:
    write_config(healthy, standin_config() + "handoffs:\n  auto_triggers:\n    stuck_escalation: {enabled: true}\n")
    check = _broken(healthy, "config", "warning")
    assert check["detail"].startswith(".cloister/config.yaml:")
    assert "stuck_escalation: deprecated: renamed to handoffs.auto_triggers.stuck" in check["detail"]
    assert "rename" in check["fix"]


def test_outside_a_workspace(tmp_path: Path, repo: Path) -> None:
    code, checks = _checks(tmp_path)
    assert code == 1 and checks["workspace"]["fix"].startswith("cd into your repository")
    code, checks = _checks(repo)
    assert code == 1 and checks["workspace"]["fix"] == "cloisterctl init"


def test_a_worktree_is_covered_by_the_main_checkouts_schedule(healthy: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "docs-worktree"
    # (without the hooks: the fixture's pre-commit config names a repository that cannot be fetched)
    git(healthy, "-c", "core.hooksPath=/dev/null", "worktree", "add", "-q", "-b", "docs", str(worktree))
    assert run(worktree, "init", "--agent", "docs-bot").exit_code == 0
    assert run(healthy, "tick", "--all").exit_code == 0  # the main checkout's schedule runs this
    code, checks = _checks(worktree)
    assert checks["schedule"]["level"] == "ok"
    assert checks["schedule"]["detail"] == (
        f"systemd, every 1m by `tick --all` in {healthy}, which covers this workspace; "
        "tick last ran less than a minute ago"
    )
    # The main checkout's tick leaves its worktrees alone: nothing runs tick in this one.
    write_config(healthy, standin_config() + "tick:\n  worktrees: false\n")
    check = _checks(worktree)[1]["schedule"]
    assert check["level"] == "problem"
    assert check["detail"].startswith("no crontab line or systemd timer runs tick here, nor `tick --all` of a")
