from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.ledger import statefile
from cloisterctl.runtime.tmux import Tmux
from testing.helpers import cli, events, git, handoff_events, standin_config, tmux_sessions, write_config


def spawned_model(ws: Path, tmp_path: Path, session: str) -> str:
    [transcript] = (tmp_path / "claude" / "projects").glob(f"*/{session}.jsonl")
    models = {
        json.loads(line)["message"].get("model")
        for line in transcript.read_text().splitlines()
        if '"assistant"' in line
    }
    assert len(models) == 1, models  # a session never changes model
    return models.pop()


def wait_until(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_handoff_moves_the_agent_and_leaves_a_reviewable_trail(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    first = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    assert first["tmux"] in tmux_sessions(tmux_socket)
    (agent_ws / "notes.txt").write_text("half-done work\n")
    wait_until(lambda: list((tmp_path / "claude" / "projects").glob(f"*/{first['session']}.jsonl")))
    result = json.loads(
        cli(agent_ws, "handoff", "repo", "--to", "haiku", "--reason", "cheaper for the rest", "--json").stdout
    )
    assert result["handoff"]["step"] == "completed"
    handoff_id = result["handoff"]["id"]

    # Every step, begin before done, in order; the new session is the only one running.
    steps = handoff_events(agent_ws)
    assert steps[0] == ("requested", "done")
    expected = [
        (s, p)
        for s in ("save_requested", "idle", "captured", "stopped", "spawned", "completed")
        for p in ("begin", "done")
    ]
    assert steps[1:] == expected
    spawned = [e for e in events(agent_ws, "handoff") if e["step"] == "spawned" and e["status"] == "done"][0]
    assert tmux_sessions(tmux_socket) == [first["tmux"]]
    assert Tmux(tmux_socket).environment(first["tmux"], "CLOISTER_SESSION_ID") == spawned["session"]
    wait_until(lambda: list((tmp_path / "claude" / "projects").glob(f"*/{spawned['session']}.jsonl")))
    assert spawned_model(agent_ws, tmp_path, first["session"]) == "claude-sonnet-4-6"
    wait_until(
        lambda: (
            '"assistant"' in next((tmp_path / "claude" / "projects").glob(f"*/{spawned['session']}.jsonl")).read_text()
        )
    )
    assert spawned_model(agent_ws, tmp_path, spawned["session"]) == "claude-haiku-4-5-20251001"

    # The packet, in the fixture's field names, and the prompt the new session got.
    packet = json.loads((agent_ws / ".cloister" / "handoffs" / f"{handoff_id}.json").read_text())
    for key in (
        "handoff_version",
        "task_id",
        "parent_task_id",
        "task_description",
        "target_model_tier",
        "complexity_score",
        "handoff_instructions",
    ):
        assert key in packet
    assert set(packet["required_context"]) == {
        "plan_summary",
        "relevant_files",
        "prior_decisions",
        "success_criteria",
        "constraints",
    }
    assert packet["target_model_tier"] == "haiku" and packet["from_model"] == "claude-sonnet-4-6"
    assert packet["reason"] == "cheaper for the rest" and packet["trigger"] == "manual"
    assert packet["git"]["uncommitted_files"] == ["notes.txt"]
    assert packet["protected_work"]["method"] == "wip_commit"
    assert packet["token_estimate"] <= 8000 and packet["trimmed"] == []
    assert "saved progress" in " ".join(packet["progress"])  # the old session answered the save request
    prompt = (agent_ws / ".cloister" / "handoffs" / f"{handoff_id}.md").read_text()
    assert prompt.startswith("# Continuing work") and "cheaper for the rest" in prompt

    # Uncommitted work was protected by a WIP commit carrying the handoff's trailer; the handoff's
    # own record (STATE.md and .cloister/) is the commit after it, and the tree is clean.
    log = git(agent_ws, "log", "-1", "--skip=1", "--format=%an%n%B", "--name-only")
    assert log.startswith("cloisterctl\n") and f"Cloister-Handoff: {handoff_id}" in log and "notes.txt" in log
    record = git(agent_ws, "log", "-1", "--format=%an%n%s", "--name-only")
    assert record.startswith("cloisterctl\ncloister: manual: sonnet -> haiku applied") and "STATE.md" in record
    assert git(agent_ws, "status", "--porcelain") == ""

    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["tier"], block["model"], block["handoffs"], block["session"]) == (
        "haiku",
        "claude-haiku-4-5-20251001",
        1,
        spawned["session"],
    )
    assert block["last_decision"].startswith(f"handoff {handoff_id} completed: sonnet -> haiku")


KILL_POINTS = [("requested", "done")] + [
    (step, phase)
    for step in ("save_requested", "idle", "captured", "stopped", "spawned", "completed")
    for phase in ("begin", "effect", "done")
]


@pytest.mark.parametrize(("step", "phase"), KILL_POINTS, ids=[f"{s}-{p}" for s, p in KILL_POINTS])
def test_a_tick_killed_at_any_step_resumes_and_completes_exactly_once(
    agent_ws: Path, tmux_socket: str, tmp_path: Path, step: str, phase: str
) -> None:
    first = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    (agent_ws / "wip.txt").write_text("unsaved\n")
    killed = cli(
        agent_ws,
        "handoff",
        "repo",
        "--to",
        "opus",
        "--reason",
        "crash test",
        env={"CLOISTER_TEST_KILL_AFTER": f"{step}:{phase}"},
        check=False,
    )
    assert killed.returncode == -9, killed.stderr  # SIGKILL, mid-handoff
    for _ in range(40):
        cli(agent_ws, "tick", "--json")
        steps = handoff_events(agent_ws)
        if steps[-1] in (("completed", "done"), ("failed", "done")):
            break
        time.sleep(0.3)
    steps = handoff_events(agent_ws)
    assert steps[-1] == ("completed", "done"), steps
    done = [s for s, p in steps if p == "done"]
    assert done == ["requested", "save_requested", "idle", "captured", "stopped", "spawned", "completed"]
    spawned = [e for e in events(agent_ws, "handoff") if e["step"] == "spawned"]
    assert len({e["session"] for e in spawned}) == 1  # one new session id, however many attempts
    sessions = tmux_sessions(tmux_socket)
    assert sessions == [first["tmux"]]  # one live agent
    assert Tmux(tmux_socket).environment(first["tmux"], "CLOISTER_SESSION_ID") == spawned[-1]["session"]
    wip = [
        line
        for line in git(agent_ws, "log", "--format=%s").splitlines()
        if line.startswith("cloister: work in progress")
    ]
    assert len(wip) == 1  # protected once, even when resumed
    packets = list((agent_ws / ".cloister" / "handoffs").glob("2*.json"))
    assert len(packets) == 1
    assert statefile.read(agent_ws / "STATE.md").cloister["tier"] == "opus"
    # And a further tick decides nothing (the new agent works on, so only cost and activity move).
    # Compared by id: a cost event carries its transcript line's time, so it may sort before older events.
    before = {e["id"] for e in events(agent_ws)}
    cli(agent_ws, "tick")
    added = [e for e in events(agent_ws) if e["id"] not in before]
    assert [e["type"] for e in added if e["type"] not in ("cost", "activity")] == []


def test_spawn_refuses_a_second_live_session(agent_ws: Path, tmux_socket: str) -> None:
    cli(agent_ws, "spawn", "--tier", "haiku")
    second = cli(agent_ws, "spawn", "--tier", "opus", check=False)
    assert second.returncode == 1
    assert "is already running" in second.stderr
    assert len(tmux_sessions(tmux_socket)) == 1


def test_an_agent_that_never_answers_times_out_and_is_stopped(agent_ws: Path, tmux_socket: str) -> None:
    sleeper = (
        f"runtime:\n  spawn: [{sys.executable}, -c, 'import time; time.sleep(600)']\n  stop_timeout_seconds: 1.5\n"
    )
    write_config(agent_ws, sleeper + "handoffs:\n  save_timeout_seconds: 1\n  idle_seconds: 1\n")
    cli(agent_ws, "spawn", "--tier", "haiku")
    write_config(
        agent_ws,
        standin_config() + "handoffs:\n  save_timeout_seconds: 1\n  idle_seconds: 1\n  spawn_timeout_seconds: 20\n",
    )
    result = json.loads(cli(agent_ws, "handoff", "repo", "--to", "sonnet", "--reason", "stuck", "--json").stdout)
    assert result["handoff"]["step"] == "completed"
    idle = [e for e in events(agent_ws, "handoff") if e["step"] == "idle" and e["status"] == "done"][0]
    assert idle["how"].startswith("timeout")
    stopped = [e for e in events(agent_ws, "handoff") if e["step"] == "stopped" and e["status"] == "done"][0]
    assert stopped["how"] == "interrupt"


def test_a_spawn_that_dies_fails_the_handoff_with_a_reason(agent_ws: Path, tmux_socket: str) -> None:
    cli(agent_ws, "spawn", "--tier", "haiku")
    write_config(
        agent_ws, f"runtime:\n  spawn: [{sys.executable}, -c, 'raise SystemExit(3)']\nhandoffs:\n  idle_seconds: 1\n"
    )
    result = cli(agent_ws, "handoff", "repo", "--to", "sonnet", "--reason", "x", "--json", check=False)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["handoff"]["step"] == "failed"
    assert "exited right after starting" in data["handoff"]["reason"]
    assert "failed" in statefile.read(agent_ws / "STATE.md").cloister["last_decision"]
