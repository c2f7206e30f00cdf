"""The adaptive router end to end in a real workspace: recorded outcomes -> `route` -> the ledger
event holds p, c, E and n, and `report routing` shows them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from testing.helpers import events, git, run, write_tasks


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


def test_recorded_failures_move_the_start_tier_and_the_ledger_and_report_say_why(
    workspace: Path, bd_on_path: Path, tmp_path: Path
) -> None:
    write_tasks(workspace, [task(n) for n in range(1, 9)])
    git(workspace, "add", ".beads")
    git(workspace, "commit", "-q", "-m", "tasks")
    first = json.loads(run(workspace, "route", "w-1", "--json").output)
    assert (first["tier"], first["rule"], first["policy"]) == ("haiku", "complexity_routing.simple", "adaptive")
    assert {row["tier"]: row["n"] for row in first["adaptive"]["tiers"]} == {"haiku": 0, "sonnet": 0, "opus": 0}
    # Three attempts on haiku: one holds, two close but fail the test-agent stage.
    for number in range(1, 4):
        assert run(workspace, "route", f"w-{number}", "--record").exit_code == 0
        close(workspace, number)
        if number > 1:
            assert run(workspace, "outcomes", "verify", f"w-{number}", "fail").exit_code == 0
    outcomes = json.loads(run(workspace, "outcomes", "--json").output)
    assert [(a["task"], a["tier"], a["ending"], a["success"]) for a in outcomes["attempts"]] == [
        ("w-1", "haiku", "closed", True),
        *[(f"w-{n}", "haiku", "closed", False) for n in range(2, 4)],
    ]

    result = run(workspace, "route", "w-4", "--record")
    assert result.exit_code == 0, result.output
    assert "w-4 -> sonnet" in result.output and "by routing.adaptive" in result.output
    assert "haiku   p=0.52 (n=3)" in result.output and "(excluded by routing.min_success)" in result.output
    event = [e for e in events(workspace) if e["type"] == "route"][-1]
    assert (event["task"], event["tier"], event["rule"], event["policy"]) == (
        "w-4",
        "sonnet",
        "routing.adaptive",
        "adaptive",
    )
    tiers = {row["tier"]: row for row in event["adaptive"]["tiers"]}
    assert tiers["haiku"]["n"] == 3 and round(tiers["haiku"]["p"], 3) == round((1.6 + 1) / 5, 3)
    assert not tiers["haiku"]["allowed"] and tiers["sonnet"]["allowed"]
    assert all({"p", "n", "c", "c_n", "E"} <= set(row) for row in tiers.values())
    # The decision is committed with the ledger: a reviewer sees the figures in the git diff.
    assert '"adaptive"' in git(workspace, "show", "HEAD")

    report = json.loads(run(workspace, "report", "routing", "--json").output)
    cell = next(c for c in report["cells"] if (c["level"], c["tier"]) == ("simple", "haiku"))
    assert (cell["attempts"], cell["successes"], cell["failures"]) == (3, 1, 2)
    assert cell["interval"][0] < 1 / 3 < cell["interval"][1]
    simple = next(level for level in report["levels"] if level["level"] == "simple")
    assert (simple["static_tier"], simple["best_start_tier"]) == ("haiku", "sonnet")
    text = run(workspace, "report", "routing").output
    assert "simple: static haiku, best start tier sonnet" in text and "haiku  p=0.52 (n=3)" in text
    page = tmp_path / "routing.html"
    assert run(workspace, "report", "routing", "--html", str(page)).exit_code == 0
    html = page.read_text()
    assert "best start sonnet" in html and "<script" not in html and "http" not in html.split("<body>")[1]

    # The same history replayed under another config: what static routing would have done.
    alt = tmp_path / "alt.yaml"
    alt.write_text("routing:\n  policy: static\ncomplexity_routing:\n  simple: sonnet\n")
    replayed = json.loads(run(workspace, "replay", "--ledger", "--config", str(alt), "--json").output)
    assert [row["id"] for row in replayed["tasks"]] == ["w-1", "w-2", "w-3"]  # w-4 is still open
    assert {row["start_tier"] for row in replayed["tasks"]} == {"sonnet"}
    assert replayed["options"]["policy"] == "static"
    # sonnet was never tried: inferred resolved where haiku solved it (w-1), else unresolved
    assert [row["resolved"] for row in replayed["tasks"]] == [True, False, False]
    assert replayed["source"]["inferred_outcomes"] == 3 * 2


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
