"""Whose event is it (``ledger.ownership``): a fold made for one clone and worktree reads its own
agent's events as its situation and every other as history; lines written before events carried
an origin (0.1.0's) are read as before, but never carried out as orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloisterctl.ledger import identity, segments
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.workspace import origin
from cloisterctl.workspace.layout import Workspace
from testing.helpers import ledger_events, run, spooled_events

START = datetime(2026, 12, 1, 10, tzinfo=UTC)
ME = {"clone": "aaaaaaaaaaaa", "worktree": "main"}
TEAMMATE = {"clone": "bbbbbbbbbbbb", "worktree": "main"}


def _event(seconds: int, type_: str, agent: str, where: dict[str, str] | None, **fields: Any) -> dict[str, Any]:
    return make_event(type_, agent, START + timedelta(seconds=seconds), **fields, **(where or {}))


def _mine(agent: str = "alice-bot", pinned: bool = True) -> WorkspaceState:
    return WorkspaceState(agent=agent, clone=ME["clone"], worktree=ME["worktree"], pinned=pinned)


SPAWN = {"source": "spawn", "event": "start", "tier": "haiku", "model": "claude-haiku-4-5"}


def test_another_agents_events_are_history_and_its_attempts_its_own() -> None:
    events = [
        _event(0, "session", "alice-bot", ME, session="s-a", task="t-1", **SPAWN),
        _event(1, "init", "docs-bot", {**ME, "worktree": "docs"}),  # a merged branch's init
        _event(2, "session", "docs-bot", {**ME, "worktree": "docs"}, session="s-d", task="t-2", **SPAWN),
        _event(3, "cost", "docs-bot", {**ME, "worktree": "docs"}, session="s-d", usd=4.0),
        _event(4, "cost", "alice-bot", ME, session="s-a", usd=1.0),
        _event(5, "task", "alice-bot", ME, task="t-1", status="closed"),
        _event(6, "exit", "alice-bot", TEAMMATE, session="s-a", how="its tmux session is gone"),  # B's claim
        _event(7, "task", "docs-bot", {**ME, "worktree": "docs"}, task="t-2", status="closed"),
    ]
    state = fold(events, start=_mine())
    assert (state.agent, state.session, state.task, state.status) == ("alice-bot", "s-a", "t-1", "working")
    assert state.spent_usd == 1.0  # docs-bot's $4 is its own worktree's
    assert state.spending.by_agent == {"alice-bot": 1_000_000, "docs-bot": 4_000_000}  # everyone's, by agent
    assert set(state.teammates) == {f"docs-bot@{ME['clone']}/docs", f"alice-bot@{TEAMMATE['clone']}/main"}
    assert state.outcomes.counts == {} and state.outcomes.current is None and state.outcomes.others == {}
    assert set(state.tasks) == {"t-1", "t-2"} and state.tasks["t-2"]["status"] == "closed"


def test_a_renamed_worktree_takes_its_name_from_its_own_init_only() -> None:
    events = [
        _event(0, "init", "repo", ME),
        _event(1, "init", "docs-bot", {**ME, "worktree": "docs"}),
        _event(2, "init", "bob-bot", TEAMMATE),
    ]
    assert fold(events, start=_mine("repo", pinned=False)).agent == "repo"
    assert fold([*events, _event(3, "init", "alice-bot", ME)], start=_mine("repo", pinned=False)).agent == "alice-bot"
    # Recorded in the worktree's private dir: no init in the ledger changes it.
    assert fold([*events, _event(3, "init", "carol", ME)], start=_mine("alice-bot")).agent == "alice-bot"


def test_legacy_lines_are_read_as_before_but_never_as_orders() -> None:
    escalation = {"trigger": "manual", "cause": "c-1", "kind": "escalation", "status": "applied", "reason": "r"}
    legacy = [
        _event(0, "init", "alice-bot", None),
        _event(1, "session", "alice-bot", None, session="s-a", task="t-1", **SPAWN),
        _event(2, "test_run", "alice-bot", None, passed=False),
        _event(3, "session", "bob-bot", None, session="s-b", task="t-9", **SPAWN),  # another agent, legacy
        _event(4, "decision", "alice-bot", None, **escalation, from_tier="haiku", to_tier="sonnet"),
        _event(5, "handoff", "alice-bot", None, handoff="h-x", step="requested", status="done", to_tier="opus"),
    ]
    state = fold(legacy, start=_mine("repo", pinned=False))
    assert (state.agent, state.session, state.test_failures_in_a_row) == ("alice-bot", "s-a", 1)
    assert state.session_clone is None  # not known to be this clone's: tick asserts no exit of it
    assert state.decisions == {} and state.handoffs == {}  # no origin: history, not an order
    assert {mate["agent"] for mate in state.teammates.values()} == {"bob-bot", "alice-bot"}
    # A fold that knows no origin (a bare list of events) reads every event as its own, as 0.1.0 did.
    everything = fold(legacy, agent="repo")
    assert set(everything.decisions) == {legacy[4]["id"]} and set(everything.handoffs) == {"h-x"}
    assert everything.session == "s-b"


def test_an_approval_from_another_clone_does_not_approve_my_decision() -> None:
    proposed = _event(0, "decision", "alice-bot", ME, trigger="manual", cause="c", kind="escalation",
                      status="proposed", reason="r", from_tier="haiku", to_tier="sonnet")  # fmt: skip
    theirs = _event(1, "decision_status", "alice-bot", TEAMMATE, decision=proposed["id"], status="approved")
    state = fold([proposed, theirs], start=_mine())
    assert [d.id for d in state.pending_approvals] == [proposed["id"]]
    mine = _event(2, "decision_status", "alice-bot", ME, decision=proposed["id"], status="approved")
    assert fold([proposed, theirs, mine], start=_mine()).decisions[proposed["id"]].status == "approved"


def test_every_writer_stamps_this_clones_origin(workspace: Path) -> None:
    ws = Workspace(workspace)
    want = {"clone": origin.clone_id(str(workspace)), "worktree": "main"}
    segments.append_segments(ws, [make_event("task", "repo", datetime.now(UTC), task="t-1", status="open")])
    assert run(workspace, "hook", "git", "post-commit").exit_code == 0
    assert run(workspace, "init", "--agent", "alice-bot").exit_code == 0
    written = [*ledger_events(workspace), *spooled_events(workspace)]
    assert written and all({key: event.get(key) for key in want} == want for event in written)
    assert origin.hosted_agent(str(workspace)) == "alice-bot"
    assert identity.blank(ws).agent == "alice-bot" and identity.blank(ws).pinned


def test_a_line_without_origin_is_mine_only_before_my_first_line_with_one() -> None:
    """A 0.1.0 workspace keeps its state after the upgrade; a line without an origin dated after
    this worktree's first line with one (a forgery, a 0.1.0 teammate's hook) is history."""
    events = [
        _event(0, "session", "alice-bot", None, session="s-old", **SPAWN),  # 0.1.0's
        _event(1, "test_run", "alice-bot", None, passed=False, command="pytest"),
        _event(2, "cost", "alice-bot", ME, session="s-old", usd=1.0),  # the upgrade: the first line with one
        _event(3, "test_run", "alice-bot", None, passed=False, command="pytest"),
        _event(4, "session", "alice-bot", None, session="s-forged", **SPAWN),
        _event(5, "init", "mallory-bot", None),
    ]
    state = fold(events, start=_mine(pinned=False))
    assert (state.agent, state.session, state.test_failures_in_a_row) == ("alice-bot", "s-old", 1)
    assert state.stamped
    before = fold(events[:2], start=_mine(pinned=False))
    assert not before.stamped and before.session == "s-old" and before.test_failures_in_a_row == 1
