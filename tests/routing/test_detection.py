"""The recall of failure detection, from the fold's counts of caught and missed failures."""

from __future__ import annotations

from typing import Any

from cloisterctl.ledger.attempts import FAILURES, SUCCESSES
from cloisterctl.ledger.fold import copy_state, fold
from cloisterctl.routing.detection import detection_rate, detection_rows
from testing.helpers import minute_event


def closed_on(minute: int, task: str, tier: str) -> list[dict[str, Any]]:
    return [
        minute_event(
            "route", minute, task=task, tier=tier, model=f"claude-{tier}", rule="r", complexity={"level": "simple"}
        ),
        minute_event("task", minute + 1, task=task, status="closed"),
    ]


def test_caught_and_missed_failures_per_tier_give_the_recall_and_its_interval() -> None:
    events = [
        *closed_on(0, "t1", "haiku"),  # caught: its verification fails
        minute_event("verification", 2, task="t1", result="pending", attempt=1, tier="haiku", source="tick"),
        minute_event("verification", 3, task="t1", result="fail", attempt=1, tier="haiku", source="tick"),
        minute_event("reopen", 4, task="t1", status="open"),  # the reopen that follows is not a second failure
        *closed_on(5, "t2", "haiku"),  # missed: it passed, and came back later
        minute_event("verification", 7, task="t2", result="pass", attempt=2, tier="haiku", source="tick"),
        minute_event("reopen", 8, task="t2", status="open"),
        *closed_on(9, "t3", "sonnet"),  # missed: never checked, and reopened
        minute_event("task", 11, task="t3", status="open"),
        *closed_on(12, "t4", "sonnet"),  # accepted and never failed: in neither count
        *closed_on(14, "t5", "haiku"),  # a verdict on an earlier close does not touch a later one
        minute_event("verification", 16, task="t5", result="fail", attempt=99, tier="haiku", source="tick"),
    ]
    state = fold(events, "a")
    assert state.outcomes.detection == {"haiku": [1, 1], "sonnet": [0, 1]}
    haiku = state.outcomes.counts["simple/haiku"]
    assert (haiku[SUCCESSES], haiku[FAILURES]) == (1, 2)  # t5 counts; t1 failed; t2 reopened
    rows = {row["tier"]: row for row in detection_rows(state.outcomes.detection)}
    assert rows["haiku"]["recall"] == 0.5 and rows["sonnet"]["recall"] == 0.0
    assert rows["all"]["caught"] == 1 and rows["all"]["missed"] == 2
    low, high = rows["all"]["interval"]
    assert 0 < low < 1 / 3 < high < 1
    assert detection_rate(state) == 1 / 3
    assert copy_state(state).outcomes.detection == state.outcomes.detection


def test_without_a_known_failure_the_recall_is_unknown() -> None:
    state = fold(
        [*closed_on(0, "t1", "haiku"), minute_event("verification", 2, task="t1", result="pass", attempt=1)], "a"
    )
    assert detection_rate(state) is None and detection_rows(state.outcomes.detection) == []
    assert state.outcomes.verifications["t1"]["result"] == "pass"


def test_a_close_counts_as_a_success_only_once_its_verification_passes() -> None:
    events = [
        *closed_on(0, "t1", "haiku"),
        minute_event("verification", 2, task="t1", result="pending", attempt=1, source="tick"),
    ]
    held = fold(events, "a")
    assert (held.outcomes.counts["simple/haiku"][SUCCESSES], held.outcomes.counts["simple/haiku"][FAILURES]) == (0, 0)
    for result, counted in (("pass", (1, 0)), ("error", (1, 0)), ("fail", (0, 1))):
        verdict = minute_event("verification", 3, task="t1", result=result, attempt=1, source="tick")
        state = fold([*events, verdict, minute_event("reopen", 4, task="t1", status="open")], "a")
        row = state.outcomes.counts["simple/haiku"]
        reopened = (0, 1)  # a reopen after any verdict: the close did not hold
        assert (row[SUCCESSES], row[FAILURES]) == reopened, result
        row = fold([*events, verdict], "a").outcomes.counts["simple/haiku"]
        assert (row[SUCCESSES], row[FAILURES]) == counted, result
