"""ledger.spending: the totals budgets read, folded from cost checkpoints: exact, in any arrival of
replacements, within a bounded window of days, and the budget reducer."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import WorkspaceState, copy_state, fold
from cloisterctl.ledger.schema import problem
from cloisterctl.ledger.state import KEEP_DAYS, KEEP_SESSION_SPENDING, MICRO
from testing.helpers import at


def checkpoint(
    ts: str, session: str, agent: str, by_day: dict[str, float], by_task: dict[str, float] | None = None, **extra: Any
) -> dict[str, Any]:
    usd = round(sum(by_day.values()), 6)
    tokens = extra.pop("tokens", {"input": 10, "output": 0, "cache_write": 10, "cache_read": 80})
    event = make_event(
        "cost", agent, at(ts), session=session, usd=usd, by_day=by_day, by_task=by_task or {}, tokens=tokens, **extra
    )
    assert problem(event) is None
    return event


def micro(usd: float) -> int:
    return round(usd * MICRO)


def test_totals_per_agent_task_and_day_follow_the_latest_checkpoint_of_each_session() -> None:
    events = [
        checkpoint("2026-11-01T10:00:00Z", "s1", "a", {"2026-11-01": 1.0}, {"t1": 1.0}),
        checkpoint("2026-11-01T11:00:00Z", "s2", "b", {"2026-11-01": 0.5}, {"t1": 0.25, "t2": 0.25}),
        # s1 again, the next day: its whole cost so far replaces what it said before
        checkpoint("2026-11-02T09:00:00Z", "s1", "a", {"2026-11-01": 1.5, "2026-11-02": 2.0}, {"t1": 1.5, "t3": 2.0}),
        make_event("cost", "a", at("2026-11-02T09:30:00Z"), scope="usage:a", usd=0.75, by_day={"2026-11-02": 0.75}),
    ]
    spending = fold(events, "a").spending
    assert spending.by_agent == {"a": micro(4.25), "b": micro(0.5)}
    assert spending.by_task == {"t1": micro(1.75), "t2": micro(0.25), "t3": micro(2.0)}
    assert spending.by_day == {
        "a": {"2026-11-01": micro(1.5), "2026-11-02": micro(2.75)},
        "b": {"2026-11-01": micro(0.5)},
    }
    assert spending.latest_day == "2026-11-02"
    assert spending.sessions == {"s2": [micro(0.5), 80, 100], "s1": [micro(3.5), 80, 100]}


def test_a_checkpoint_that_moves_a_session_to_another_agent_moves_its_spending() -> None:
    events = [
        checkpoint("2026-11-01T10:00:00Z", "s1", "a", {"2026-11-01": 1.0}, {"t1": 1.0}),
        checkpoint("2026-11-01T10:05:00Z", "s1", "b", {"2026-11-01": 1.0}, {"t1": 1.0}),
    ]
    spending = fold(events, "a").spending
    assert spending.by_agent == {"b": micro(1.0)} and spending.by_day == {"b": {"2026-11-01": micro(1.0)}}
    assert spending.by_task == {"t1": micro(1.0)}


def test_days_are_kept_for_a_window_and_every_day_in_it_is_whole() -> None:
    """Sessions over 120 days, each checkpointed several times: only the last KEEP_DAYS days are
    kept, and each holds exactly what the sessions' latest checkpoints say for it."""
    rng = random.Random(3)
    start = date(2026, 6, 1)
    latest: dict[str, dict[str, float]] = {}
    events = []
    for number in range(300):
        first = start + timedelta(days=number * 120 // 300)
        session = f"s{number % 40}"  # sessions come back: later checkpoints replace earlier ones
        days = {
            (first + timedelta(days=k)).isoformat(): round(rng.uniform(0.01, 3), 6) for k in range(rng.randrange(1, 3))
        }
        merged = {**latest.get(session, {}), **days}
        latest[session] = merged
        ts = f"{max(merged)}T23:00:{number % 60:02d}Z"
        events.append(checkpoint(ts, session, "a", merged))
    spending = fold(events, "a").spending
    last = max(day for days in latest.values() for day in days)
    window = {(date.fromisoformat(last) - timedelta(days=k)).isoformat() for k in range(KEEP_DAYS)}
    expected: dict[str, int] = {}
    for days in latest.values():
        for day, usd in days.items():
            if day in window:
                expected[day] = expected.get(day, 0) + micro(usd)
    assert spending.latest_day == last
    assert spending.by_day["a"] == {day: amount for day, amount in expected.items() if amount}
    assert len(spending.by_day["a"]) <= KEEP_DAYS
    assert spending.by_agent["a"] == sum(micro(round(sum(days.values()), 6)) for days in latest.values())
    assert len(spending.sessions) <= KEEP_SESSION_SPENDING


def test_a_day_far_past_its_checkpoint_does_not_move_the_window() -> None:
    events = [
        checkpoint("2026-11-01T10:00:00Z", "s1", "a", {"2026-11-01": 1.0}),
        checkpoint("2026-11-01T11:00:00Z", "s2", "a", {"9999-01-01": 5.0, "2026-11-02": 0.5}),
    ]
    spending = fold(events, "a").spending
    assert spending.latest_day == "2026-11-02"  # the checkpoint's own day plus one is the most it counts
    assert spending.by_day == {"a": {"2026-11-01": micro(1.0), "2026-11-02": micro(0.5)}}
    assert spending.by_agent == {"a": micro(6.5)}  # the agent's total is the checkpoints' own


def test_a_copy_of_the_state_shares_nothing_the_fold_changes() -> None:
    state = fold([checkpoint("2026-11-01T10:00:00Z", "s1", "a", {"2026-11-01": 1.0}, {"t": 1.0})], "a")
    copy = copy_state(state)
    from cloisterctl.ledger.fold import apply

    apply(copy, [checkpoint("2026-11-01T11:00:00Z", "s1", "a", {"2026-11-01": 2.0}, {"t": 2.0})])
    assert state.spending.by_day == {"a": {"2026-11-01": micro(1.0)}} and state.spending.by_task == {"t": micro(1.0)}
    assert copy.spending.by_day == {"a": {"2026-11-01": micro(2.0)}}
    assert state.spending.sessions["s1"][0] == micro(1.0)


def budget_event(ts: str, scope: str, level: str, key: str, spent: float = 1.0) -> dict[str, Any]:
    event = make_event("budget", "a", at(ts), scope=scope, level=level, key=key, spent_usd=spent, limit_usd=2.0)
    assert problem(event) is None
    return event


def test_budget_events_record_warnings_and_below_the_limit_clear_its_flag() -> None:
    state = WorkspaceState(agent="a")
    flagged = make_event(
        "decision",
        "a",
        at("2026-11-01T10:01:00Z"),
        trigger="budget_day",
        cause="budget_day:x",
        kind="flag",
        status="flagged",
        reason="r",
    )
    from cloisterctl.ledger.fold import apply

    apply(state, [budget_event("2026-11-01T10:00:00Z", "day", "warn", "2026-11-01", 1.7)])
    assert state.budgets["day"] == {
        "level": "warn",
        "key": "2026-11-01",
        "spent_usd": 1.7,
        "limit_usd": 2.0,
        "since": "2026-11-01T10:00:00.000000Z",
    }
    apply(state, [flagged, budget_event("2026-11-01T10:02:00Z", "day", "over", "2026-11-01", 2.1)])
    assert state.budgets["day"]["level"] == "over" and "budget_day" in state.flags
    apply(state, [budget_event("2026-11-02T00:01:00Z", "day", "ok", "2026-11-02", 0.0)])
    assert "day" not in state.budgets and "budget_day" not in state.flags


def test_budget_and_cost_events_are_checked_by_the_schema() -> None:
    bad = [
        make_event("budget", "a", at("2026-11-01T10:00:00Z"), scope="week", level="warn", spent_usd=1.0),
        make_event("budget", "a", at("2026-11-01T10:00:00Z"), scope="day", level="loud", spent_usd=1.0),
        make_event("budget", "a", at("2026-11-01T10:00:00Z"), scope="day", level="warn", spent_usd=-1.0),
        make_event("cost", "a", at("2026-11-01T10:00:00Z"), session="s", usd=1.0, by_day={"2026-13-01": 1.0}),
        make_event("cost", "a", at("2026-11-01T10:00:00Z"), session="s", usd=1.0, by_day={"2026-11-01": "1"}),
        make_event("cost", "a", at("2026-11-01T10:00:00Z"), session="s", usd=1.0, by_task={"t": -1.0}),
    ]
    assert all(problem(event) is not None for event in bad)
