from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from cloisterctl.cli.render import render_tick
from testing.helpers import (
    TASKS,
    cli,
    events,
    git,
    handoff_events,
    ledger_events,
    run,
    spooled_events,
    standin_config,
    tick_json,
    write_config,
    write_tasks,
)


def close(ws: Path, task_id: str) -> None:
    tasks = [json.loads(line) for line in (ws / ".beads" / "issues.jsonl").read_text().splitlines()]
    for task in tasks:
        if task["id"] == task_id:
            task["status"] = "closed"
    write_tasks(ws, tasks)


def snapshot_files(ws: Path) -> dict[str, bytes]:
    """Every file's bytes, but git's own and lock files (empty, left in place by design)."""
    files = {}
    for path in sorted(ws.rglob("*")):
        name = str(path.relative_to(ws))
        if path.is_file() and not name.startswith(".git/") and not name.endswith(".lock"):
            files[name] = path.read_bytes()
    return files


def decisions_of(ws: Path) -> list[dict[str, Any]]:
    return events(ws, "decision")


# ----------------------------------------------------------------------------------- idempotency


def test_a_second_tick_changes_nothing(workspace: Path) -> None:
    write_tasks(workspace, TASKS)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "tasks")
    first = tick_json(workspace)[0]
    assert first["decisions"] == [] and first["commit"] is None
    files = snapshot_files(workspace)
    head = git(workspace, "rev-parse", "HEAD")
    second = tick_json(workspace)[0]
    assert second == {**first, "problems": []}
    assert snapshot_files(workspace) == files  # not a byte, local state included
    assert git(workspace, "rev-parse", "HEAD") == head


def test_a_task_closed_without_a_hook_is_noticed_once_and_rides_the_next_commit(workspace: Path) -> None:
    write_tasks(workspace, TASKS)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "tasks")
    tick_json(workspace)  # first look: takes note only
    close(workspace, "app-2")
    (workspace / "staged.txt").write_text("the user's work\n")
    git(workspace, "add", "staged.txt")
    report = tick_json(workspace)[0]
    assert report["tasks"] == [{"task": "app-2", "status": "closed"}]
    assert report["commit"] is None  # a task change is bookkeeping: it rides the next commit
    assert [e["task"] for e in spooled_events(workspace) if e["type"] == "task"] == ["app-2"]
    assert git(workspace, "status", "--porcelain") == "A  staged.txt\n"
    again = tick_json(workspace)[0]
    assert again["tasks"] == [] and again["commit"] is None
    assert run(workspace, "route", "app-1", "--record").exit_code == 0
    log = git(workspace, "log", "-1", "--format=%an <%ae>%n%B", "--name-only")
    assert log.splitlines()[0] == "cloisterctl <cloisterctl@localhost>"
    assert log.splitlines()[1].startswith("cloister: route app-1 -> ") and "- task app-2 closed" in log
    assert ".cloister/ledger/" in log and "staged.txt" not in log
    assert "A  staged.txt" in git(workspace, "status", "--porcelain")  # still staged, not committed


def test_a_rejected_decision_does_not_come_back(agent_ws: Path, tmux_socket: str) -> None:
    write_config(agent_ws, standin_config() + "handoffs:\n  guards: {require_approval: true}\n")
    cli(agent_ws, "spawn", "--tier", "haiku")
    for _ in range(2):
        cli(agent_ws, "test", "--", sys.executable, "-c", "raise SystemExit(1)", check=False)
    [proposed] = tick_json(agent_ws)[0]["decisions"]
    assert "rejected" in cli(agent_ws, "reject", proposed["id"], "--reason", "flaky CI").stdout
    for _ in range(2):
        assert tick_json(agent_ws)[0]["decisions"] == []
    assert handoff_events(agent_ws) == []


def test_tick_reports_exactly_what_it_wrote(agent_ws: Path, tmux_socket: str) -> None:
    started = json.loads(cli(agent_ws, "spawn", "--tier", "haiku", "--json").stdout)
    time.sleep(1.5)  # the stand-in works a turn or two: its transcript has usage to take in
    before = len(ledger_events(agent_ws))
    spooled = len(spooled_events(agent_ws))
    report = tick_json(agent_ws)[0]
    appended = [event["type"] for event in ledger_events(agent_ws)[before:]]
    assert report["ledger_events"] == {kind: appended.count(kind) for kind in sorted(set(appended))} == {}
    # Cost and the transcript's growth: bookkeeping and activity, in the spool; STATE.md waits.
    assert report["signals"] == len(spooled_events(agent_ws)) - spooled >= 2 and report["state_md_changed"] is False
    assert "cost" in {e["type"] for e in spooled_events(agent_ws)}
    text = render_tick([report])  # what `tick` without --json prints for it
    assert "nothing new" not in text and f"recorded {report['signals']} events in the local spool" in text
    cli(agent_ws, "stop", "repo")
    cli(agent_ws, "tick")
    quiet = tick_json(agent_ws)[0]
    assert (quiet["ledger_events"], quiet["signals"], quiet["state_md_changed"]) == ({}, 0, False)
    assert cli(agent_ws, "tick").stdout.strip() == f"{agent_ws}: nothing new"
    assert started["session"]
