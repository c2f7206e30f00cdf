from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cloisterctl.cli.render import render_tick
from cloisterctl.ledger import statefile
from testing.helpers import (
    TASKS,
    cli,
    events,
    finish_handoff,
    git,
    handoff_events,
    ledger_events,
    run,
    spooled_events,
    standin_config,
    tick_json,
    tmux_sessions,
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
    assert git(workspace, "status", "--porcelain", "--", "STATE.md", ".cloister") == ""  # nothing of ours
    again = tick_json(workspace)[0]
    assert again["tasks"] == [] and again["commit"] is None
    assert run(workspace, "route", "app-1", "--record").exit_code == 0
    log = git(workspace, "log", "-1", "--format=%an <%ae>%n%B", "--name-only")
    assert log.splitlines()[0] == "cloisterctl <cloisterctl@localhost>"
    assert log.splitlines()[1].startswith("cloister: route app-1 -> ") and "- task app-2 closed" in log
    assert ".cloister/ledger/" in log and "staged.txt" not in log
    assert "A  staged.txt" in git(workspace, "status", "--porcelain")  # still staged, not committed


def test_no_commit_during_a_merge(workspace: Path) -> None:
    write_tasks(workspace, TASKS)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "tasks")
    tick_json(workspace)
    close(workspace, "app-2")
    (Path(git(workspace, "rev-parse", "--absolute-git-dir").strip()) / "MERGE_HEAD").write_text(
        git(workspace, "rev-parse", "HEAD")
    )
    report = tick_json(workspace)[0]
    assert report["commit"] is None
    assert any("a merge is in progress" in p for p in report["problems"])


def test_two_ticks_at_once(workspace: Path) -> None:
    (workspace / ".cloister" / "config.yaml").write_text("tick:\n  wait_seconds: 0.5\n")
    lock = workspace / ".cloister" / "local" / "tick.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire();"
            " print('held', flush=True); time.sleep(30)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli(workspace, "tick")
        assert result.returncode == 0
        assert (
            "another tick is running here: its lock .cloister/local/tick.lock is held (waited 0.5s); skipped"
            in result.stdout
        )
    finally:
        holder.kill()
        holder.wait()


def test_dry_run_decides_but_writes_nothing(agent_ws: Path, tmux_socket: str) -> None:
    write_config(
        agent_ws,
        standin_config(quiet=True)
        + "handoffs:\n  auto_triggers:\n    stuck:\n      thresholds: {haiku_to_sonnet_minutes: 0.02}\n",
    )
    cli(agent_ws, "spawn", "--tier", "haiku")
    time.sleep(1.5)
    files = snapshot_files(agent_ws)
    report = tick_json(agent_ws, "--dry-run")[0]
    assert [(d["trigger"], d["to_tier"], d["dry_run"]) for d in report["decisions"]] == [("stuck", "sonnet", True)]
    assert snapshot_files(agent_ws) == files


def test_tick_all_covers_worktrees(workspace: Path, tmp_path: Path) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister")
    other = tmp_path / "feature-wt"
    git(workspace, "worktree", "add", "-q", "-b", "feature", str(other))
    assert run(other, "init", "--agent", "feature-agent").exit_code == 0
    (tmp_path / "not-a-workspace").mkdir()
    reports = tick_json(workspace, "--all")
    assert sorted(Path(r["workspace"]).name for r in reports) == ["feature-wt", "repo"]
    agents = json.loads(cli(workspace, "agents", "--all", "--json").stdout)
    assert sorted(a["agent"] for a in agents) == ["feature-agent", "repo"]


# ----------------------------------------------------------------------------------- the scenarios


def one_decision(ws: Path, trigger: str) -> dict[str, Any]:
    found = [d for d in decisions_of(ws) if d["trigger"] == trigger]
    assert len(found) == 1, decisions_of(ws)
    return found[0]


