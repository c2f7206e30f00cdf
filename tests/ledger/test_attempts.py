from __future__ import annotations

from typing import Any

from cloisterctl.ledger.attempts import ATTEMPTS, COST, ESCALATIONS, FAILURES, SUCCESSES, after_key
from cloisterctl.ledger.fold import copy_state, fold
from cloisterctl.routing.outcome_report import by_task, derive
from testing.helpers import minute_event


def route(minute: int, task: str, tier: str, level: str) -> dict[str, Any]:
    return minute_event(
        "route", minute, task=task, tier=tier, model=f"claude-{tier}", rule="r", complexity={"level": level}
    )


def cost(minute: int, task: str, usd: float, session: str = "s1") -> dict[str, Any]:
    return minute_event("cost", minute, session=session, usd=usd, by_task={task: usd})


def test_closed_escalated_reopened_and_verified_attempts_are_counted_per_level_and_tier() -> None:
    events = [
        route(0, "t1", "haiku", "simple"),
        minute_event("session", 1, session="s1", task="t1", tier="haiku", model="claude-haiku", source="spawn"),
        cost(2, "t1", 0.25),
        minute_event("task", 3, task="t1", status="closed"),
        route(4, "t2", "haiku", "simple"),
        minute_event(
            "decision",
            5,
            trigger="stuck",
            cause="stuck:x",
            kind="escalation",
            status="applied",
            task="t2",
            from_tier="haiku",
            to_tier="sonnet",
        ),
        minute_event(
            "handoff", 6, handoff="h1", step="spawned", status="done", task="t2", session="s2", to_tier="sonnet"
        ),
        minute_event("task", 7, task="t2", status="closed"),
        minute_event("task", 8, task="t1", status="open"),  # t1 reopened: its haiku close did not hold
        route(9, "t3", "sonnet", "simple"),
        minute_event("task", 10, task="t3", status="closed"),
        minute_event("verification", 11, task="t3", result="fail"),
        route(12, "t4", "sonnet", "medium"),
    ]
    state = fold(events, "a")
    counts = state.outcomes.counts
    haiku, sonnet = counts["simple/haiku"], counts["simple/sonnet"]
    assert (haiku[ATTEMPTS], haiku[SUCCESSES], haiku[FAILURES], haiku[ESCALATIONS]) == (2, 0, 2, 1)
    assert haiku[COST] == 250_000
    assert (sonnet[ATTEMPTS], sonnet[SUCCESSES], sonnet[FAILURES]) == (2, 1, 1)
    attempts, _ = derive(events, "a")
    endings = [(a["task"], a["tier"], a["ending"], a["success"]) for a in attempts]
    assert endings == [
        ("t1", "haiku", "reopened", False),
        ("t2", "haiku", "escalated", False),
        ("t2", "sonnet", "closed", True),
        ("t3", "sonnet", "closed", False),
        ("t4", "sonnet", "open", False),
    ]
    assert attempts[0]["sessions"] == ["s1"] and attempts[0]["cost_usd"] == 0.25
    assert attempts[1]["trigger"] == "stuck"
    assert [t["tiers"] for t in by_task(attempts)][1] == ["haiku", "sonnet"]
    # The sonnet attempt that followed t2's escalation is counted again as one after a failure
    # below (what routing.adaptive learns p(sonnet | haiku failed) from); t3's sonnet start is not.
    assert counts[after_key("simple", "sonnet")][:3] == [1, 1, 0]
    assert after_key("simple", "haiku") not in counts


def test_a_reopen_event_after_a_close_counts_once_and_copies_do_not_share_the_book() -> None:
    events = [route(0, "t1", "haiku", "trivial"), minute_event("task", 1, task="t1", status="closed")]
    state = fold(events, "a")
    assert state.outcomes.counts["trivial/haiku"][SUCCESSES] == 1
    copy = copy_state(state)
    later = [minute_event("reopen", 2, task="t1", status="open"), minute_event("task", 3, task="t1", status="open")]
    from cloisterctl.ledger.fold import apply

    apply(copy, later)
    assert copy.outcomes.counts["trivial/haiku"][SUCCESSES] == 0
    assert copy.outcomes.counts["trivial/haiku"][FAILURES] == 1
    assert state.outcomes.counts["trivial/haiku"][SUCCESSES] == 1  # the original is untouched


def test_moving_to_another_task_without_a_close_abandons_and_a_stopped_session_shows_abandoned() -> None:
    events = [
        route(0, "t1", "sonnet", "medium"),
        route(1, "t2", "sonnet", "medium"),
        minute_event("session", 2, session="s9", task="t2", tier="sonnet", source="spawn"),
        minute_event("session", 3, session="s9", event="end"),
    ]
    attempts, state = derive(events, "a")
    assert [a["ending"] for a in attempts] == ["abandoned", "abandoned"]
    assert state.outcomes.counts["medium/sonnet"][ATTEMPTS] == 1  # the running one is not ended in the fold
