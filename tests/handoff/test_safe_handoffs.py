"""A handoff never leaves the agent with nothing: a spawn command that cannot run fails the handoff
before the old agent is stopped; a new agent that dies (or never starts working) is recorded with
its exit code and last output, and the previous session is started again on its previous model;
a handoff to the tier the agent already runs on is refused; `spawn` of an agent that cannot start
is an error, not "started"."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.handoff.steps import exit_file, session_file
from cloisterctl.ledger import segments, statefile
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import make_event
from cloisterctl.runtime.tmux import Tmux
from cloisterctl.workspace.layout import Workspace
from testing.helpers import cli, events, handoff_events, run, standin_config, tmux_sessions, write_config

WAITS = "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n"
# The stand-in's resume template (a restart after a failed handoff resumes the stand-in).
RESUME_LINE = next(line for line in standin_config().splitlines() if line.startswith("  resume: "))


def with_spawn(argv: list[str], extra: str = WAITS, env: dict[str, str] | None = None) -> str:
    """The stand-in's config with another spawn command (its resume template kept)."""
    runtime = f"runtime:\n{RESUME_LINE}\n  spawn: {json.dumps(argv)}\n  stop_timeout_seconds: 3\n"
    if env:
        runtime += f"  env: {json.dumps(env)}\n"
    return runtime + extra


def transcript(tmp_path: Path, session: str) -> list[dict[str, Any]]:
    [path] = (tmp_path / "claude" / "projects").glob(f"*/{session}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_for_transcript(tmp_path: Path, session: str) -> None:
    deadline = time.monotonic() + 20
    while not list((tmp_path / "claude" / "projects").glob(f"*/{session}.jsonl")):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def failed_event(ws: Path) -> dict[str, Any]:
    [failed] = [e for e in events(ws, "handoff") if e["step"] == "failed" and e["status"] == "done"]
    return failed


def test_an_unresolvable_spawn_command_fails_the_handoff_and_leaves_the_old_agent_alive(
    agent_ws: Path, tmux_socket: str
) -> None:
    first = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    write_config(agent_ws, with_spawn(["no-such-agent-cli", "--model", "{model}", "{prompt}"]))
    result = cli(agent_ws, "handoff", "repo", "--to", "haiku", "--reason", "cheaper", "--json", check=False)
    assert result.returncode == 1
    reason = json.loads(result.stdout)["handoff"]["reason"]
    assert "runtime.spawn[0] 'no-such-agent-cli' is not an executable on the agent's PATH" in reason
    assert not [s for s, _phase in handoff_events(agent_ws) if s in ("stopped", "spawned")]
    assert tmux_sessions(tmux_socket) == [first["tmux"]]
    assert Tmux(tmux_socket).environment(first["tmux"], "CLOISTER_SESSION_ID") == first["session"]
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["tier"], block["session"], block["status"], block["handoffs"]) == (
        "sonnet",
        first["session"],
        "working",
        0,
    )