def test_a_closed_plan_task_hands_the_planner_to_sonnet(agent_ws: Path, tmux_socket: str) -> None:
    write_tasks(agent_ws, TASKS)
    git(agent_ws, "add", "-A")
    git(agent_ws, "commit", "-q", "-m", "tasks")
    spawned = json.loads(cli(agent_ws, "spawn", "app-plan", "--json").stdout)
    assert spawned["tier"] == "opus" and spawned["rule"] == "complexity_routing.expert"
    tick_json(agent_ws)
    close(agent_ws, "app-plan")
    report = tick_json(agent_ws)[0]
    assert [d["summary"].split(" [")[0] for d in report["decisions"]] == ["planning_complete: opus -> sonnet"]
    decision = one_decision(agent_ws, "planning_complete")
    assert decision["economics"]["handoff_pays"] is True and decision["status"] == "applied"
    finish_handoff(agent_ws)
    assert handoff_events(agent_ws)[-1] == ("completed", "done")
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["tier"], block["handoffs"]) == ("sonnet", 1)
    # Reviewable in git: the decision, the handoff steps and the packet are in cloisterctl's commits.
    log = git(agent_ws, "log", "-p", "--author=cloisterctl", "--format=%s")
    assert "cloister: planning_complete: opus -> sonnet applied: plan task app-plan closed" in log
    assert '"type":"decision"' in log and ".cloister/handoffs/" in log
    # Nothing fires twice.
    for _ in range(2):
        tick_json(agent_ws)
    assert len(decisions_of(agent_ws)) == 1
    assert len(tmux_sessions(tmux_socket)) == 1


def test_a_quiet_haiku_agent_is_escalated_to_sonnet_once(agent_ws: Path, tmux_socket: str) -> None:
    stuck = "handoffs:\n  idle_seconds: 1\n  auto_triggers:\n    stuck:\n      thresholds: {haiku_to_sonnet_minutes: 0.05}\n"
    write_config(agent_ws, standin_config(quiet=True) + stuck)
    cli(agent_ws, "spawn", "--tier", "haiku")
    assert tick_json(agent_ws)[0]["decisions"] == []  # quiet, but not for long yet
    time.sleep(3.5)
    report = tick_json(agent_ws)[0]
    [decision] = report["decisions"]
    assert decision["summary"].startswith("stuck: haiku -> sonnet") and "no progress for" in decision["summary"]
    finish_handoff(agent_ws)
    assert statefile.read(agent_ws / "STATE.md").cloister["tier"] == "sonnet"
    assert len([d for d in decisions_of(agent_ws) if d["trigger"] == "stuck"]) == 1
    assert "cloister: stuck: haiku -> sonnet applied" in git(agent_ws, "log", "--format=%s")


def test_two_failed_test_runs_escalate_once(agent_ws: Path, tmux_socket: str) -> None:
    cli(agent_ws, "spawn", "--tier", "haiku")
    for _ in range(2):
        assert cli(agent_ws, "test", "--", sys.executable, "-c", "raise SystemExit(1)", check=False).returncode == 1
    report = tick_json(agent_ws)[0]
    [decision] = report["decisions"]
    assert decision["summary"].startswith("test_failure: haiku -> sonnet")
    assert "2 failed test runs in a row on haiku" in decision["summary"]
    finish_handoff(agent_ws)
    tick_json(agent_ws)
    assert len(decisions_of(agent_ws)) == 1
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert block["tier"] == "sonnet" and block["last_decision"].startswith("handoff")


def test_approval_gates_a_decision(agent_ws: Path, tmux_socket: str) -> None:
    write_config(
        agent_ws, standin_config() + "handoffs:\n  idle_seconds: 1\n  guards: {require_approval: [escalation]}\n"
    )
    cli(agent_ws, "spawn", "--tier", "haiku")
    for _ in range(2):
        cli(agent_ws, "test", "--", sys.executable, "-c", "raise SystemExit(1)", check=False)
    [proposed] = tick_json(agent_ws)[0]["decisions"]
    assert proposed["status"] == "proposed"
    status = json.loads(cli(agent_ws, "status", "--json").stdout)
    assert status["status"] == "awaiting-approval" and status["pending_approvals"][0]["id"] == proposed["id"]
    assert tick_json(agent_ws)[0]["decisions"] == []  # waits; does not re-propose
    approved = json.loads(cli(agent_ws, "approve", proposed["id"][:8], "--json").stdout)
    assert approved["handoff"]
    finish_handoff(agent_ws)
    assert statefile.read(agent_ws / "STATE.md").cloister["tier"] == "sonnet"
    assert cli(agent_ws, "approve", proposed["id"], check=False).returncode == 1


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
