"""Budgets end to end: real transcripts, tick, STATE.md, status, flags, commits; and with
`budgets.action: stop`, a stand-in agent stopped through the engine."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.ledger import statefile
from testing.helpers import (
    cli,
    events,
    git,
    projected,
    run,
    standin_config,
    tick_json,
    tmux_sessions,
    write_config,
    write_tasks,
)
from testing.transcripts import assistant, usage_of, write_lines

HAIKU = "claude-haiku-4-5-20251001"  # $1 per million input tokens: a million tokens is a dollar
QUIET = "handoffs:\n  guards: {bleed_usd: 0}\n  auto_triggers: {stuck: {enabled: false}}\n"
TASK = {"_type": "issue", "id": "app-1", "title": "Fix the cart", "status": "open", "issue_type": "task"}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Agent:
    """A Claude Code session of this workspace's agent, spending a dollar a response, now."""

    def __init__(self, workspace: Path, config_dir: Path) -> None:
        self.path = config_dir / "projects" / project_dir_name(workspace) / "s1.jsonl"
        self.lines: list[str] = []

    def spend(self, dollars: int, when: datetime | None = None, tokens: int = 1_000_000) -> None:
        """``dollars`` responses of ``tokens`` fresh input tokens each (a million: a dollar)."""
        time.sleep(0.002)  # after the route just recorded: the response counts on its task
        moment = when or datetime.now(UTC)
        for _ in range(dollars):
            n = len(self.lines)
            self.lines.append(assistant("s1", f"m{n}", f"r{n}", HAIKU, stamp(moment), usage_of(tokens, 0)))
        write_lines(self.path, self.lines)


