"""End to end: a close below the top tier is verified by a detached process before it counts.

Real git repo, stand-in agents in a private tmux, the JSONL tracker; the verification runs
``tests.command`` (a small checker that names its failing tests like pytest's ``-rf``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cloisterctl.ledger import statefile
from testing.helpers import (
    STANDIN_SPAWN,
    cli,
    events,
    finish_handoff,
    git,
    standin_config,
    tick_json,
    tmux_sessions,
    write_config,
    write_tasks,
)

CHECKER = """\
import pathlib, sys
failed = []
feature = pathlib.Path("feature.txt")
if feature.exists() and "broken" in feature.read_text():
    failed.append("test_feature")
if pathlib.Path("legacy_broken").exists():
    failed.append("test_legacy")
for name in failed:
    print(f"FAILED {name} - assert False")
print(f"{len(failed)} failed" if failed else "2 passed")
sys.exit(1 if failed else 0)
"""

TASKS = [
    {"_type": "issue", "id": "app-1", "title": "Make the feature work", "status": "open", "issue_type": "task"},
    {"_type": "issue", "id": "app-2", "title": "Fix typo in README", "status": "open", "issue_type": "chore"},
]

CONFIG = (
    "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n"
    "  guards: {cooldown_minutes: 0}\n"
    f"tests:\n  command: [{sys.executable}, check.py]\n"
    "verification:\n  timeout_seconds: 60\n"
)


def _set_up(ws: Path, *, legacy_broken: bool) -> None:
    write_config(ws, standin_config(quiet=True) + CONFIG)
    (ws / "check.py").write_text(CHECKER)
    if legacy_broken:
        (ws / "legacy_broken").write_text("a failure older than the agent's work\n")
    write_tasks(ws, TASKS)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "project and tasks")
    tick_json(ws)  # takes note of the tasks
    time.sleep(1.1)  # the attempt begins after the base commit's second
    cli(ws, "spawn", "app-1", "--tier", "haiku")
    time.sleep(1.1)


def _agent_closes(ws: Path, feature: str) -> None:
    """The agent's work (a commit) and its close of app-1 in the tracker."""
    (ws / "feature.txt").write_text(feature + "\n")
    git(ws, "add", "feature.txt")
    git(ws, "commit", "-q", "-m", "work on app-1")
    tasks = [json.loads(line) for line in (ws / ".beads" / "issues.jsonl").read_text().splitlines()]
    write_tasks(ws, [{**task, "status": "closed"} if task["id"] == "app-1" else task for task in tasks])


def _tick_until_verdict(ws: Path) -> dict[str, Any]:
    for _ in range(60):
        report = tick_json(ws)[0]
        done = [v for v in report["verifications"] if v["result"] != "pending"]
        if done:
            return report
        time.sleep(0.5)
    raise AssertionError(events(ws, "verification"))


def _attempts(ws: Path) -> list[dict[str, Any]]:
    data = json.loads(cli(ws, "outcomes", "--json").stdout)
    return [row for row in data["attempts"] if row["task"] == "app-1"]


