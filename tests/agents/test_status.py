from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloisterctl.ledger import segments, statefile
from cloisterctl.ledger.events import make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import cli, events, run, tick_json, tree_digest, write_config


def test_status_of_a_fresh_workspace(workspace: Path) -> None:
    result = run(workspace, "status", "--json")
    assert result.exit_code == 0
    view = json.loads(result.output)
    assert view["agent"] == "repo"
    assert view["status"] == "new"
    assert view["tier"] is None
    assert view["state_md"] == "in sync"
    text = run(workspace, "status").output
    assert "agent          repo (new)" in text


def test_status_shows_routing_cost_and_last_decision(workspace: Path) -> None:
    ws = Workspace(workspace)
    t = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    segments.append_segments(
        ws,
        [
            make_event(
                "route",
                "repo",
                t,
                task="bd-7",
                tier="sonnet",
                model="claude-sonnet-4-6",
                rule="complexity_routing.medium",
                complexity={"level": "medium", "source": "keywords", "confidence": 0.6},
            ),
            make_event(
                "cost",
                "repo",
                t,
                session="s1",
                usd=1.23456,
                by_model={"claude-sonnet-4-6": 1.23456},
                by_tier={"sonnet": 1.23456},
                tokens={"input": 100, "output": 50, "cache_write": 100, "cache_read": 800},
            ),
        ],
    )
    before = tree_digest(workspace)
    view = json.loads(run(workspace, "status", "--json").output)
    assert tree_digest(workspace) == before  # read-only
    assert (view["tier"], view["model"], view["task"]) == ("sonnet", "claude-sonnet-4-6", "bd-7")
    assert view["complexity"]["level"] == "medium"
    assert view["cost"]["total_usd"] == 1.2346
    assert view["cost"]["cache_hit_rate"] == 0.8
    assert view["last_decision"] == "route: bd-7 -> sonnet (complexity_routing.medium)"
    assert view["state_md"] == "stale"
    text = run(workspace, "status").output
    assert "cost           $1.23, cache hit rate 80.0%" in text


def test_status_in_an_uninitialised_repo_says_to_init(repo: Path) -> None:
    result = run(repo, "status")
    assert result.exit_code == 1
    assert (
        result.output
        == f"cloisterctl: error: {repo}: not a cloister workspace (no .cloister/); run `cloisterctl init`\n"
    )


# ----------------------------------------------------------------------------------- the runtime


def test_status_of_a_stopped_agent_says_stopped(agent_ws: Path, tmux_socket: str) -> None:
    cli(agent_ws, "spawn", "--tier", "haiku")
    assert json.loads(cli(agent_ws, "status", "--json").stdout)["runtime"] == "alive"
    cli(agent_ws, "stop", "repo")
    view = json.loads(cli(agent_ws, "status", "--json").stdout)
    assert (view["status"], view["runtime"], view["alive"], view["session"]) == ("stopped", "stopped", False, None)
    [listed] = json.loads(cli(agent_ws, "agents", "--json").stdout)
    assert (listed["status"], listed["runtime"]) == ("stopped", "stopped")
    assert "agent          repo (stopped)" in cli(agent_ws, "status").stdout
    assert statefile.read(agent_ws / "STATE.md").cloister["status"] == "stopped"


def test_an_agent_whose_process_is_gone_is_dead_at_once_and_recorded_once(agent_ws: Path, tmux_socket: str) -> None:
    started = json.loads(cli(agent_ws, "spawn", "--tier", "haiku", "--json").stdout)
    subprocess.run(["tmux", "-L", tmux_socket, "kill-session", "-t", f"={started['tmux']}"], check=True)
    view = json.loads(cli(agent_ws, "status", "--json").stdout)
    assert (view["status"], view["runtime"], view["session"]) == ("dead", "dead", started["session"])
    assert statefile.read(agent_ws / "STATE.md").cloister["status"] == "working"  # what the ledger knew
    report = tick_json(agent_ws)[0]
    assert report["ledger_events"].get("exit") == 1
    [ended] = events(agent_ws, "exit")
    assert ended["session"] == started["session"]
    assert statefile.read(agent_ws / "STATE.md").cloister["status"] == "dead"
    assert "exit" not in tick_json(agent_ws)[0]["ledger_events"]  # once


def test_status_names_events_from_the_future(workspace: Path) -> None:
    ws = Workspace(workspace)
    segments.append_segments(ws, [make_event("task", "repo", datetime(2099, 1, 1, tzinfo=UTC), task="t-1")])
    view = json.loads(run(workspace, "status", "--json").output)
    assert view["future_events"] == 1
    assert "warning: 1 ledger events are dated in the future" in run(workspace, "status").output


def test_the_runtime_corrects_the_ledgers_status_both_ways() -> None:
    from cloisterctl.agents.status import live_status
    from cloisterctl.ledger.fold import fold

    t = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    started = make_event("session", "a", t, session="s1", tier="haiku", model="m", source="spawn")
    working = fold([started], "a")
    assert (live_status(working, "alive"), live_status(working, "dead")) == ("working", "dead")
    recorded_dead = fold([started, make_event("exit", "a", t.replace(minute=1), session="s1")], "a")
    assert (live_status(recorded_dead, "alive"), live_status(recorded_dead, "unknown")) == ("working", "dead")


def test_status_counts_down_to_the_stuck_rule_as_the_rule_measures(workspace: Path, monkeypatch: Any) -> None:
    """`status` shows the stuck rule's own reading (``stuck_reading``), and a tick at the moment it
    reads below zero makes the stuck decision."""
    write_config(workspace, "handoffs:\n  guards: {bleed_usd: 0}\n")
    t = datetime.now(UTC).replace(microsecond=0)  # after the workspace's init
    segments.append_segments(
        Workspace(workspace),
        [
            make_event("route", "repo", t, task="bd-7", tier="haiku", model="claude-haiku-4-5-20251001"),
            make_event(
                "session",
                "repo",
                t,
                session="s1",
                tier="haiku",
                model="claude-haiku-4-5-20251001",
                source="spawn",
                task="bd-7",
            ),
        ],
    )
    monkeypatch.setenv("CLOISTER_NOW", (t + timedelta(minutes=9)).isoformat())
    view = json.loads(run(workspace, "status", "--json").output)
    assert view["stuck"]["threshold_minutes"] == 10 and view["stuck"]["minutes_left"] == 1.0
    assert "stuck          in 1 min (quiet since" in run(workspace, "status").output
    assert not _stuck_decided(workspace)
    monkeypatch.setenv("CLOISTER_NOW", (t + timedelta(minutes=10, seconds=30)).isoformat())
    view = json.loads(run(workspace, "status", "--json").output)
    assert view["stuck"]["minutes_left"] == -0.5
    assert "stuck          now (quiet since" in run(workspace, "status").output
    assert _stuck_decided(workspace)


def _stuck_decided(workspace: Path) -> bool:
    """Whether the rules, at the pinned time, decide the stuck escalation (a dry run records nothing)."""
    report = json.loads(run(workspace, "tick", "--dry-run", "--json").output)
    return any(decision["trigger"] == "stuck" for entry in report for decision in entry["decisions"])
