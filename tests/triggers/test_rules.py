from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import WorkspaceState, fold
from cloisterctl.models.prices import price_table
from cloisterctl.tasks.records import Task, task_from_json
from cloisterctl.triggers.guards import evaluate
from cloisterctl.triggers.rules import Inputs, Proposal

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONFIG = load_config(None, environ={})
PRICES = price_table()


def ev(type_: str, minute: float, **fields: Any) -> dict[str, Any]:
    return make_event(type_, "a", T0 + timedelta(minutes=minute), **fields)


def session(
    tier: str, minute: float = 0, model: str | None = None, task: str | None = "t-1", sid: str = "s1"
) -> dict[str, Any]:
    return ev(
        "session", minute, session=sid, tier=tier, model=model or CONFIG.tier_model(tier), source="spawn", task=task
    )


def closed(task: str, minute: float, **fields: Any) -> dict[str, Any]:
    return ev("task", minute, task=task, status="closed", event="close", **fields)


def task(task_id: str, title: str = "", status: str = "open", **fields: Any) -> Task:
    return task_from_json({"id": task_id, "title": title or task_id, "status": status, **fields})


def config_with(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path, environ={})


def decide(
    events: list[dict[str, Any]],
    minute: float,
    tasks: list[Task] = (),  # type: ignore[assignment]
    alive: bool | None = True,
    config: Config = CONFIG,
) -> list[Proposal]:
    state = fold(events, "a")
    return evaluate(Inputs(state, {t.id: t for t in tasks}, config, PRICES, T0 + timedelta(minutes=minute), alive))


def recorded(events: list[dict[str, Any]], proposals: list[Proposal], minute: float) -> list[dict[str, Any]]:
    """The events after the proposals are recorded as decisions (what tick does)."""
    return events + [ev("decision", minute, **p.event_fields(), status="applied") for p in proposals]


def one(proposals: list[Proposal]) -> Proposal:
    assert len(proposals) == 1, proposals
    return proposals[0]


# ----------------------------------------------------------------------------------- stuck


@pytest.mark.parametrize(
    ("tier", "quiet_minutes", "expected"),
    [
        ("haiku", 9, None),
        ("haiku", 11, ("escalation", "sonnet")),
        ("sonnet", 11, None),  # the haiku threshold is not sonnet's
        ("sonnet", 19, None),
        ("sonnet", 21, ("escalation", "opus")),
        ("opus", 25, None),
        ("opus", 31, ("flag", None)),  # opus is flagged, never escalated
    ],
)
def test_stuck_uses_the_current_tiers_threshold(
    tier: str, quiet_minutes: float, expected: tuple[str, str | None] | None
) -> None:
    proposals = decide([session(tier)], quiet_minutes)
    if expected is None:
        assert proposals == []
    else:
        found = one(proposals)
        assert (found.trigger, found.kind, found.to_tier) == ("stuck", *expected)


def test_tier_thresholds_are_not_shadowed_by_a_longer_one(tmp_path: Path) -> None:
    # With sonnet's and opus' thresholds far longer, a quiet haiku agent still escalates at its own 10 minutes.
    config = config_with(
        tmp_path,
        "handoffs:\n  auto_triggers:\n    stuck:\n"
        "      thresholds: {haiku_to_sonnet_minutes: 10, sonnet_to_opus_minutes: 90, opus_flag_minutes: 240}\n",
    )
    assert one(decide([session("haiku")], 10.5, config=config)).to_tier == "sonnet"


def test_activity_resets_the_clock() -> None:
    events = [session("haiku"), ev("activity", 5, source="agent", session="s1")]
    assert decide(events, 14) == []
    assert one(decide(events, 16)).reason.startswith("no progress for 11.0 min on haiku")


def test_a_trigger_does_not_refire_every_cycle() -> None:
    events = [session("haiku")]
    first = decide(events, 11)
    events = recorded(events, first, 11)
    for minute in (12, 20, 60):
        assert decide(events, minute) == []
    # New quiet period after new activity: a new cause.
    events.append(ev("activity", 61, source="agent", session="s1"))
    assert decide(events, 70) == []