def test_a_failing_close_is_caught_reopened_and_escalated_with_the_failure(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    _set_up(agent_ws, legacy_broken=False)
    _agent_closes(agent_ws, "broken")
    first = tick_json(agent_ws)[0]
    assert first["verifications"] == [{"task": "app-1", "result": "pending"}]
    assert first["decisions"] == []  # the close does not move the agent on while it is checked
    status = json.loads(cli(agent_ws, "status", "--json").stdout)
    assert status["verification"]["result"] == "pending"
    # A verification's start is bookkeeping (ledger.bookkeeping): STATE.md shows it with the next
    # commit; its verdict commits on its own, below.
    assert "verification" not in statefile.read(agent_ws / "STATE.md").cloister
    assert "pending (close on haiku)" in cli(agent_ws, "status").stdout

    report = _tick_until_verdict(agent_ws)
    verdict = events(agent_ws, "verification")[-1]
    assert verdict["result"] == "fail" and verdict["new_failures"] == ["test_feature"]
    assert verdict["exit_code"] == 1 and any("FAILED test_feature" in line for line in verdict["output"])
    assert verdict["tier"] == "haiku" and verdict["base"]
    [decision] = report["decisions"]
    assert decision["summary"].startswith("verification_failed: haiku -> sonnet")
    tasks = {
        json.loads(line)["id"]: json.loads(line) for line in (agent_ws / ".beads/issues.jsonl").read_text().splitlines()
    }
    assert tasks["app-1"]["status"] == "open"  # reopened in the tracker

    finish_handoff(agent_ws)
    assert statefile.read(agent_ws / "STATE.md").cloister["tier"] == "sonnet"
    [handoff] = [e for e in events(agent_ws, "handoff") if e["step"] == "requested"]
    packet = json.loads((agent_ws / ".cloister" / "handoffs" / f"{handoff['handoff']}.json").read_text())
    assert packet["task_id"] == "app-1" and packet["trigger"] == "verification_failed"
    assert "FAILED test_feature" in packet["reason"] and "test_feature" in packet["reason"]
    haiku = [row for row in _attempts(agent_ws) if row["tier"] == "haiku"]
    assert haiku and haiku[0]["success"] is False and haiku[0]["verified"] == "fail"
    assert statefile.read(agent_ws / "STATE.md").cloister["verification"] == "fail"
    text = cli(agent_ws, "report", "routing").stdout
    assert "verification: 0 pending, 0 passed, 1 failed, 0 failed to run" in text
    assert "detection haiku  caught 1, missed 0: recall 1.00 (95% 0.21-1.00)" in text
    routing = json.loads(cli(agent_ws, "report", "routing", "--json").stdout)
    assert routing["detection"]["rows"][0] == {
        "tier": "haiku",
        "caught": 1,
        "missed": 0,
        "recall": 1.0,
        "interval": routing["detection"]["rows"][0]["interval"],
    }
    page = tmp_path / "routing.html"
    cli(agent_ws, "report", "routing", "--html", str(page))
    html = page.read_text()
    assert "verification: 0 pending, 0 passed, 1 failed, 0 failed to run" in html
    assert '<td>haiku</td><td class="num">1</td><td class="num">0</td><td class="num">100.0%</td>' in html


def test_a_passing_close_counts_and_an_older_failure_is_not_blamed(agent_ws: Path, tmux_socket: str) -> None:
    _set_up(agent_ws, legacy_broken=True)  # test_legacy fails before the attempt, and after it
    _agent_closes(agent_ws, "done")
    assert "verification of app-1 started" in cli(agent_ws, "tick").stdout
    report = _tick_until_verdict(agent_ws)
    verdict = events(agent_ws, "verification")[-1]
    assert verdict.get("new_failures", []) == []
    assert verdict["result"] == "pass" and "not blamed" in verdict["note"]
    assert [d["summary"].split(":")[0] for d in report["decisions"]] == ["task_completed"]
    [haiku] = _attempts(agent_ws)
    assert haiku["success"] is True and haiku["ending"] == "closed"
    assert not [e for e in events(agent_ws, "decision") if e["trigger"] == "verification_failed"]
    tasks = [json.loads(line) for line in (agent_ws / ".beads/issues.jsonl").read_text().splitlines()]
    assert next(task for task in tasks if task["id"] == "app-1")["status"] == "closed"


def _set_up_reviewed(ws: Path, quiet_models: str = "haiku") -> None:
    """As ``_set_up``, with a reviewer on opus; the agents whose model id contains ``quiet_models``
    sit quiet (the haiku agent: its close is driven by hand), the others work."""
    spawn = STANDIN_SPAWN.format(python=sys.executable, turn=0.5, extra=f"--quiet-models, {quiet_models}, ")
    write_config(ws, spawn + CONFIG + "  reviewer: opus\n  review_timeout_seconds: 60\n")
    (ws / "check.py").write_text(CHECKER)
    write_tasks(ws, [{**TASKS[0], "acceptance_criteria": "feature.txt says what the feature does"}, TASKS[1]])
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "project and tasks")
    tick_json(ws)
    time.sleep(1.1)
    cli(ws, "spawn", "app-1", "--tier", "haiku")
    time.sleep(1.1)


