"""The cost-bleed guard with stand-in agents: spend with no progress flags the agent in STATE.md and
status (a commit clears it), or, with bleed_action: stop, stops it through the engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cloisterctl.ledger import statefile
from testing.helpers import cli, events, standin_config, tick_json, tmux_sessions, write_config

WAITS = "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n"


def spend_a_little(ws: Path) -> None:
    """Let the stand-in work a few turns (each costs about a cent), then take the cost in."""
    time.sleep(2.0)
    tick_json(ws)


def test_spend_without_progress_flags_the_agent_and_a_commit_clears_it(agent_ws: Path, tmux_socket: str) -> None:
    write_config(agent_ws, standin_config() + WAITS + "  guards: {bleed_usd: 0.01}\n")
    cli(agent_ws, "spawn", "--tier", "sonnet")
    deadline = time.monotonic() + 30
    while not [d for d in events(agent_ws, "decision") if d["trigger"] == "bleed"]:
        assert time.monotonic() < deadline, "no bleed decision"
        spend_a_little(agent_ws)
    [decision] = [d for d in events(agent_ws, "decision") if d["trigger"] == "bleed"]
    assert (decision["kind"], decision["status"]) == ("flag", "flagged")
    assert "without a commit, a task change or a passing test (guards.bleed_usd $0.01)" in decision["reason"]
    assert "bleed" in statefile.read(agent_ws / "STATE.md").cloister["flags"]
    status = json.loads(cli(agent_ws, "status", "--json").stdout)
    assert "bleed" in status["flags"] and status["runtime"] == "alive"  # flagged, not stopped
    assert "flag           bleed since" in cli(agent_ws, "status").stdout
    # Progress: a commit (as the git hook records it) ends the flag at once.
    cli(agent_ws, "hook", "git", "post-commit")
    assert "bleed" not in json.loads(cli(agent_ws, "status", "--json").stdout)["flags"]
    # The agent spends on; a new stretch without progress is a new decision, not the old one again.
    deadline = time.monotonic() + 30
    while len([d for d in events(agent_ws, "decision") if d["trigger"] == "bleed"]) < 2:
        assert time.monotonic() < deadline
        spend_a_little(agent_ws)
    first, second = [d["cause"] for d in events(agent_ws, "decision") if d["trigger"] == "bleed"]
    assert first != second


def test_with_bleed_action_stop_the_agent_is_stopped(agent_ws: Path, tmux_socket: str) -> None:
    write_config(agent_ws, standin_config() + WAITS + "  guards: {bleed_usd: 0.01, bleed_action: stop}\n")
    started = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    deadline = time.monotonic() + 30
    while not events(agent_ws, "brief"):
        assert time.monotonic() < deadline, "the agent was not stopped"
        spend_a_little(agent_ws)
    [brief] = events(agent_ws, "brief")
    assert brief["action"] == "stop" and brief["how"] in ("exit text", "interrupt", "killed")
    assert started["tmux"] not in tmux_sessions(tmux_socket)
    ended = [e for e in events(agent_ws, "session") if e.get("event") == "end"]
    assert [e["session"] for e in ended] == [started["session"]]
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert block["status"] == "stopped" and "bleed" in block["flags"]
    assert json.loads(cli(agent_ws, "status", "--json").stdout)["runtime"] == "stopped"