def test_activity_from_another_source_does_not_mask_a_dead_agent() -> None:
    events = [
        session("haiku"),
        ev("activity", 1, source="agent", session="s1"),
        ev("activity", 14, source="git", commit="abc"),
    ]
    assert decide(events, 15, alive=True) == []  # alive: the commit counts as progress
    dead = one(decide(events, 15, alive=False))  # dead: only the agent's own signals count
    assert dead.kind == "escalation" and "(its process is gone)" in dead.reason


def test_activity_of_another_session_is_not_this_agents_progress() -> None:
    events = [session("haiku"), ev("activity", 9, source="agent", session="someone-else")]
    assert one(decide(events, 11)).to_tier == "sonnet"


# ----------------------------------------------------------------------------------- test failures


def test_two_failed_runs_on_a_tier_escalate_once() -> None:
    events = [session("haiku"), ev("test_run", 1, passed=False)]
    assert decide(events, 2) == []
    events.append(ev("test_run", 2, passed=False))
    found = one(decide(events, 3))
    assert (found.trigger, found.kind, found.from_tier, found.to_tier) == (
        "test_failure",
        "escalation",
        "haiku",
        "sonnet",
    )
    events = recorded(events, [found], 3)
    events.append(ev("test_run", 4, passed=False))
    assert decide(events, 5) == []  # the streak already escalated


def test_a_pass_or_a_tier_change_restarts_the_count() -> None:
    events = [
        session("haiku"),
        ev("test_run", 1, passed=False),
        ev("test_run", 2, passed=True),
        ev("test_run", 3, passed=False),
    ]
    assert decide(events, 4) == []
    events = [
        session("haiku"),
        ev("test_run", 1, passed=False),
        session("sonnet", 2, sid="s2"),
        ev("test_run", 3, passed=False),
    ]
    assert decide(events, 4) == []


def test_failures_on_opus_are_flagged() -> None:
    events = [session("opus"), ev("test_run", 1, passed=False), ev("test_run", 2, passed=False)]
    found = one(decide(events, 3))
    assert found.kind == "flag" and "top tier" in found.reason


# ----------------------------------------------------------------------------------- planning / implementation


PLAN = task("t-plan", "Plan: auth redesign", status="closed", labels=["planning"])
# The work the plan unblocks: with nothing ready after a closed task, the agent goes idle instead.
BUILD = task("t-build", "Build the auth service", dependencies=[{"depends_on_id": "t-plan", "type": "blocks"}])


@pytest.mark.parametrize(
    "from_model", ["opus", "claude-opus-4-7", "claude-opus-4-5-20251101", "us.anthropic.claude-opus-4-1-20250805-v1:0"]
)
def test_planning_complete_compares_tiers_not_model_ids(tmp_path: Path, from_model: str) -> None:
    config = config_with(
        tmp_path,
        f"handoffs:\n  auto_triggers:\n    planning_complete: {{enabled: true, from_model: '{from_model}', to_model: sonnet}}\n",
    )
    events = [
        session("opus", model="claude-opus-4-5-20251101", task="t-plan"),
        closed("t-plan", 5, title="Plan: auth redesign", labels=["planning"]),
    ]
    found = one(decide(events, 6, tasks=[PLAN, BUILD], config=config))
    assert (found.trigger, found.kind, found.from_tier, found.to_tier) == (
        "planning_complete",
        "downgrade",
        "opus",
        "sonnet",
    )
    assert found.economics is not None and found.economics["handoff_pays"] and not found.skipped
    assert found.next_task == "t-build"  # the new session gets the work the plan unblocked


def test_planning_complete_only_from_its_tier_and_only_once() -> None:
    events = [session("sonnet", task="t-plan"), closed("t-plan", 5)]
    assert [p.trigger for p in decide(events, 6, tasks=[PLAN, BUILD])] != ["planning_complete"]
    events = [session("opus", task="t-plan"), closed("t-plan", 5)]
    found = decide(events, 6, tasks=[PLAN, BUILD])
    assert [p.trigger for p in found] == ["planning_complete"]  # not also task_completed for the same task
    assert decide(recorded(events, found, 6), 7, tasks=[PLAN, BUILD]) == []