def test_a_reviewer_on_a_higher_tier_fails_a_close_the_tests_pass(agent_ws: Path, tmux_socket: str) -> None:
    """The tests pass, the reviewer (a fresh opus session from a small packet) finds the bug: the
    close is reopened and escalated with the reviewer's reason in the packet; the review's session
    is the task's (its cost), never the agent's, and is stopped once it gave its verdict."""
    _set_up_reviewed(agent_ws)
    agent_session = json.loads(cli(agent_ws, "status", "--json").stdout)["session"]
    _agent_closes(agent_ws, "done, except BUG: the total is off by one")
    report = _tick_until_verdict(agent_ws)
    verdict = events(agent_ws, "verification")[-1]
    assert verdict["result"] == "fail" and verdict["review"] == "opus"
    assert "reviewer on opus: the change adds a known bug" in verdict["note"] and "(checks: " in verdict["note"]
    packet_text = (agent_ws / ".cloister" / "local" / "verify" / "app-1.review.md").read_text()
    assert "feature.txt says what the feature does" in packet_text and "+done, except BUG" in packet_text
    assert "Write your verdict as JSON to: " in packet_text
    [review] = [e for e in events(agent_ws, "session") if e.get("source") == "review"]
    assert review["session"] == verdict["reviewer_session"] and review["role"] == "test-agent"
    assert review["tier"] == "opus" and review["task"] == "app-1"
    assert not [name for name in tmux_sessions(tmux_socket) if name.endswith("-review")]  # stopped
    [decision] = report["decisions"]
    assert decision["summary"].startswith("verification_failed: haiku -> sonnet")
    [handoff] = [e for e in events(agent_ws, "handoff") if e["step"] == "requested"]
    assert handoff["from_session"] == agent_session  # the agent's session, not the reviewer's
    packet = json.loads((agent_ws / ".cloister" / "handoffs" / f"{handoff['handoff']}.json").read_text())
    assert "the change adds a known bug" in packet["reason"]
    haiku = [row for row in _attempts(agent_ws) if row["tier"] == "haiku"]
    assert haiku and haiku[0]["success"] is False and haiku[0]["verified"] == "fail"
    assert [row["tier"] for row in _attempts(agent_ws)].count("opus") == 0  # a review is not an attempt


def test_a_reviewer_passes_a_good_close(agent_ws: Path, tmux_socket: str) -> None:
    _set_up_reviewed(agent_ws)
    _agent_closes(agent_ws, "done")
    report = _tick_until_verdict(agent_ws)
    verdict = events(agent_ws, "verification")[-1]
    assert verdict["result"] == "pass" and "reviewer on opus: the change does what the task asks" in verdict["note"]
    assert [d["summary"].split(":")[0] for d in report["decisions"]] == ["task_completed"]
    [haiku] = _attempts(agent_ws)
    assert haiku["success"] is True and haiku["verified"] == "pass"


def test_a_reviewer_that_dies_without_a_verdict_is_an_error_and_the_close_stands(
    agent_ws: Path, tmux_socket: str
) -> None:
    _set_up_reviewed(agent_ws, quiet_models="claude")  # the reviewer sits quiet too: no verdict
    _agent_closes(agent_ws, "done")
    for _ in range(60):
        tick_json(agent_ws)
        reviewers = [name for name in tmux_sessions(tmux_socket) if name.endswith("-review")]
        if reviewers:
            break
        time.sleep(0.5)
    subprocess.run(["tmux", "-L", tmux_socket, "kill-session", "-t", f"={reviewers[0]}"], check=True)
    _tick_until_verdict(agent_ws)
    verdict = events(agent_ws, "verification")[-1]
    assert verdict["result"] == "error" and verdict["note"] == "the reviewer's session ended without a verdict"
    [haiku] = _attempts(agent_ws)
    assert haiku["success"] is True  # failed to run: no verdict, the close counts as it stands
