"""The vocabulary of decisions is what the fold does: a flag clears as the decision that raised it
recorded (or, for a decision of 0.1.0, as ``LEGACY_FLAGS`` says), and outcomes read the kinds and
whether a flag fails the attempt from it. The fold knows no trigger by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cloisterctl.ledger.decisions import (
    DECISION_KINDS,
    FLAG_CLEARINGS,
    LEGACY_FLAGS,
    PLANNED_MOVES,
    RAISES_FLAG,
    TIER_CHANGES,
    DecisionKind,
    FlagClearing,
)
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.spending import FLAG_PREFIX, SCOPES
from cloisterctl.routing.outcome_report import derive

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
OPUS = "claude-opus-4-7"


def ev(type_: str, minute: float, **fields: Any) -> dict[str, Any]:
    return make_event(type_, "a", T0 + timedelta(minutes=minute), **fields)


def test_the_legacy_table_names_0_1_0s_flags_and_every_clearing_ends_one() -> None:
    assert {name for name, flag in LEGACY_FLAGS.items() if flag.fails_attempt} == {"stuck", "test_failure", "bleed"}
    assert all(any(clearing in flag.clears_on for flag in LEGACY_FLAGS.values()) for clearing in FLAG_CLEARINGS)
    budget_flags = {name for name, flag in LEGACY_FLAGS.items() if "budget_ok" in flag.clears_on}
    assert {FLAG_PREFIX + scope for scope in SCOPES} == budget_flags  # ledger.spending drops them
    assert set(TIER_CHANGES) | set(RAISES_FLAG) <= set(DECISION_KINDS) and "escalation" not in PLANNED_MOVES


# Signals, and every clearing each one is (a commit is activity and progress; a new task is progress).
SIGNALS: dict[str, tuple[list[FlagClearing], Any]] = {
    "a new task": (["task_change", "progress"], lambda m, _: ev("route", m, task="t-2", tier="opus", model=OPUS)),
    "another tier": (["tier_change"], lambda m, _: ev("route", m, task="t-1", tier="sonnet")),
    "the agent's activity": (["activity"], lambda m, _: ev("activity", m, source="agent", session="s1")),
    "a commit": (["activity", "progress"], lambda m, _: ev("activity", m, source="git", hook="post-commit")),
    "a passing test": (["passing_test", "progress"], lambda m, _: ev("test_run", m, passed=True)),
    "its budget under its limit": (["budget_ok"], lambda m, scope: ev("budget", m, scope=scope, level="ok")),
}


# Each 0.1.0 trigger as its decisions were written (no flag fields), and triggers no table knows
# whose decisions carry their flag's rules.
RECORDED: dict[str, dict[str, Any]] = {
    "context_full": {"flag_clears": ["task_change", "tier_change"], "fails_attempt": True},
    "quiet_hours": {"flag_clears": ["activity"], "fails_attempt": False},
    "never_clears": {"flag_clears": [], "fails_attempt": False},
}
FLAGGED = {name: {} for name in LEGACY_FLAGS} | RECORDED


def _clears_on(name: str) -> set[str]:
    recorded = RECORDED.get(name)
    return set(recorded["flag_clears"]) if recorded is not None else set(LEGACY_FLAGS[name].clears_on)


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("name", FLAGGED)
def test_a_flag_clears_exactly_on_what_its_decision_recorded(name: str, signal: str) -> None:
    clearings, make = SIGNALS[signal]
    scope = name.removeprefix(FLAG_PREFIX) if name.startswith(FLAG_PREFIX) else "agent"
    start = ev("session", 0, session="s1", tier="opus", model=OPUS, source="spawn", task="t-1")
    flagged = ev("decision", 1, trigger=name, cause=f"{name}:x", kind="flag", status="flagged", **FLAGGED[name])
    assert name in fold([start, flagged], "a").flags
    after = fold([start, flagged, make(2, scope)], "a")
    assert (name not in after.flags) == bool(_clears_on(name) & set(clearings))
    before = fold([start, make(0.5, scope), flagged], "a")
    assert name in before.flags  # a signal before the flag does not clear it


@pytest.mark.parametrize("trigger", ["stuck", "budget_day", "context_full", "quiet_hours"])
@pytest.mark.parametrize("kind", DECISION_KINDS)
def test_outcomes_read_kinds_and_failures_from_the_vocabulary(kind: DecisionKind, trigger: str) -> None:
    begin = ev("route", 0, task="t1", tier="sonnet", model="claude-sonnet-4-6", complexity={"level": "medium"})
    recorded = RECORDED.get(trigger, {})
    decision = ev(
        "decision", 1, trigger=trigger, cause=f"{trigger}:x", kind=kind, status="applied", task="t1", to_tier="opus"
    ) | (recorded if kind in RAISES_FLAG else {})
    fails = kind in RAISES_FLAG and (
        recorded["fails_attempt"] if recorded else LEGACY_FLAGS.get(trigger, LEGACY_FLAGS["budget_day"]).fails_attempt
    )
    closed, _ = derive([begin, decision, ev("task", 2, task="t1", status="closed")], "a")
    assert (closed[0]["ending"], closed[0]["success"]) == ("closed", not fails)
    moved, _ = derive([begin, decision, ev("route", 2, task="t1", tier="opus", model=OPUS)], "a")
    ending = "escalated" if kind == "escalation" else "handed_off"
    named = kind in TIER_CHANGES or fails  # a move says which trigger made it, and so does a failing flag
    assert (moved[0]["ending"], moved[0]["trigger"]) == (ending, trigger if named else None)