def test_a_plan_task_is_recognised_by_its_title_word() -> None:
    plan = task("t-2", "Write the plan for billing", status="closed")
    events = [session("opus", task="t-2"), closed("t-2", 1)]
    assert one(decide(events, 2, tasks=[plan, BUILD])).trigger == "planning_complete"


def test_implementation_complete_waits_for_all_implement_work() -> None:
    one_done = task("i-1", "Implement parser", status="closed")
    still_open = task("i-2", "Implement printer")
    events = [session("sonnet", task="i-1"), closed("i-1", 1)]
    moved_on = one(decide(events, 2, tasks=[one_done, still_open]))
    assert (moved_on.trigger, moved_on.kind, moved_on.next_task) == ("task_completed", "continue", "i-2")
    both = [one_done, task("i-2", "Implement printer", status="closed"), task("q-1", "Check the printer output")]
    events = recorded(events, [moved_on], 2) + [closed("i-2", 3)]
    found = one(decide(events, 4, tasks=both))
    assert (found.trigger, found.to_role, found.to_tier) == ("implementation_complete", "test-agent", "haiku")
    assert found.next_task == "q-1"


# ----------------------------------------------------------------------------------- task completed


def test_task_completed_moves_on_within_the_same_tier() -> None:
    tasks = [
        task("t-1", "Add CSV export", status="closed", issue_type="feature"),
        task("t-2", "Implement CSV import", issue_type="feature"),
    ]
    events = [session("sonnet", task="t-1"), closed("t-1", 3)]
    found = one(decide(events, 4, tasks=tasks))
    assert (found.kind, found.next_task, found.to_tier) == ("continue", "t-2", "sonnet")
    state = fold(recorded(events, [found], 4), "a")
    assert state.task == "t-2" and state.tier == "sonnet"


def test_task_completed_downgrades_only_when_it_pays(tmp_path: Path) -> None:
    tasks = [
        task("t-1", "Add CSV export", status="closed", issue_type="feature"),
        task("t-2", "Fix typo in README", issue_type="chore", labels=["docs"]),
    ]
    events = [
        session("sonnet", task="t-1"),
        ev("cost", 1, session="s1", usd=1.0, context_tokens=120_000),
        closed("t-1", 3),
    ]
    pays = one(decide(events, 4, tasks=tasks))
    assert (pays.kind, pays.to_tier, pays.skipped) == ("downgrade", "haiku", False)
    assert pays.economics is not None and pays.economics["context_tokens"] == 120_000
    short = config_with(tmp_path, "cost:\n  remaining_turns: 1\n")
    events[1] = ev("cost", 1, session="s1", usd=1.0, context_tokens=5_000)
    skipped = one(decide(events, 4, tasks=tasks, config=short))
    assert skipped.skipped and not skipped.changes_tier
    assert skipped.reasons[-1].startswith("stay on claude-sonnet-4-6")


def test_task_completed_ignores_other_agents_tasks() -> None:
    tasks = [task("t-1", "Add export"), task("t-9", "Someone else's", status="closed")]
    events = [session("sonnet", task="t-1"), closed("t-9", 3)]
    assert decide(events, 4, tasks=tasks) == []


# ----------------------------------------------------------------------------------- guards


def test_nothing_while_a_handoff_is_in_flight() -> None:
    events = [
        session("haiku"),
        ev("handoff", 1, handoff="h1", step="requested", status="done", from_tier="haiku", to_tier="sonnet"),
    ]
    assert decide(events, 30) == []


def test_cooldown_defers_tier_changes_but_not_flags() -> None:
    events = [
        session("haiku"),
        session("sonnet", 5, sid="s2"),
        ev("test_run", 6, passed=False),
        ev("test_run", 7, passed=False),
    ]
    assert decide(events, 8) == []  # within 10 minutes of the last tier change
    assert one(decide(events, 16)).to_tier == "opus"


