"""After every closed task the agent gets the right next one: plan -> implement -> test across three
ready tasks, with stand-in agents in tmux and the stand-in `bd`, checking the task each session is
given (its packet and the first message it received); a same-tier successor is briefed in the
session it keeps; with nothing ready the agent is told to stop and STATE.md says idle."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from cloisterctl.ledger import statefile
from testing.helpers import (
    cli,
    events,
    finish_handoff,
    git,
    handoff_events,
    ledger_events,
    standin_config,
    tick_json,
    tmux_sessions,
    write_config,
    write_tasks,
)

FAST = (
    "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n"
    "  guards: {cooldown_minutes: 0}\n"
)


def blocked_by(task: str, blocker: str) -> list[dict[str, str]]:
    return [{"issue_id": task, "depends_on_id": blocker, "type": "blocks"}]


CALC = [
    {
        "id": "calc-1",
        "title": "Plan the calculator",
        "status": "open",
        "priority": 1,
        "labels": ["planning"],
        "metadata": {"complexity": "expert"},
    },
    {
        "id": "calc-2",
        "title": "Implement the calculator",
        "status": "open",
        "priority": 2,
        "dependencies": blocked_by("calc-2", "calc-1"),
    },
    {
        "id": "calc-3",
        "title": "Check the calculator's results",
        "status": "open",
        "priority": 2,
        "dependencies": blocked_by("calc-3", "calc-2"),
    },
]


def transcript_lines(tmp_path: Path, session: str, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list((tmp_path / "claude" / "projects").glob(f"*/{session}.jsonl"))
        if found and found[0].read_text().strip():
            return [json.loads(line) for line in found[0].read_text().splitlines()]
        time.sleep(0.1)
    raise AssertionError(f"session {session} wrote no transcript")


def first_message(tmp_path: Path, session: str) -> str:
    return str(transcript_lines(tmp_path, session)[0]["message"]["content"])


def user_messages(tmp_path: Path, session: str) -> list[str]:
    return [str(line["message"]["content"]) for line in transcript_lines(tmp_path, session) if line["type"] == "user"]


def bd(ws: Path, *args: str) -> None:
    subprocess.run(["bd", *args], cwd=ws, check=True, capture_output=True, text=True, timeout=30)


def last_spawn(ws: Path) -> dict[str, Any]:
    return [e for e in events(ws, "handoff") if e["step"] == "spawned" and e["status"] == "done"][-1]


def packet_of(ws: Path, handoff_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws / ".cloister" / "handoffs" / f"{handoff_id}.json").read_text())
    return data


def test_plan_implement_test_each_session_gets_the_next_task(
    agent_ws: Path, tmux_socket: str, tmp_path: Path, bd_on_path: Path
) -> None:
    write_config(agent_ws, standin_config() + FAST)
    write_tasks(agent_ws, CALC)
    git(agent_ws, "add", "-A")
    git(agent_ws, "commit", "-q", "-m", "tasks")

    # 1. The planner: a start packet, not a continuation.
    started = json.loads(cli(agent_ws, "spawn", "calc-1", "--json").stdout)
    assert started["tier"] == "opus"
    first = first_message(tmp_path, started["session"])
    assert first.startswith("# Starting work: calc-1\n") and "continuing work" not in first.lower()
    assert "(? tier)" not in first and "Read STATE.md, then start on calc-1." in first
    assert json.loads((agent_ws / started["packet"]).read_text())["packet_kind"] == "start"
    tick_json(agent_ws)

    # 2. The plan closes: sonnet takes the task the plan unblocked.
    bd(agent_ws, "close", "calc-1")
    [decision] = tick_json(agent_ws)[0]["decisions"]
    assert decision["summary"].startswith("planning_complete: opus -> sonnet [calc-1] applied")
    finish_handoff(agent_ws)
    implementer = last_spawn(agent_ws)
    assert (implementer["task"], implementer["tier"]) == ("calc-2", "sonnet")
    packet = packet_of(agent_ws, implementer["handoff"])
    assert (packet["task_id"], packet["previous_task"], packet["packet_kind"]) == ("calc-2", "calc-1", "handoff")
    assert packet["handoff_instructions"].startswith("calc-1 is done. Start on calc-2")
    assert packet["task_description"].startswith("Implement the calculator")
    prompt = first_message(tmp_path, implementer["session"])
    assert prompt.startswith("# Continuing work: calc-2\n") and "calc-1 is done. Start on calc-2" in prompt
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["task"], block["tier"], block["status"]) == ("calc-2", "sonnet", "working")

    # 3. The implementation closes and no implement work is left: the test agent takes calc-3.
    bd(agent_ws, "close", "calc-2")
    [decision] = tick_json(agent_ws)[0]["decisions"]
    assert decision["summary"].startswith("implementation_complete: sonnet -> haiku (test-agent) [calc-2] applied")
    finish_handoff(agent_ws)
    tester = last_spawn(agent_ws)
    assert (tester["task"], tester["tier"], tester["role"]) == ("calc-3", "haiku", "test-agent")
    assert packet_of(agent_ws, tester["handoff"])["task_id"] == "calc-3"
    assert first_message(tmp_path, tester["session"]).startswith("# Continuing work: calc-3\n")
    assert statefile.read(agent_ws / "STATE.md").cloister["task"] == "calc-3"

    # 4. The last task closes and nothing is ready: the agent is told to stop; STATE.md says idle, and why.
    bd(agent_ws, "close", "calc-3")
    report = tick_json(agent_ws)[0]
    [decision] = report["decisions"]
    assert decision["summary"].startswith("task_completed: idle on haiku [calc-3] applied")
    assert report["brief"]["action"] == "idle" and report["brief"]["sent"] is True
    deadline = time.monotonic() + 10
    while not any("no task is ready" in m for m in user_messages(tmp_path, tester["session"])):
        assert time.monotonic() < deadline, user_messages(tmp_path, tester["session"])
        time.sleep(0.1)
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert block["status"] == "idle" and "task" not in block
    assert block["idle_reason"] == "task calc-3 closed; no task is ready"
    # Quiet now, as told: nothing more is decided, and one agent session ran at a time.
    assert tick_json(agent_ws)[0]["decisions"] == []
    assert len(tmux_sessions(tmux_socket)) == 1
    assert [s for s, p in handoff_events(agent_ws) if s == "completed" and p == "done"] == ["completed"] * 2


def test_a_same_tier_successor_is_briefed_in_the_session_it_keeps(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    # No cost discovery here (routing.explore_min: 0): the next task routes to its static tier.
    config = agent_ws / ".cloister" / "config.yaml"
    write_config(agent_ws, config.read_text() + "routing:\n  explore_min: 0\n")
    write_tasks(
        agent_ws,
        [
            {"id": "web-1", "title": "Add CSV export", "status": "open", "issue_type": "feature"},
            {"id": "web-2", "title": "Implement CSV import", "status": "open", "issue_type": "feature"},
        ],
    )
    started = json.loads(cli(agent_ws, "spawn", "web-1", "--json").stdout)
    assert started["tier"] == "sonnet"
    tick_json(agent_ws)
    write_tasks(
        agent_ws,
        [
            {"id": "web-1", "title": "Add CSV export", "status": "closed", "issue_type": "feature"},
            {"id": "web-2", "title": "Implement CSV import", "status": "open", "issue_type": "feature"},
        ],
    )
    report = tick_json(agent_ws)[0]
    [decision] = report["decisions"]
    assert decision["summary"].startswith("task_completed: sonnet -> sonnet [web-1] applied")
    assert report["handoff"] is None and report["brief"]["action"] == "next_task" and report["brief"]["sent"]
    brief = json.loads((agent_ws / report["brief"]["packet"]).read_text())
    assert (brief["packet_kind"], brief["task_id"], brief["previous_task"]) == ("next_task", "web-2", "web-1")
    prompt = (agent_ws / report["brief"]["packet"].replace(".json", ".md")).read_text()
    assert prompt.startswith("# Next task: web-2\n")
    # The next task's start tier was the adaptive policy's: the decision carries its figures, and
    # the attempt on web-1 ended closed (sonnet's first recorded outcome for the level).
    [event] = [e for e in ledger_events(agent_ws) if e["type"] == "decision"]
    assert [row["tier"] for row in event["adaptive"]["tiers"]] == ["haiku", "sonnet", "opus"]
    assert event["adaptive"]["tier"] == "sonnet"
    medium_sonnet = next(row for row in event["adaptive"]["tiers"] if row["tier"] == "sonnet")
    assert medium_sonnet["n"] == 1
    deadline = time.monotonic() + 10
    while not any("Your next task is web-2" in m for m in user_messages(tmp_path, started["session"])):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["task"], block["session"], block["status"]) == ("web-2", started["session"], "working")
    # Told once: the next tick does not brief again.
    assert tick_json(agent_ws)[0]["brief"] is None
    assert len([e for e in events(agent_ws, "brief")]) == 1