def test_the_spawn_command_resolves_on_the_path_the_config_gives_the_agent(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    bindir = tmp_path / "agent-bin"
    bindir.mkdir()
    wrapper = bindir / "my-agent"
    seen = tmp_path / "agent-path.txt"
    wrapper.write_text(
        f'#!/bin/sh\necho "$PATH" > {seen}\nexec {sys.executable} -m cloisterctl.demo.standin_agent "$@"\n'
    )
    wrapper.chmod(0o755)
    argv = ["my-agent", "--model", "{model}", "--session-id", "{session_id}", "{prompt}"]
    write_config(agent_ws, with_spawn(argv))
    refused = cli(agent_ws, "spawn", "--tier", "haiku", check=False)
    assert refused.returncode == 1 and "'my-agent' is not an executable on the agent's PATH" in refused.stderr
    assert tmux_sessions(tmux_socket) == []
    path = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    write_config(agent_ws, with_spawn(argv, env={"PATH": path}))
    started = json.loads(cli(agent_ws, "spawn", "--tier", "haiku", "--json").stdout)
    wait_for_transcript(tmp_path, started["session"])
    assert seen.read_text().strip() == path  # the agent runs with the PATH it was checked against


def test_a_new_agent_that_dies_is_recorded_and_the_old_session_is_resumed(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    first = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    wait_for_transcript(tmp_path, first["session"])
    dies = [sys.executable, "-c", "print('error: model {model} is not available'); raise SystemExit(3)"]
    write_config(agent_ws, with_spawn(dies))
    result = cli(agent_ws, "handoff", "repo", "--to", "haiku", "--reason", "cheaper", "--json", check=False)
    assert result.returncode == 1
    reason = json.loads(result.stdout)["handoff"]["reason"]
    assert "exited right after starting (exit code 3; last output:" in reason
    assert "model claude-haiku-4-5-20251001 is not available" in reason
    assert "the previous session (sonnet) was resumed with runtime.resume" in reason
    failed = failed_event(agent_ws)
    assert failed["restarted"] is True
    begun = [e for e in events(agent_ws, "handoff") if e["step"] == "failed" and e["status"] == "begin"][0]
    assert begun["exit_code"] == 3 and any("is not available" in line for line in begun["output"])
    # The same session runs again in the agent's tmux session, told why.
    assert tmux_sessions(tmux_socket) == [first["tmux"]]
    assert Tmux(tmux_socket).environment(first["tmux"], "CLOISTER_SESSION_ID") == first["session"]
    deadline = time.monotonic() + 10
    while not any(
        "the handoff of this work to claude-haiku-4-5-20251001 failed" in str(line["message"]["content"])
        for line in transcript(tmp_path, first["session"])
        if line["type"] == "user"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["tier"], block["model"], block["session"], block["handoffs"]) == (
        "sonnet",
        "claude-sonnet-4-6",
        first["session"],
        0,
    )
    status = json.loads(cli(agent_ws, "status", "--json").stdout)
    assert (status["status"], status["runtime"]) == ("working", "alive")


def test_a_new_agent_that_never_starts_working_is_stopped_and_the_old_one_restarted(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    first = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    hangs = [sys.executable, "-c", "import time; time.sleep(600)"]
    write_config(agent_ws, with_spawn(hangs, "handoffs:\n  idle_seconds: 1\n  spawn_timeout_seconds: 1.5\n"))
    result = cli(agent_ws, "handoff", "repo", "--to", "opus", "--reason", "harder", "--json", check=False)
    assert result.returncode == 1
    reason = json.loads(result.stdout)["handoff"]["reason"]
    assert "no activity from the new session within 1.5s" in reason and "was resumed" in reason
    assert Tmux(tmux_socket).environment(first["tmux"], "CLOISTER_SESSION_ID") == first["session"]
    assert statefile.read(agent_ws / "STATE.md").cloister["tier"] == "sonnet"


@pytest.mark.parametrize("point", ["failed:begin", "failed:effect"])
def test_a_tick_killed_while_restarting_restarts_once(agent_ws: Path, tmux_socket: str, point: str) -> None:
    first = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    write_config(agent_ws, with_spawn([sys.executable, "-c", "raise SystemExit(4)"]))
    killed = cli(
        agent_ws,
        "handoff",
        "repo",
        "--to",
        "haiku",
        "--reason",
        "x",
        env={"CLOISTER_TEST_KILL_AFTER": point},
        check=False,
    )
    assert killed.returncode == -9
    cli(agent_ws, "tick")
    assert [p for s, p in handoff_events(agent_ws) if s == "failed"] == ["begin", "done"]
    assert failed_event(agent_ws)["restarted"] is True
    starts = [e for e in events(agent_ws, "session") if e.get("session") == first["session"]]
    assert [e.get("event") for e in starts] == ["start", "end", "start"]  # started, stopped, resumed once
    assert Tmux(tmux_socket).environment(first["tmux"], "CLOISTER_SESSION_ID") == first["session"]


def test_a_handoff_to_the_tier_the_agent_runs_on_is_refused(agent_ws: Path, tmux_socket: str) -> None:
    cli(agent_ws, "spawn", "--tier", "haiku")
    before = events(agent_ws)
    for target in ("haiku", "claude-haiku-4-5-20251001"):
        result = cli(agent_ws, "handoff", "repo", "--to", target, "--reason", "again", check=False)
        assert result.returncode == 1
        assert "already runs on haiku (claude-haiku-4-5-20251001)" in result.stderr
    assert events(agent_ws) == before


def test_spawn_of_a_command_that_is_not_on_path_writes_nothing(agent_ws: Path, tmux_socket: str) -> None:
    write_config(agent_ws, with_spawn(["no-such-agent-cli", "{prompt}"]))
    before = events(agent_ws)
    result = cli(agent_ws, "spawn", "--tier", "sonnet", check=False)
    assert result.returncode == 1 and "not an executable on the agent's PATH" in result.stderr
    assert "started" not in result.stdout
    assert events(agent_ws) == before and tmux_sessions(tmux_socket) == []


def test_spawn_of_an_agent_that_exits_at_once_says_so(agent_ws: Path, tmux_socket: str) -> None:
    write_config(agent_ws, with_spawn([sys.executable, "-c", "print('unknown option --model'); raise SystemExit(2)"]))
    result = cli(agent_ws, "spawn", "--tier", "sonnet", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert "exited right after starting" in result.stderr and "exit code 2" in result.stderr
    assert "unknown option --model" in result.stderr
    [listed] = json.loads(cli(agent_ws, "agents", "--json").stdout)
    assert (listed["status"], listed["runtime"], listed["alive"]) == ("dead", "dead", False)
    assert statefile.read(agent_ws / "STATE.md").cloister["status"] == "dead"


def test_a_session_id_from_the_ledger_cannot_name_a_file_outside_local(workspace: Path, tmux_socket: str) -> None:
    # A merged line names a session that is a path; the files named after it stay in .cloister/local.
    hostile = "x/../../../victim"
    ws = Workspace(workspace)
    (ws.local_dir / "exit-x").mkdir(parents=True)
    victim = workspace / "victim.json"
    victim.write_text("{}")
    segments.append_segments(
        ws, [make_event("session", "repo", datetime.now(UTC), session=hostile, tier="haiku", source="spawn")]
    )
    assert run(workspace, "stop", "repo").exit_code == 0
    assert victim.read_text() == "{}"
    ctx = Context.for_workspace(ws)
    assert {exit_file(ctx, hostile).parent, session_file(ctx, "launch", hostile).parent} == {ws.local_dir}