@pytest.fixture
def agent(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agent:
    config_dir = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    write_tasks(workspace, [TASK])
    assert run(workspace, "route", "app-1", "--record").exit_code == 0
    return Agent(workspace, config_dir)


def cloister(ws: Path) -> dict[str, Any]:
    return projected(ws)


def status(ws: Path) -> dict[str, Any]:
    result = run(ws, "status", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_warnings_flags_and_figures_in_state_md_status_and_the_ledger(workspace: Path, agent: Agent) -> None:
    write_config(workspace, QUIET + "budgets: {task_usd: 10, day_usd: 5, agent_usd: 100}\n")
    agent.spend(4)
    assert run(workspace, "tick").exit_code == 0
    block = cloister(workspace)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert block["budgets"]["day"]["level"] == "warn" and block["budgets"]["day"]["day"] == today
    assert (block["budgets"]["day"]["spent_usd"], block["budgets"]["day"]["limit_usd"]) == (4.0, 5.0)
    assert set(block["budgets"]) == {"day"}  # the task (40%) and the agent (4%) are below warn_at
    view = status(workspace)
    assert [(b["scope"], b["key"], b["spent_usd"], b["level"]) for b in view["budgets"]] == [
        ("agent", "repo", 4.0, "ok"),
        ("task", "app-1", 4.0, "ok"),
        ("day", today, 4.0, "warn"),
    ]
    text = run(workspace, "status").output
    assert f"budget         day {today}: $4.00 of $5 (80%): warning" in text
    assert "budget         task app-1: $4.00 of $10 (40%)\n" in text
    # A warning, like the cost that moved it, is bookkeeping: no commit of its own.
    assert git(workspace, "log", "-1", "--format=%s").strip() == "cloister: route app-1 -> sonnet"
    agent.spend(1, tokens=100_000)  # ten cents more, still a warning
    assert run(workspace, "tick").exit_code == 0
    assert git(workspace, "log", "-1", "--format=%s").strip() == "cloister: route app-1 -> sonnet"

    agent.spend(2)
    report = json.loads(run(workspace, "tick", "--json").output)[0]
    assert [d["summary"] for d in report["decisions"]] == [
        f"budget_day: flag on sonnet [app-1] flagged: the agent spent on {today} (UTC) $6.10 of budgets.day_usd $5 "
        "(122%): the limit is reached"
    ]
    assert report["commit"] and "budget_day" in git(workspace, "log", "-1", "--format=%s")
    # The limit reached is a decision: its commit carries the warning and the cost that led to it.
    diff = git(workspace, "show", "--format=", "HEAD")
    assert f"- budget day {today}: warn" in git(workspace, "log", "-1", "--format=%b")
    assert '"type":"cost"' in diff and '"type":"budget"' in diff
    block = cloister(workspace)
    assert block["budgets"]["day"]["level"] == "over" and "budget_day" in block["flags"]
    assert "budget_day" in json.loads(run(workspace, "flags", "list", "--json").output)["flags"]
    assert [e["level"] for e in events(workspace, "budget")] == ["warn", "over"]
    assert json.loads(run(workspace, "tick", "--json").output)[0]["decisions"] == []  # once
    assert run(workspace, "flags", "clear", "repo", "budget_day").exit_code == 0
    agent.spend(1)
    assert json.loads(run(workspace, "tick", "--json").output)[0]["decisions"] == []
    assert "budget_day" not in cloister(workspace).get("flags", {})


def test_a_new_utc_day_ends_the_day_budget_and_its_flag(workspace: Path, agent: Agent) -> None:
    write_config(workspace, QUIET + "budgets: {day_usd: 3}\n")
    agent.spend(3, datetime.now(UTC) - timedelta(days=1))
    agent.spend(1)
    assert run(workspace, "tick").exit_code == 0
    assert "budgets" not in cloister(workspace) and status(workspace)["budgets"][0]["spent_usd"] == 1.0
    agent.spend(2)
    run(workspace, "tick")
    assert "budget_day" in cloister(workspace)["flags"]
    # Tomorrow, by a pinned clock (look only): nothing spent on it yet.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=30)
    dry = cli(workspace, "tick", "--dry-run", "--json", env={"CLOISTER_NOW": stamp(tomorrow)}).stdout
    assert json.loads(dry)[0]["decisions"] == []
    later = cli(workspace, "status", "--json", env={"CLOISTER_NOW": stamp(tomorrow)}).stdout
    assert [(b["key"], b["spent_usd"], b["level"]) for b in json.loads(later)["budgets"]] == [
        (tomorrow.strftime("%Y-%m-%d"), 0.0, "ok")
    ]


def test_the_per_task_figure_is_what_the_task_cost(workspace: Path, agent: Agent) -> None:
    write_config(workspace, QUIET + "budgets: {task_usd: 2}\n")
    agent.spend(1)
    run(workspace, "tick")
    write_tasks(workspace, [TASK, {**TASK, "id": "app-2", "title": "Another"}])
    assert run(workspace, "route", "app-2", "--record").exit_code == 0
    agent.spend(2)
    report = json.loads(run(workspace, "tick", "--json").output)[0]
    assert [d["summary"].split(":")[0] for d in report["decisions"]] == ["budget_task"]
    assert cloister(workspace)["budgets"]["task"]["task"] == "app-2"
    checkpoint = events(workspace, "cost")[-1]
    assert checkpoint["by_task"] == {"app-1": 1.0, "app-2": 2.0}
    assert list(checkpoint["by_day"].values()) == [3.0]
    assert run(workspace, "route", "app-1", "--record").exit_code == 0
    run(workspace, "tick")  # back on app-1 ($1 of $2): the flag of app-2 ends
    assert "budget_task" not in cloister(workspace).get("flags", {}) and "budgets" not in cloister(workspace)


WAITS = "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n"


def test_with_action_stop_the_agent_is_stopped_through_the_engine(agent_ws: Path, tmux_socket: str) -> None:
    write_config(
        agent_ws, standin_config() + WAITS + "  guards: {bleed_usd: 0}\nbudgets: {agent_usd: 0.02, action: stop}\n"
    )
    started = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    deadline = time.monotonic() + 40
    while not events(agent_ws, "brief"):
        assert time.monotonic() < deadline, "the agent was not stopped"
        time.sleep(2.0)
        tick_json(agent_ws)
    [decision] = [d for d in events(agent_ws, "decision") if d["trigger"] == "budget_agent"]
    assert (decision["kind"], decision["status"]) == ("stop", "applied")
    [brief] = events(agent_ws, "brief")
    assert brief["action"] == "stop" and brief["decision"] == decision["id"]
    assert started["tmux"] not in tmux_sessions(tmux_socket)
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (
        block["status"] == "stopped"
        and "budget_agent" in block["flags"]
        and block["budgets"]["agent"]["level"] == "over"
    )
    tick_json(agent_ws)
    assert len(events(agent_ws, "brief")) == 1  # stopped once
