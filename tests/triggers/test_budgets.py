"""triggers.budgets: levels, the warnings recorded as they change, and the flag or stop at a limit,
through the real guards and fold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import WorkspaceState, apply, fold
from cloisterctl.ledger.projection import front_matter
from cloisterctl.triggers.budgets import level_of, statuses, warning_events
from cloisterctl.triggers.decisions import decision_events
from cloisterctl.triggers.guards import evaluate
from cloisterctl.triggers.rules import Inputs
from testing.helpers import at

NOW = at("2026-11-03T15:00:00Z")


# The other rules that spending or quiet would set off, turned off: these tests watch budgets alone.
QUIET = "handoffs:\n  guards: {bleed_usd: 0}\n  auto_triggers: {stuck: {enabled: false}}\n"


def config_with(tmp_path: Any, text: str) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(QUIET + text)
    return load_config(path)


def spent(state: WorkspaceState, ts: str, session: str, by_day: dict[str, float], task: str | None = "t1") -> None:
    usd = round(sum(by_day.values()), 6)
    by_task = {task: usd} if task else {}
    apply(state, [make_event("cost", state.agent, at(ts), session=session, usd=usd, by_day=by_day, by_task=by_task)])


def working_state() -> WorkspaceState:
    events = [
        make_event("route", "a", at("2026-11-03T08:00:00Z"), task="t1", tier="sonnet", model="claude-sonnet-4-6"),
        make_event("session", "a", at("2026-11-03T08:01:00Z"), session="s1", source="spawn", tier="sonnet"),
    ]
    return fold(events, "a")


def decide(state: WorkspaceState, config: Config, now: datetime = NOW) -> list[dict[str, Any]]:
    """What a tick decides and records about budgets, folded into ``state``."""
    proposals = evaluate(Inputs(state, {}, config, config.prices, now))
    made = decision_events(state, now, proposals)
    apply(state, made)
    warnings = warning_events(state, config.budgets, now)
    apply(state, warnings)
    return [*made, *warnings]


def test_levels() -> None:
    assert [level_of(spent, 10, 0.8) for spent in (0, 7.99, 8, 9.99, 10, 12)] == [
        "ok",
        "ok",
        "warn",
        "warn",
        "over",
        "over",
    ]


def test_budgets_are_off_by_default(tmp_path: Any) -> None:
    assert not load_config(None).budgets.any
    config = config_with(tmp_path, "")
    assert config.budgets.limits == {"agent": None, "task": None, "day": None} and not config.budgets.any
    assert (config.budgets.warn_at, config.budgets.action) == (0.8, "flag")
    state = working_state()
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 1e5})
    assert statuses(state, config.budgets, NOW) == [] and decide(state, config) == []
    zero = config_with(tmp_path, "budgets: {day_usd: 0}\n")
    assert zero.budgets.limits["day"] is None


def test_each_budget_measures_its_own_spending(tmp_path: Any) -> None:
    config = config_with(tmp_path, "budgets: {agent_usd: 100, task_usd: 10, day_usd: 5}\n")
    state = working_state()
    spent(state, "2026-11-02T09:00:00Z", "s0", {"2026-11-02": 30.0}, task="t0")  # yesterday, another task
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 4.5})
    found = {status.scope: status for status in statuses(state, config.budgets, NOW)}
    assert (found["agent"].key, found["agent"].spent_usd, found["agent"].level) == ("a", 34.5, "ok")
    assert (found["task"].key, found["task"].spent_usd, found["task"].level) == ("t1", 4.5, "ok")
    assert (found["day"].key, found["day"].spent_usd, found["day"].level) == ("2026-11-03", 4.5, "warn")
    assert found["day"].describe() == "the agent spent on 2026-11-03 (UTC) $4.50 of budgets.day_usd $5 (90%)"
    assert found["day"].as_dict()["share"] == 0.9


def test_a_warning_then_a_flag_once_then_a_new_day_clears_both(tmp_path: Any) -> None:
    config = config_with(tmp_path, "budgets: {day_usd: 5, warn_at: 0.5}\n")
    state = working_state()
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 2.0})
    assert decide(state, config) == []
    spent(state, "2026-11-03T10:00:00Z", "s1", {"2026-11-03": 3.0})
    [warning] = decide(state, config)
    assert (warning["type"], warning["scope"], warning["level"], warning["key"]) == (
        "budget",
        "day",
        "warn",
        "2026-11-03",
    )
    assert (warning["spent_usd"], warning["limit_usd"], warning["warn_at"]) == (3.0, 5.0, 0.5)
    assert decide(state, config) == []  # recorded once
    assert front_matter(state)["budgets"] == {
        "day": {"level": "warn", "day": "2026-11-03", "spent_usd": 3.0, "limit_usd": 5.0, "since": warning["ts"]}
    }
    spent(state, "2026-11-03T11:00:00Z", "s1", {"2026-11-03": 5.5})
    decision, over = decide(state, config)
    assert (decision["trigger"], decision["kind"], decision["status"]) == ("budget_day", "flag", "flagged")
    assert decision["cause"] == "budget_day:2026-11-03:5"
    assert (
        "the agent spent on 2026-11-03 (UTC) $5.50 of budgets.day_usd $5 (110%): the limit is reached"
        == decision["reason"]
    )
    assert over["level"] == "over" and "budget_day" in state.flags
    spent(state, "2026-11-03T12:00:00Z", "s1", {"2026-11-03": 7.0})
    assert decide(state, config) == []  # once per day and limit
    [ok] = decide(state, config, at("2026-11-04T00:05:00Z"))  # a new UTC day: nothing spent on it yet
    assert (ok["level"], ok["key"]) == ("ok", "2026-11-04")
    assert "budget_day" not in state.flags and "budgets" not in front_matter(state)


def test_cleared_by_hand_a_flag_stays_cleared_until_another_limit_is_reached(tmp_path: Any) -> None:
    config = config_with(tmp_path, "budgets: {agent_usd: 10}\n")
    state = working_state()
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 11.0})
    assert [e["type"] for e in decide(state, config)] == ["decision", "budget"]
    apply(state, [make_event("flag_cleared", "a", at("2026-11-03T14:00:00Z"), flags=["budget_agent"])])
    spent(state, "2026-11-03T14:10:00Z", "s1", {"2026-11-03": 12.0})
    assert decide(state, config) == [] and "budget_agent" not in state.flags
    raised = config_with(tmp_path, "budgets: {agent_usd: 15}\n")
    [lower] = decide(state, raised)
    assert (lower["level"], lower["limit_usd"]) == ("warn", 15.0)
    spent(state, "2026-11-03T14:20:00Z", "s1", {"2026-11-03": 15.0})
    decision, over = decide(state, raised)
    assert decision["cause"] == "budget_agent:a:15" and over["level"] == "over" and "budget_agent" in state.flags


def test_a_new_task_starts_its_own_budget(tmp_path: Any) -> None:
    config = config_with(tmp_path, "budgets: {task_usd: 2}\n")
    state = working_state()
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 2.5})
    assert [e.get("trigger") or e["level"] for e in decide(state, config)] == ["budget_task", "over"]
    apply(state, [make_event("route", "a", at("2026-11-03T14:30:00Z"), task="t2", tier="sonnet")])
    [ok] = decide(state, config)
    assert (ok["scope"], ok["level"], ok["key"], ok["spent_usd"]) == ("task", "ok", "t2", 0.0)
    assert "budget_task" not in state.flags
    apply(state, [make_event("route", "a", at("2026-11-03T14:40:00Z"), task=None, tier="sonnet")])
    idle_state = fold([make_event("route", "a", at("2026-11-03T08:00:00Z"), tier="sonnet")], "a")
    assert statuses(idle_state, config.budgets, NOW) == []  # no task: no task budget


@pytest.mark.parametrize(("running", "kind"), [(True, "stop"), (False, "flag")])
def test_with_action_stop_a_running_agent_is_stopped(tmp_path: Any, running: bool, kind: str) -> None:
    config = config_with(tmp_path, "budgets: {day_usd: 1, action: stop}\n")
    state = (
        working_state() if running else fold([make_event("route", "a", at("2026-11-03T08:00:00Z"), tier="sonnet")], "a")
    )
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 1.0})
    decision = decide(state, config)[0]
    assert (decision["trigger"], decision["kind"]) == ("budget_day", kind)
    if running:
        assert state.brief_pending == decision["id"]  # the tick stops it (handoff.followups), once


def test_no_budget_decision_while_a_handoff_is_in_flight_but_the_warning_is_recorded(tmp_path: Any) -> None:
    config = config_with(tmp_path, "budgets: {day_usd: 1}\n")
    state = working_state()
    apply(
        state,
        [
            make_event(
                "handoff",
                "a",
                at("2026-11-03T08:30:00Z"),
                handoff="h1",
                step="requested",
                from_tier="sonnet",
                to_tier="opus",
            )
        ],
    )
    spent(state, "2026-11-03T09:00:00Z", "s1", {"2026-11-03": 3.0})
    [warning] = decide(state, config)
    assert warning["type"] == "budget" and warning["level"] == "over" and "budget_day" not in state.flags
