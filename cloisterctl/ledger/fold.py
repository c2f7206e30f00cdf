"""Folding events into the workspace's current state. Pure.

``fold`` depends only on the set of events, ordered by ``(ts, id)``: two branches' ledgers joined
by a union merge fold to the same state as one linear history. The state's records are in
``ledger.state`` (re-exported here) and the reducers in ``ledger.reducers``; after each batch
the state is pruned to its bounds (``prune``), which drops only what no later event can need.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from cloisterctl.ledger.attempts import observe
from cloisterctl.ledger.events import Event, ordered
from cloisterctl.ledger.ownership import has_origin, note_teammate, owns
from cloisterctl.ledger.reducers import HISTORY_REDUCERS, REDUCERS
from cloisterctl.ledger.spending import copied
from cloisterctl.ledger.state import (
    AGENT_SOURCES,
    AWAITING_APPROVAL,
    DEAD,
    HANDOFF,
    HANDOFF_FINAL,
    HANDOFF_STEPS,
    IDLE,
    KEEP_DECISIONS,
    KEEP_EXITS,
    KEEP_HANDOFFS,
    NEW,
    OPEN_STATUSES,
    ROUTED,
    STOPPED,
    STUCK,
    WORKING,
    ColdState,
    Decision,
    Handoff,
    OutcomeBook,
    WorkspaceState,
)

__all__ = [
    "AGENT_SOURCES",
    "AWAITING_APPROVAL",
    "ColdState",
    "DEAD",
    "HANDOFF",
    "HANDOFF_FINAL",
    "HANDOFF_STEPS",
    "IDLE",
    "NEW",
    "ROUTED",
    "STOPPED",
    "STUCK",
    "WORKING",
    "Decision",
    "Handoff",
    "WorkspaceState",
    "apply",
    "copy_state",
    "extended",
    "fold",
    "prune",
]


def apply(
    state: WorkspaceState, events: Iterable[Event], on_outcome: Callable[[list[dict[str, Any]]], None] | None = None
) -> None:
    """Apply events, already in ``(ts, id)`` order and after everything folded so far, to ``state``.
    ``on_outcome`` sees the attempts each event began, ended or changed (``ledger.attempts``).
    An event of this worktree's agent changes its situation; any other is history
    (``ledger.ownership``): it feeds only what is everyone's (``HISTORY_REDUCERS``)."""
    count = 0
    for event in events:
        mine = owns(state, event)
        if mine and state.clone is not None and has_origin(event):
            state.stamped = True
        attempts = observe(state, event, mine=mine)
        if on_outcome is not None and attempts:
            on_outcome(attempts)
        note_teammate(state, event, mine=mine)
        function = (REDUCERS if mine else HISTORY_REDUCERS).get(event["type"])
        if function is not None:
            function(state, event)
        state.last_event_ts = event["ts"]
        state.last_event_id = event["id"]
        count += 1
        if count % 10_000 == 0:
            prune(state)  # a long refold stays small too
    prune(state)


def prune(state: WorkspaceState) -> None:
    """Drop the decisions and handoffs no rule, view or later event needs: all but the open ones
    (and the one whose effect on the agent is still to be carried out, ``brief_pending``) and the
    latest few. A decision_status only ever refers to an open decision, and a late line of a
    dropped handoff is ignored (``finished_handoffs``), so what is dropped cannot matter later.
    Likewise the exits of all but the latest few sessions besides the current one: only the
    current session's exit is read, and a session that starts again is not exited anyway."""
    if len(state.decisions) > KEEP_DECISIONS:
        closed = sorted(
            (d for d in state.decisions.values() if d.status not in OPEN_STATUSES and d.id != state.brief_pending),
            key=lambda d: (d.ts, d.id),
        )
        for decision in closed[: max(0, len(closed) - KEEP_DECISIONS)]:
            del state.decisions[decision.id]
    if len(state.handoffs) > KEEP_HANDOFFS:
        done = sorted((h for h in state.handoffs.values() if not h.in_flight), key=lambda h: (h.updated, h.id))
        for handoff in done[: max(0, len(done) - KEEP_HANDOFFS)]:
            del state.handoffs[handoff.id]
            state.finished_handoffs.add(handoff.id)
    if len(state.exited) > KEEP_EXITS + 1:
        gone = sorted((ts, session) for session, ts in state.exited.items() if session != state.session)
        for _, session in gone[: len(state.exited) - KEEP_EXITS - (state.session in state.exited)]:
            del state.exited[session]


def extended(state: WorkspaceState, events: Iterable[Event], *, in_place: bool = False) -> WorkspaceState | None:
    """``state`` (a copy, unless ``in_place``) with ``events`` applied; None, and nothing changed,
    when one of them sorts at or before what ``state`` has folded already (then only a fold of
    everything gives the right state)."""
    fresh = ordered(events)
    if fresh and (fresh[0]["ts"], fresh[0]["id"]) <= state.last_key:
        return None
    target = state if in_place else copy_state(state)
    apply(target, fresh)
    return target


def copy_state(state: WorkspaceState) -> WorkspaceState:
    """A copy that ``apply`` can change without touching ``state``, in time proportional to the
    bounded parts: reducers replace the values of the large maps (tasks, the per-session
    aggregates) rather than change them, so those maps are copied shallowly."""
    cold = state.cold_state
    return dataclasses.replace(
        state,
        complexity=dict(state.complexity) if state.complexity is not None else None,
        decisions=copy.deepcopy(state.decisions),
        causes=set(state.causes),
        duplicates=dict(state.duplicates),
        escalations=dict(state.escalations),
        activity=dict(state.activity),
        last_test=dict(state.last_test) if state.last_test is not None else None,
        tasks=dict(state.tasks),
        handoffs=copy.deepcopy(state.handoffs),
        flags=dict(state.flags),
        flag_clears={name: list(clears) for name, clears in state.flag_clears.items()},
        idle_signals=dict(state.idle_signals),
        finished_handoffs=set(state.finished_handoffs),
        cost_totals=copy.deepcopy(state.cost_totals),
        spending=copied(state.spending),
        budgets=dict(state.budgets),
        outcomes=OutcomeBook(
            dict(state.outcomes.current) if state.outcomes.current is not None else None,
            dict(state.outcomes.closed),
            dict(state.outcomes.counts),
            state.outcomes.seq,
            dict(state.outcomes.verifications),
            dict(state.outcomes.detection),
            dict(state.outcomes.others),
        ),
        session_context=dict(state.session_context),
        idle=dict(state.idle) if state.idle is not None else None,
        exited=dict(state.exited),
        teammates=dict(state.teammates),
        cold_state=None
        if cold is None
        else ColdState(
            dict(cold.cost_checkpoints),
            dict(cold.sessions),
            dict(cold.session_agents),
            dict(cold.found_agents),
            dict(cold.session_tasks),
            dict(cold.transcripts),
            {agent: list(steps) for agent, steps in cold.task_windows.items()},
            list(cold.usage_events),
            dict(cold.session_places),
        ),
    )


def fold(events: Iterable[Event], agent: str = "", *, start: WorkspaceState | None = None) -> WorkspaceState:
    """The state after applying ``events`` in ``(ts, id)`` order. Unknown event types are ignored.
    ``start``: an empty state saying who folds (``ledger.identity.blank``: its agent, clone and
    worktree, ``ledger.ownership``); without it every event is read as the agent's own."""
    state = copy_state(start) if start is not None else WorkspaceState(agent=agent)
    apply(state, ordered(events))
    return state
