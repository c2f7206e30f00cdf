from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cloisterctl.config.load import load_config
from cloisterctl.handoff.packet import HandoffInfo, build
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import IDLE, fold
from cloisterctl.models.prices import price_table
from cloisterctl.routing.succession import next_ready
from cloisterctl.tasks.records import Task, task_from_json
from cloisterctl.triggers.guards import evaluate
from cloisterctl.triggers.rules import Inputs, Proposal

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONFIG = load_config(None, environ={})


def ev(type_: str, minute: float, **fields: Any) -> dict[str, Any]:
    return make_event(type_, "a", T0 + timedelta(minutes=minute), **fields)


def task(task_id: str, title: str = "", status: str = "open", **fields: Any) -> Task:
    return task_from_json({"id": task_id, "title": title or task_id, "status": status, **fields})


def blocks(blocker: str) -> list[dict[str, str]]:
    return [{"depends_on_id": blocker, "type": "blocks"}]


def start(tier: str, task_id: str) -> dict[str, Any]:
    return ev("session", 0, session="s1", tier=tier, model=CONFIG.tier_model(tier), source="spawn", task=task_id)


def decide(events: list[dict[str, Any]], tasks: list[Task], minute: float = 10) -> list[Proposal]:
    state = fold(events, "a")
    return evaluate(Inputs(state, {t.id: t for t in tasks}, CONFIG, price_table(), T0 + timedelta(minutes=minute)))


def test_the_next_task_is_of_the_same_tree_or_one_the_closed_task_was_blocking() -> None:
    tasks = {
        t.id: t
        for t in [
            task("a-0", "Epic"),
            task("a-1", "Plan", status="closed", parent="a-0"),
            task("z-1", "Unrelated, urgent", priority=0),
            task("a-2", "Sibling of the plan", priority=3, parent="a-0"),
            task("b-1", "What the plan unblocks", priority=3, dependencies=blocks("a-1")),
        ]
    }

    def picked() -> str | None:
        found = next_ready(tasks, "a-1")
        return None if found is None else found.id

    assert picked() == "a-2"  # a sibling in the plan's tree before more urgent work elsewhere
    del tasks["a-0"]  # an epic the export does not hold: its children are still one tree
    assert picked() == "a-2"
    del tasks["a-2"]
    assert picked() == "b-1"  # then what the plan was blocking
    del tasks["b-1"]
    assert picked() == "z-1"
    del tasks["z-1"]
    assert picked() is None


def test_a_close_the_export_does_not_show_yet_still_unblocks_its_successor() -> None:
    tasks = {t.id: t for t in [task("p-1", "Plan"), task("p-2", "Build", dependencies=blocks("p-1"))]}
    found = next_ready(tasks, "p-1")
    assert found is not None and found.id == "p-2"


def test_a_closed_plan_with_nothing_ready_leaves_the_agent_idle_not_handed_off() -> None:
    plan = task("t-plan", "Plan: billing", status="closed", labels=["planning"])
    events = [start("opus", "t-plan"), ev("task", 5, task="t-plan", status="closed")]
    [idle] = decide(events, [plan])
    assert (idle.trigger, idle.kind, idle.to_tier, idle.from_tier) == ("planning_complete", "idle", None, "opus")
    assert idle.reason == "plan task t-plan closed at " + events[1]["ts"] + "; no task is ready"
    state = fold([*events, ev("decision", 6, **idle.event_fields(), status="applied")], "a")
    assert state.status == IDLE and state.task is None and state.idle is not None
    assert state.brief_pending is not None  # the agent is still to be told
    # An idle agent is quiet on purpose: not stuck, however long it waits.
    assert evaluate(Inputs(state, {plan.id: plan}, CONFIG, price_table(), T0 + timedelta(hours=5))) == []


def test_a_downgrade_that_does_not_pay_still_moves_the_agent_to_its_next_task(tmp_path: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("cost:\n  remaining_turns: 1\n")
    config = load_config(path, environ={})
    tasks = [
        task("t-1", "Add CSV export", status="closed", issue_type="feature"),
        task("t-2", "Fix typo in README", issue_type="chore", labels=["docs"]),
    ]
    events = [
        start("sonnet", "t-1"),
        ev("cost", 1, session="s1", usd=1.0, context_tokens=5_000),
        ev("task", 3, task="t-1", status="closed"),
    ]
    state = fold(events, "a")
    [skipped] = evaluate(Inputs(state, {t.id: t for t in tasks}, config, price_table(), T0 + timedelta(minutes=4)))
    assert skipped.skipped and skipped.next_task == "t-2"
    after = fold([*events, ev("decision", 4, **skipped.event_fields(), status="skipped")], "a")
    assert (after.task, after.tier, after.brief_pending) == ("t-2", "sonnet", after.brief_pending)
    assert after.brief_pending is not None and after.complexity is not None
    assert after.complexity["level"] == "trivial"  # the next task's, not the closed one's


def test_packets_say_start_continue_or_move_on() -> None:
    def info(**fields: Any) -> HandoffInfo:
        base = dict(
            handoff_id="h",
            agent="a",
            workspace="/w",
            trigger="spawn",
            reason="started by `cloisterctl spawn`",
            from_model=None,
            from_tier=None,
            to_model="claude-opus-4-7",
            to_tier="opus",
            to_role=None,
            handoff_count=0,
            created_at="2026-11-22T09:00:00.000000Z",
        )
        return HandoffInfo(**{**base, **fields})  # type: ignore[arg-type]

    def prompt(handoff_info: HandoffInfo, task_id: str) -> str:
        tasks = {task_id: task(task_id, "Build it")}
        packet = build(
            handoff_info,
            task_id=task_id,
            tasks=tasks,
            classification=None,
            sections={"next_steps": ["- finish the parser"]},
            git={},
            cost=None,
            protected=None,
            budget_tokens=8000,
        )
        return packet.prompt

    started = prompt(info(mode="start"), "t-1")
    assert started.startswith("# Starting work: t-1\n\nYou start t-1 on claude-opus-4-7 (opus tier).")
    assert "previous session" not in started and "?" not in started.split("## Task")[0]
    handed = prompt(info(trigger="stuck", from_model="m", from_tier="haiku"), "t-1")
    assert handed.startswith("# Continuing work: t-1") and "## First\n\n- finish the parser" not in handed
    assert "## First\n\nfinish the parser" in handed  # the same task: STATE.md's next step comes first
    moved = prompt(info(trigger="planning_complete", from_model="m", from_tier="opus", previous_task="t-0"), "t-1")
    assert "## First\n\nt-0 is done. Start on t-1" in moved
