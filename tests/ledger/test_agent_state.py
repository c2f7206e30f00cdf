"""Flags clear when their cause does, and the fold tracks the progress the cost-bleed guard measures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import DEAD, apply, copy_state, fold
from cloisterctl.ledger.state import KEEP_EXITS, MICRO

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def ev(type_: str, minute: float, **fields: Any) -> dict[str, Any]:
    return make_event(type_, "a", T0 + timedelta(minutes=minute), **fields)


def start(task: str = "t-1") -> dict[str, Any]:
    return ev("session", 0, session="s1", tier="opus", model="claude-opus-4-7", source="spawn", task=task)


def flag(trigger: str, minute: float) -> dict[str, Any]:
    return ev("decision", minute, trigger=trigger, cause=f"{trigger}:{minute}", kind="flag", status="flagged")


def test_a_passing_run_clears_the_test_failure_flag() -> None:
    events = [start(), ev("test_run", 1, passed=False), ev("test_run", 2, passed=False), flag("test_failure", 3)]
    assert set(fold(events, "a").flags) == {"test_failure"}
    assert fold([*events, ev("test_run", 4, passed=False)], "a").flags  # another failure: still flagged
    state = fold([*events, ev("test_run", 5, passed=True)], "a")
    assert state.flags == {} and state.test_failures_in_a_row == 0


def test_new_activity_clears_stuck_and_a_new_task_clears_every_task_flag() -> None:
    events = [start(), flag("stuck", 30), flag("test_failure", 31), flag("bleed", 32)]
    assert set(fold(events, "a").flags) == {"stuck", "test_failure", "bleed"}
    assert set(fold([*events, ev("activity", 33, source="agent", session="s1")], "a").flags) == {
        "test_failure",
        "bleed",
    }
    moved = fold([*events, ev("route", 34, task="t-2", tier="opus", model="claude-opus-4-7")], "a")
    assert moved.flags == {} and moved.task == "t-2"
    same = fold([*events, ev("route", 34, task="t-1", tier="opus", model="claude-opus-4-7")], "a")
    assert "test_failure" in same.flags  # the same task again is not a new one


def test_flags_cleared_by_hand() -> None:
    events = [start(), flag("stuck", 30), flag("test_failure", 31)]
    assert set(fold([*events, ev("flag_cleared", 32, flags=["stuck"])], "a").flags) == {"test_failure"}
    assert fold([*events, ev("flag_cleared", 32, flags=["stuck", "test_failure"])], "a").flags == {}


def test_spend_since_progress() -> None:
    events = [
        start(),
        ev("cost", 1, session="s1", usd=2.0),
        ev("activity", 2, source="git", hook="post-commit", commit="abc"),
        ev("cost", 3, session="s1", usd=5.5),  # a session's checkpoint is its running total
        ev("cost", 4, session="s2", usd=1.0),
        ev("activity", 5, source="git", hook="post-checkout", commit="def"),  # a checkout makes nothing
    ]
    state = fold(events, "a")
    assert state.spent_usd == 6.5 and state.progress_micro_usd == 2 * MICRO
    assert state.spent_since_progress == 4.5 and state.progress_at == events[2]["ts"]
    passed = fold([*events, ev("test_run", 6, passed=True)], "a")
    assert passed.spent_since_progress == 0.0


def test_a_session_recorded_as_exited_that_shows_work_is_alive_again() -> None:
    events = [start(), ev("exit", 1, session="s1")]
    assert fold(events, "a").status == "dead"
    assert fold([*events, ev("activity", 2, source="agent", session="other")], "a").status == "dead"
    assert fold([*events, ev("activity", 2, source="agent", session="s1")], "a").status == "working"


def test_exits_stay_bounded_and_the_current_sessions_is_kept() -> None:
    events = []
    for n in range(60):
        events.append(ev("session", 2 * n, session=f"s{n}", tier="opus", model="claude-opus-4-7", source="spawn"))
        events.append(ev("exit", 2 * n + 1, session=f"s{n}"))
    state = fold(events, "a")
    assert len(state.exited) <= KEEP_EXITS + 1
    assert state.session == "s59" and "s59" in state.exited and state.status == DEAD
    assert set(state.exited) == {f"s{n}" for n in range(60 - KEEP_EXITS - 1, 60)}  # the latest ones


def test_a_copy_carries_the_agent_state_and_shares_nothing_it_changes() -> None:
    idle = ev("decision", 2, trigger="task_closed", cause="c", kind="idle", status="applied", reason="nothing ready")
    state = fold([start(), ev("cost", 1, session="s1", usd=3.0), idle, ev("exit", 3, session="s1")], "a")
    copied = copy_state(state)
    assert copied == state and copied.idle == {"reason": "nothing ready", "since": idle["ts"], "after": None}
    apply(copied, [ev("activity", 4, source="agent", session="s1"), ev("route", 5, task="t-2", tier="opus")])
    assert (copied.exited, copied.idle, copied.task) == ({}, None, "t-2")
    assert (state.exited, state.idle is not None, state.task) == ({"s1": state.exited["s1"]}, True, None)
    assert state.brief_pending == idle["id"] and state.spawned and state.spent_usd == 3.0