def test_max_escalations_per_task_turns_an_escalation_into_a_flag(tmp_path: Path) -> None:
    config = config_with(tmp_path, "handoffs:\n  guards: {max_escalations: 1, cooldown_minutes: 0}\n")
    events = [
        session("haiku"),
        ev("decision", 1, trigger="stuck", cause="stuck:x", kind="escalation", task="t-1", status="applied"),
        session("sonnet", 2, sid="s2"),
    ]
    found = one(decide(events, 30, config=config))
    assert found.kind == "flag" and "1 escalations already for this task" in found.reason


@pytest.mark.parametrize(
    ("setting", "tier", "needs"),
    [
        ("false", "haiku", False),
        ("true", "haiku", True),
        ("[escalate_to_opus]", "haiku", False),
        ("[escalate_to_opus]", "sonnet", True),
        ("[downgrade]", "haiku", False),
    ],
)
def test_require_approval(tmp_path: Path, setting: str, tier: str, needs: bool) -> None:
    config = config_with(tmp_path, f"handoffs:\n  guards:\n    require_approval: {setting}\n")
    assert one(decide([session(tier)], 60, config=config)).needs_approval is needs


def test_pending_approval_blocks_new_decisions() -> None:
    events = [
        session("haiku"),
        ev("decision", 11, trigger="stuck", cause="stuck:a", kind="escalation", status="proposed", to_tier="sonnet"),
    ]
    assert decide(events, 40) == []


def test_one_tier_change_at_a_time() -> None:
    events = [session("haiku"), ev("test_run", 1, passed=False), ev("test_run", 2, passed=False)]
    found = decide(events, 30)  # stuck and failing: one escalation, the test failures'
    assert [(p.trigger, p.to_tier) for p in found] == [("test_failure", "sonnet")]


def test_without_a_session_nothing_is_stuck() -> None:
    state = fold([ev("route", 0, task="t-1", tier="haiku", model="claude-haiku-4-5-20251001", rule="x")], "a")
    assert isinstance(state, WorkspaceState)
    assert evaluate(Inputs(state, {}, CONFIG, PRICES, T0 + timedelta(hours=5))) == []


# ----------------------------------------------------------------------------------- cost bleed


def test_spend_without_progress_is_flagged_once(tmp_path: Path) -> None:
    events = [session("sonnet"), ev("cost", 1, session="s1", usd=4.0)]
    assert decide(events, 2) == []  # under the default $5
    events.append(ev("cost", 3, session="s1", usd=7.5))
    found = one(decide(events, 4))
    assert (found.trigger, found.kind) == ("bleed", "flag")
    assert found.reason.startswith("$7.50 spent since ") and "(guards.bleed_usd $5)" in found.reason
    events = recorded(events, [found], 4)
    state = fold(events, "a")
    assert "bleed" in state.flags and state.status == "working"
    events.append(ev("cost", 5, session="s1", usd=9.0))
    assert decide(events, 6) == []  # one flag per stretch without progress
    events.append(ev("activity", 7, source="git", hook="post-commit", commit="abc"))
    assert "bleed" not in fold(events, "a").flags  # a commit is progress
    events.append(ev("cost", 8, session="s1", usd=13.0))
    assert decide(events, 9) == []  # $4 since the commit
    events.append(ev("cost", 10, session="s1", usd=14.5))
    assert one(decide(events, 11)).cause != found.cause  # a new stretch


def test_bleed_can_stop_the_agent_or_be_off(tmp_path: Path) -> None:
    events = [session("sonnet"), ev("cost", 5, session="s1", usd=2.0)]
    stop = config_with(tmp_path, "handoffs:\n  guards: {bleed_usd: 1, bleed_action: stop, require_approval: true}\n")
    found = one(decide(events, 6, config=stop))
    assert (found.kind, found.needs_approval) == ("stop", False)  # a stop never waits for approval
    state = fold(recorded(events, [found], 6), "a")
    assert "bleed" in state.flags and state.brief_pending is not None  # the tick stops it
    off = config_with(tmp_path, "handoffs:\n  guards: {bleed_usd: 0}\n")
    assert decide(events + [ev("cost", 6, session="s1", usd=500.0)], 7, config=off) == []
