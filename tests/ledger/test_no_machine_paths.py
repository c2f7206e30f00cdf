"""No committed file holds a path of this machine: the ledger names a transcript relative to the
Claude config dir (``claude:projects/...``) or to the work tree, packets name the work tree by its
directory name, and an agent's last output has its paths written ``.`` and ``~``. Each clone
resolves what it needs locally."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cloisterctl.cost.transcripts.locate import local_path, portable_path, project_dir_name
from cloisterctl.runtime.launch import read_exit_file
from testing.helpers import cli, events, git, spooled_events, standin_config, write_config


def _hook(ws: Path, payload: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "cloisterctl", "hook", "claude"],
        input=json.dumps({"cwd": str(ws), **payload}),
        text=True,
        cwd=ws,
        check=True,
    )


def _wait_for(what: str, found: Callable[[], object]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if found():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_day_of_work_commits_no_path_of_this_machine(
    workspace: Path, tmux_socket: str, isolated_env: Path, tmp_path: Path
) -> None:
    home = isolated_env  # no CLAUDE_CONFIG_DIR: transcripts go under HOME, as for a real user
    write_config(workspace, standin_config() + "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n")
    cli(workspace, "install", "agent-hooks")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister init")

    first = json.loads(cli(workspace, "spawn", "--tier", "sonnet", "--json").stdout)
    _wait_for(
        "the agent's SessionStart hook",  # in the spool, or already moved to the ledger
        lambda: [e for e in spooled_events(workspace) + events(workspace, "session") if e.get("source") == "hook"],
    )
    # A session started by hand, its transcript in ~/.claude; and one whose transcript is elsewhere.
    by_hand = home / ".claude" / "projects" / project_dir_name(workspace) / "by-hand.jsonl"
    _hook(workspace, {"hook_event_name": "SessionStart", "session_id": "by-hand", "transcript_path": str(by_hand)})
    elsewhere = tmp_path / "scratch" / "other.jsonl"
    _hook(workspace, {"hook_event_name": "SessionStart", "session_id": "other", "transcript_path": str(elsewhere)})
    handoff = json.loads(cli(workspace, "handoff", "repo", "--to", "haiku", "--reason", "cheaper", "--json").stdout)
    assert handoff["handoff"]["step"] == "completed"
    cli(workspace, "tick")
    cli(workspace, "stop", "repo")
    cli(workspace, "tick")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "the day's work", "--allow-empty")

    sessions = {e["session"]: e for e in events(workspace, "session") if e.get("source") == "hook"}
    assert sessions["by-hand"]["transcript"] == f"claude:projects/{project_dir_name(workspace)}/by-hand.jsonl"
    assert "transcript" not in sessions["other"] or sessions["other"]["transcript"] is None
    spawned = sessions[first["session"]]["transcript"]
    assert spawned.startswith("claude:projects/") and spawned.endswith(f"/{first['session']}.jsonl")
    assert local_path(spawned, workspace, [home / ".config" / "claude", home / ".claude"]).is_file()
    packet = json.loads((workspace / ".cloister" / "handoffs" / f"{handoff['handoff']['id']}.json").read_text())
    assert packet["workspace"] == "repo"
    # The cost still finds the transcripts the ledger names, from their portable form.
    assert json.loads(cli(workspace, "cost", "--json").stdout)["total_usd"] > 0

    machine = (str(home), str(tmp_path), str(tmp_path.parent))
    tracked = git(workspace, "ls-files").splitlines()
    assert ".cloister/ledger/" in " ".join(tracked) and any(name.startswith(".cloister/handoffs/") for name in tracked)
    leaks = [
        (name, line.strip()[:200])
        for name in tracked
        for line in (workspace / name).read_text(encoding="utf-8", errors="replace").splitlines()
        if any(path in line for path in machine)
    ]
    assert leaks == []


def test_portable_paths_round_trip_and_a_path_elsewhere_is_not_recorded(tmp_path: Path) -> None:
    root, config = tmp_path / "repo", tmp_path / "claude"
    env = {"CLAUDE_CONFIG_DIR": str(config), "HOME": str(tmp_path / "home")}
    in_config = config / "projects" / "-x" / "s.jsonl"
    assert portable_path(str(in_config), root, env) == "claude:projects/-x/s.jsonl"
    assert portable_path(str(root / "logs" / "s.jsonl"), root, env) == "logs/s.jsonl"
    assert portable_path(str(tmp_path / "else" / "s.jsonl"), root, env) is None
    assert portable_path("claude:projects/-x/s.jsonl", root, env) == "claude:projects/-x/s.jsonl"
    # Resolved on this machine: under the config dir that has it, else the first; under the work tree.
    second = tmp_path / "claude-2"
    (second / "projects" / "-x").mkdir(parents=True)
    (second / "projects" / "-x" / "s.jsonl").write_text("")
    assert local_path("claude:projects/-x/s.jsonl", root, [config, second]) == second / "projects" / "-x" / "s.jsonl"
    assert local_path("claude:projects/-y/s.jsonl", root, [config, second]) == config / "projects" / "-y" / "s.jsonl"
    assert local_path("logs/s.jsonl", root, [config]) == root / "logs" / "s.jsonl"
    assert local_path("/old/absolute.jsonl", root, [config]) == Path("/old/absolute.jsonl")  # an earlier version's


def test_an_agents_last_output_names_no_path_of_this_machine(workspace: Path, isolated_env: Path) -> None:
    exit_file = workspace / ".cloister" / "local" / "exit-s1.json"
    exit_file.parent.mkdir(parents=True, exist_ok=True)
    output = [f"Traceback: {workspace}/src/app.py line 3", f"see {isolated_env}/.npm/_logs/debug.log"]
    exit_file.write_text(json.dumps({"exit_code": 1, "output": output}))
    ended = read_exit_file(exit_file)
    assert ended == {"exit_code": 1, "output": ["Traceback: ./src/app.py line 3", "see ~/.npm/_logs/debug.log"]}
