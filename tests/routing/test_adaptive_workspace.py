"""The adaptive router end to end in a real workspace: recorded outcomes -> `route` -> the ledger
event holds p, c, E and n, and `report routing` shows them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from testing.helpers import events, git, run, write_config, write_tasks


def task(number: int) -> dict[str, Any]:
    return {
        "id": f"w-{number}",
        "title": f"Handle case {number} in the parser",
        "status": "open",
        "issue_type": "task",
        "labels": ["difficulty:<15 min fix"],  # a human estimate: level simple, routed to haiku
    }


def close(ws: Path, number: int) -> None:
    subprocess.run(["bd", "close", f"w-{number}", "--json"], cwd=ws, check=True, capture_output=True)
    issue = {**task(number), "status": "closed"}
    result = run(ws, "hook", "beads", f"w-{number}", "close", input=json.dumps(issue))
    assert result.exit_code == 0, result.output


# The prior's centre: the seed 0.8 worth 4 outcomes, and haiku's own rate (0 of 5, Laplace: 1/7).
CENTRE = (0.8 * 4 + 1 / 7) / 5


def test_recorded_failures_move_the_start_tier_and_the_ledger_and_report_say_why(
    workspace: Path, bd_on_path: Path, tmp_path: Path
) -> None:
    write_tasks(workspace, [task(n) for n in range(1, 9)])
    # No exploration here: the estimates alone decide (exploration: tests/routing/test_adaptive.py).
    # No escalations: the five caught failures make detection 1.0, and a haiku start whose failures
    # escalate would be a safe ladder (test_the_measured_detection_reaches_the_route_decision).
    write_config(workspace, "routing:\n  explore_min: 0\nhandoffs:\n  guards:\n    max_escalations: 0\n")
    git(workspace, "add", ".beads")
    git(workspace, "commit", "-q", "-m", "tasks")
    first = json.loads(run(workspace, "route", "w-1", "--json").output)
    assert (first["tier"], first["rule"], first["policy"]) == ("haiku", "complexity_routing.simple", "adaptive")
    assert {row["tier"]: row["n"] for row in first["adaptive"]["tiers"]} == {"haiku": 0, "sonnet": 0, "opus": 0}
    # Five attempts on haiku, each closed but failed by the test-agent stage. Fewer do not move the
    # static tier: a handful of outcomes against a prior worth routing.prior_strength (4) of them.
    for number in range(1, 6):
        assert run(workspace, "route", f"w-{number}", "--record").exit_code == 0
        close(workspace, number)
        assert run(workspace, "outcomes", "verify", f"w-{number}", "fail").exit_code == 0
    outcomes = json.loads(run(workspace, "outcomes", "--json").output)
    assert [(a["task"], a["tier"], a["ending"], a["success"]) for a in outcomes["attempts"]] == [
        (f"w-{n}", "haiku", "closed", False) for n in range(1, 6)
    ]

    result = run(workspace, "route", "w-6", "--record")
    assert result.exit_code == 0, result.output
    assert "w-6 -> sonnet" in result.output and "by routing.adaptive" in result.output
    assert "haiku   p=0.30 (n=5)" in result.output and "detection 1.00" in result.output
    event = [e for e in events(workspace) if e["type"] == "route"][-1]
    assert (event["task"], event["tier"], event["rule"], event["policy"]) == (
        "w-6",
        "sonnet",
        "routing.adaptive",
        "adaptive",
    )
    tiers = {row["tier"]: row for row in event["adaptive"]["tiers"]}
    assert tiers["haiku"]["n"] == 5 and round(tiers["haiku"]["p"], 3) == round(4 * CENTRE / 9, 3)
    assert tiers["sonnet"]["allowed"] and tiers["haiku"]["p"] < tiers["sonnet"]["p"]
    # no escalation: the ladder rescues nothing, so haiku's start alone is judged, and trails
    assert not tiers["haiku"]["allowed"] and tiers["haiku"]["S"] < tiers["sonnet"]["S"]
    assert all({"p", "n", "c", "c_n", "E"} <= set(row) for row in tiers.values())
    # The decision is committed with the ledger: a reviewer sees the figures in the git diff.
    assert '"adaptive"' in git(workspace, "show", "HEAD")

    report = json.loads(run(workspace, "report", "routing", "--json").output)
    cell = next(c for c in report["cells"] if (c["level"], c["tier"]) == ("simple", "haiku"))
    assert (cell["attempts"], cell["successes"], cell["failures"]) == (5, 0, 5)
    assert cell["interval"][0] == 0 < cell["interval"][1] < 1
    simple = next(level for level in report["levels"] if level["level"] == "simple")
    assert (simple["static_tier"], simple["best_start_tier"]) == ("haiku", "sonnet")
    text = run(workspace, "report", "routing").output
    assert "simple: static haiku, best start tier sonnet" in text and "haiku  p=0.30 (n=5)" in text
    page = tmp_path / "routing.html"
    assert run(workspace, "report", "routing", "--html", str(page)).exit_code == 0
    html = page.read_text()
    assert "best start sonnet" in html and "<script" not in html and "http" not in html.split("<body>")[1]
    assert "Learned cost of an attempt" in html and "Verification and failure detection" in html

    # The same history replayed under another config: what static routing would have done.
    alt = tmp_path / "alt.yaml"
    alt.write_text("routing:\n  policy: static\ncomplexity_routing:\n  simple: sonnet\n")
    replayed = json.loads(run(workspace, "replay", "--ledger", "--config", str(alt), "--json").output)
    assert [row["id"] for row in replayed["tasks"]] == [f"w-{n}" for n in range(1, 6)]  # w-6 is still open
    assert {row["start_tier"] for row in replayed["tasks"]} == {"sonnet"}
    assert replayed["options"]["policy"] == "static"
    # sonnet was never tried: inferred resolved where haiku solved it (nowhere), else unresolved
    assert [row["resolved"] for row in replayed["tasks"]] == [False] * 5
    assert replayed["source"]["inferred_outcomes"] == 5 * 2


def test_a_task_seen_closed_that_comes_back_open_is_a_reopen() -> None:
    from cloisterctl.tasks.watch import reopens

    changes = [
        {"task": "a", "status": "open", "source": "reconcile"},
        {"task": "b", "status": "open", "source": "reconcile"},
        {"task": "c", "status": "closed", "source": "reconcile"},
    ]
    known = {"a": {"status": "closed", "closed": "2026-12-01T10:00:00.000000Z"}, "b": {"status": "in_progress"}}
    assert reopens(changes, known) == [{"task": "a", "status": "open", "source": "reconcile"}]


def test_a_reopen_seen_by_the_tick_takes_the_success_back(workspace: Path, bd_on_path: Path) -> None:
    write_tasks(workspace, [task(1)])
    git(workspace, "add", ".beads")
    git(workspace, "commit", "-q", "-m", "tasks")
    assert run(workspace, "route", "w-1", "--record").exit_code == 0
    assert run(workspace, "tick").exit_code == 0  # the first look only takes note
    subprocess.run(["bd", "close", "w-1", "--json"], cwd=workspace, check=True, capture_output=True)
    assert run(workspace, "tick").exit_code == 0
    first = json.loads(run(workspace, "outcomes", "--json").output)["attempts"]
    assert [(a["ending"], a["success"]) for a in first] == [("closed", True)]
    subprocess.run(
        ["bd", "update", "w-1", "--status", "open", "--json"], cwd=workspace, check=True, capture_output=True
    )
    assert run(workspace, "tick").exit_code == 0
    assert [e["task"] for e in events(workspace) if e["type"] == "reopen"] == ["w-1"]
    after = json.loads(run(workspace, "outcomes", "--json").output)["attempts"]
    assert [(a["ending"], a["success"]) for a in after] == [("reopened", False)]
    report = json.loads(run(workspace, "report", "routing", "--json").output)
    assert report["counts"]["simple/haiku"][:3] == [1, 0, 1]


def test_the_measured_detection_reaches_the_route_decision(workspace: Path, bd_on_path: Path) -> None:
    """The guard judges ladders at the recall the fold measured (caught 1, missed 1: 0.5), not as unknown."""
    write_tasks(workspace, [task(n) for n in range(1, 4)])
    git(workspace, "add", ".beads")
    git(workspace, "commit", "-q", "-m", "tasks")
    simple = {"level": "simple"}
    lines = [
        {"type": "route", "task": "w-1", "tier": "haiku", "model": "claude-haiku", "rule": "r", "complexity": simple},
        {"type": "task", "task": "w-1", "status": "closed"},
        {"type": "verification", "task": "w-1", "result": "fail", "attempt": 1, "tier": "haiku", "source": "tick"},
        {"type": "route", "task": "w-2", "tier": "haiku", "model": "claude-haiku", "rule": "r", "complexity": simple},
        {"type": "task", "task": "w-2", "status": "closed"},
        {"type": "reopen", "task": "w-2", "status": "open"},  # an accepted close that came back: missed
    ]
    events = [
        {"id": f"m{n:03d}", "ts": f"2026-12-01T10:{n:02d}:00.000000Z", "agent": "", **line}
        for n, line in enumerate(lines)
    ]
    segment = workspace / ".cloister" / "ledger" / "2026-12.jsonl"
    with segment.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(event) + "\n" for event in events)
    routed = json.loads(run(workspace, "route", "w-3", "--json").output)
    assert routed["adaptive"]["detection"] == 0.5
    report = run(workspace, "report", "routing").output
    assert "detection haiku  caught 1, missed 1: recall 0.50" in report
