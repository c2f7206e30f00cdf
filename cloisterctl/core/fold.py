"""Folding events into the workspace's current state. Pure.

``fold`` depends only on the set of events, ordered by ``(ts, id)``: two branches' ledgers joined
by a union merge fold to the same state as one linear history.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cloisterctl.core.agent_state import AGENT_REDUCERS, apply_continue, assign, progress
from cloisterctl.model.events import Event, ordered

# Agent statuses shown in STATE.md and `status`.
WORKING = "working"
HANDOFF = "handoff-in-progress"
AWAITING_APPROVAL = "awaiting-approval"
STUCK = "stuck"
NEW = "new"
IDLE = "idle"  # its task closed and no task is ready
STOPPED = "stopped"  # started once, no session now
ROUTED = "routed"  # a tier was chosen, nothing started yet
DEAD = "dead"  # the ledger calls a session current, its process is gone

HANDOFF_STEPS = ("requested", "save_requested", "idle", "captured", "stopped", "spawned", "completed")
HANDOFF_FINAL = ("completed", "failed")

# Activity that only the agent itself produces; other sources (commits, test runs) may come from
# a person or another process in the same work tree.
AGENT_SOURCES = frozenset({"agent", "transcript", "spawn"})
HISTORY_TYPES = frozenset({"session", "route", "usage"})


@dataclass
class Decision:
    id: str
    ts: str
    trigger: str
    cause: str
    task: str | None
    from_tier: str | None
    to_tier: str | None
    kind: str
    reason: str
    status: str
    fields: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        move = f"{self.from_tier or '?'} -> {self.to_tier or '?'}"
        if self.to_tier is None and self.kind in ("idle", "stop", "flag"):
            move = self.kind + (f" on {self.from_tier}" if self.from_tier else "")  # no tier change
        role = self.fields.get("to_role")
        if role:
            move += f" ({role})"
        task = f" [{self.task}]" if self.task else ""
        return f"{self.trigger}: {move}{task} {self.status}: {self.reason}"


@dataclass
class Handoff:
    """A handoff's progress: ``step`` is the last step completed; ``pending`` a step whose side
    effect was begun but not recorded as done (a crash in between), to be resumed idempotently."""

    id: str
    step: str
    started: str
    updated: str
    from_tier: str | None
    to_tier: str | None
    decision: str | None
    pending: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def in_flight(self) -> bool:
        return self.step not in HANDOFF_FINAL


@dataclass
class WorkspaceState:
    agent: str
    tier: str | None = None
    model: str | None = None
    session: str | None = None
    role: str | None = None
    complexity: dict[str, Any] | None = None
    task: str | None = None
    tier_since: str | None = None
    handoff_count: int = 0
    last_decision: str | None = None
    decisions: dict[str, Decision] = field(default_factory=dict)
    causes: set[str] = field(default_factory=set)
    duplicates: dict[str, str] = field(default_factory=dict)  # decision id -> the cause decided before it
    escalations: dict[str, int] = field(default_factory=dict)
    last_tier_change: str | None = None
    activity: dict[str, str] = field(default_factory=dict)
    test_failures_in_a_row: int = 0
    last_test: dict[str, Any] | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    handoffs: dict[str, Handoff] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    cost_checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    idle_signals: dict[str, str] = field(default_factory=dict)
    last_event_ts: str | None = None
    last_event_id: str | None = None
    idle: dict[str, Any] | None = None  # {"reason", "since", "after"}: no task is ready
    exited: dict[str, str] = field(default_factory=dict)  # session -> when its process was found gone
    brief_pending: str | None = None  # a decision whose effect on the agent is not carried out yet
    spent_usd: float = 0.0  # the sum of the latest cost checkpoints, kept as they are folded
    progress_at: str | None = None  # the last commit, task change or passing test
    progress_usd: float = 0.0  # spent_usd at that moment
    # The few events cost attribution reads in full (sessions, routes, spawns, usage), so a tick
    # need not parse the whole ledger to attribute new usage.
    history: list[Event] = field(default_factory=list)
    # cost_summary() of this state, remembered with what it was computed from
    summary_memo: tuple[Any, Any] | None = field(default=None, compare=False, repr=False)
    applied: int = field(default=0, compare=False, repr=False)  # events applied so far: changes with every change

    @property
    def handoff_in_flight(self) -> Handoff | None:
        for handoff in self.handoffs.values():
            if handoff.in_flight:
                return handoff
        return None

    @property
    def pending_approvals(self) -> list[Decision]:
        return [d for d in self.decisions.values() if d.status == "proposed"]

    @property
    def status(self) -> str:
        if self.handoff_in_flight is not None:
            return HANDOFF
        if self.pending_approvals:
            return AWAITING_APPROVAL
        if self.tier is None:
            return NEW
        if self.session is None:
            started = any(record.get("source") == "spawn" for record in self.sessions.values())
            return STOPPED if started else ROUTED
        if self.session in self.exited:
            return DEAD
        if self.flags.get("stuck"):
            return STUCK
        if self.idle is not None:
            return IDLE
        return WORKING

    @property
    def spent_since_progress(self) -> float:
        return max(0.0, self.spent_usd - self.progress_usd)

    @property
    def last_key(self) -> tuple[str, str]:
        """The ``(ts, id)`` of the last event folded: new events must sort after it."""
        return (self.last_event_ts or "", self.last_event_id or "")

    @property
    def last_activity(self) -> str | None:
        return max(self.activity.values(), default=None)


Reducer = Callable[[WorkspaceState, Event], None]
_REDUCERS: dict[str, Reducer] = {}


def reducer(type_: str) -> Callable[[Reducer], Reducer]:
    def register(function: Reducer) -> Reducer:
        _REDUCERS[type_] = function
        return function

    return register


def _set_tier(state: WorkspaceState, tier: str | None, model: str | None, ts: str) -> None:
    if tier and tier != state.tier:
        state.tier_since = ts
        if state.tier is not None:
            state.last_tier_change = ts
        state.test_failures_in_a_row = 0
        state.flags.pop("stuck", None)
    if tier:
        state.tier = tier
    if model:
        state.model = model


@reducer("init")
def _init(state: WorkspaceState, event: Event) -> None:
    if event.get("agent"):
        state.agent = event["agent"]


@reducer("route")
def _route(state: WorkspaceState, event: Event) -> None:
    if event.get("decision") in state.duplicates:
        return  # carries out a decision another clone had already made for the same cause
    assign(state, event.get("task"), event["ts"])
    state.complexity = event.get("complexity") or state.complexity
    if event.get("role") is not None:
        state.role = event["role"]
    _set_tier(state, event.get("tier"), event.get("model"), event["ts"])
    state.last_decision = f"route: {event.get('task')} -> {event.get('tier')} ({event.get('rule')})"


@reducer("decision")
def _decision(state: WorkspaceState, event: Event) -> None:
    known = {
        "id",
        "ts",
        "type",
        "agent",
        "trigger",
        "cause",
        "task",
        "from_tier",
        "to_tier",
        "kind",
        "reason",
        "status",
    }
    decision = Decision(
        id=event["id"],
        ts=event["ts"],
        trigger=str(event.get("trigger", "")),
        cause=str(event.get("cause", "")),
        task=event.get("task"),
        from_tier=event.get("from_tier"),
        to_tier=event.get("to_tier"),
        kind=str(event.get("kind", "")),
        reason=str(event.get("reason", "")),
        status=str(event.get("status", "applied")),
        fields={k: v for k, v in event.items() if k not in known},
    )
    if decision.cause and decision.cause in state.causes:
        # Two clones decided the same cause and a merge joined their ledgers: the first decision
        # by (ts, id) stands; this one changes nothing (status reports it).
        state.duplicates[decision.id] = decision.cause
        return
    state.decisions[decision.id] = decision
    if decision.cause:
        state.causes.add(decision.cause)
    if decision.kind == "escalation" and decision.status not in ("skipped", "rejected"):
        key = decision.task or ""
        state.escalations[key] = state.escalations.get(key, 0) + 1
    if decision.kind in ("flag", "stop") and decision.status not in ("skipped", "rejected"):
        state.flags[decision.trigger] = decision.ts
    apply_continue(state, decision)
    state.last_decision = decision.summary()


@reducer("decision_status")
def _decision_status(state: WorkspaceState, event: Event) -> None:
    decision = state.decisions.get(str(event.get("decision")))
    if decision is None:
        return
    decision.status = str(event.get("status", decision.status))
    apply_continue(state, decision)
    if decision.status == "rejected" and decision.kind == "escalation":
        key = decision.task or ""
        state.escalations[key] = max(0, state.escalations.get(key, 0) - 1)
    state.last_decision = decision.summary()


@reducer("activity")
def _activity(state: WorkspaceState, event: Event) -> None:
    source = str(event.get("source", "unknown"))
    session = event.get("session")
    if source in AGENT_SOURCES and session and state.session and session != state.session:
        return  # another session (the one being replaced, a different agent) is not this agent's progress
    if source in AGENT_SOURCES and session:
        state.exited.pop(session, None)  # it works: its process was not gone after all
    if event["ts"] > state.activity.get(source, ""):
        state.activity[source] = event["ts"]
    state.flags.pop("stuck", None)
    if source == "git" and event.get("hook") != "post-checkout":
        progress(state, event["ts"])  # a commit, merge or rewrite (a checkout makes nothing)


@reducer("idle")
def _idle(state: WorkspaceState, event: Event) -> None:
    state.idle_signals[str(event.get("session") or "")] = event["ts"]


@reducer("session")
def _session(state: WorkspaceState, event: Event) -> None:
    session = event.get("session")
    if not session:
        return
    record = state.sessions.setdefault(session, {"first_seen": event["ts"]})
    for key in ("model", "tier", "source", "task", "tmux"):
        if event.get(key):
            record[key] = event[key]
    record["last_seen"] = event["ts"]
    if event.get("event") == "end" and session == state.session:
        state.session = None
        return
    if event.get("event", "start") == "start" and event.get("source") != "hook":
        # A session cloisterctl started (spawn) becomes the agent's current one; sessions seen only
        # through hooks are recorded for cost attribution.
        state.session = session
        state.exited.pop(session, None)  # a resumed session runs again
        assign(state, event.get("task"), event["ts"])
        progress(state, event["ts"])  # the cost-bleed guard measures a new session from its start
        state.role = event.get("role", state.role)
        _set_tier(state, event.get("tier"), event.get("model"), event["ts"])
        state.activity["spawn"] = max(state.activity.get("spawn", ""), event["ts"])


@reducer("task")
def _task(state: WorkspaceState, event: Event) -> None:
    task = event.get("task")
    if not task:
        return
    record = state.tasks.setdefault(task, {})
    for key in ("status", "title", "issue_type", "labels", "parent"):
        if key in event:
            record[key] = event[key]
    record["updated"] = event["ts"]
    if event.get("status") == "closed" and "closed" not in record:
        record["closed"] = event["ts"]
    elif event.get("status") not in (None, "closed"):
        record.pop("closed", None)


@reducer("test_run")
def _test_run(state: WorkspaceState, event: Event) -> None:
    passed = bool(event.get("passed"))
    state.test_failures_in_a_row = 0 if passed else state.test_failures_in_a_row + 1
    if passed:
        state.flags.pop("test_failure", None)
        progress(state, event["ts"])
    state.last_test = {k: event.get(k) for k in ("ts", "passed", "command", "exit_code", "counts", "tier")}
    state.activity["test"] = max(state.activity.get("test", ""), event["ts"])


@reducer("handoff")
def _handoff(state: WorkspaceState, event: Event) -> None:
    handoff_id = str(event.get("handoff"))
    step = str(event.get("step"))
    phase = str(event.get("status", "done"))
    handoff = state.handoffs.get(handoff_id)
    if handoff is None:
        handoff = state.handoffs[handoff_id] = Handoff(
            id=handoff_id,
            step=step,
            started=event["ts"],
            updated=event["ts"],
            from_tier=event.get("from_tier"),
            to_tier=event.get("to_tier"),
            decision=event.get("decision"),
        )
    handoff.updated = event["ts"]
    details = {k: v for k, v in event.items() if k not in ("id", "ts", "type", "agent", "handoff", "step", "status")}
    record = handoff.steps.setdefault(step, {})
    record.update(details)
    record[phase] = event["ts"]
    if phase == "begin":
        handoff.pending = step
        return
    handoff.step = step
    handoff.pending = None
    handoff.fields.update(details)
    if step == "spawned":
        state.handoff_count += 1
        state.session = event.get("session") or state.session
        state.role = event.get("role")
        assign(state, event.get("task"), event["ts"])
        progress(state, event["ts"])
        state.complexity = handoff.fields.get("complexity") or state.complexity
        state.brief_pending = None  # the new session's packet says it all
        _set_tier(state, handoff.to_tier, event.get("model"), event["ts"])
        state.activity["spawn"] = event["ts"]
    if step == "failed" and event.get("restarted") and "done" in handoff.steps.get("spawned", {}):
        state.handoff_count -= 1  # rolled back: the previous session runs again
    if step in HANDOFF_FINAL:
        state.last_decision = f"handoff {handoff_id} {step}: {handoff.from_tier} -> {handoff.to_tier}" + (
            f" ({event['reason']})" if step == "failed" and event.get("reason") else ""
        )


@reducer("cost")
def _cost(state: WorkspaceState, event: Event) -> None:
    key = str(event.get("session") or event.get("scope") or "")
    previous = state.cost_checkpoints.get(key)
    if previous is None or (event["ts"], event["id"]) >= (previous["ts"], previous["id"]):
        state.cost_checkpoints[key] = event
        state.spent_usd += float(event.get("usd", 0.0)) - (float(previous.get("usd", 0.0)) if previous else 0.0)


_REDUCERS.update(AGENT_REDUCERS)


def apply(state: WorkspaceState, events: Iterable[Event]) -> None:
    """Apply events, already in ``(ts, id)`` order and after everything folded so far, to ``state``."""
    for event in events:
        function = _REDUCERS.get(event["type"])
        if function is not None:
            function(state, event)
        if event["type"] in HISTORY_TYPES or (
            event["type"] == "handoff" and event.get("step") == "spawned" and event.get("task")
        ):
            state.history.append(event)
        state.last_event_ts = event["ts"]
        state.last_event_id = event["id"]
        state.applied += 1


def extended(state: WorkspaceState, events: Iterable[Event], *, in_place: bool = False) -> WorkspaceState | None:
    """``state`` (a copy, unless ``in_place``) with ``events`` applied; None, and nothing changed,
    when one of them sorts at or before what ``state`` has folded already (then only a fold of
    everything gives the right state)."""
    fresh = ordered(events)
    if fresh and (fresh[0]["ts"], fresh[0]["id"]) <= state.last_key:
        return None
    target = state if in_place else copy.deepcopy(state)
    apply(target, fresh)
    return target


def fold(events: Iterable[Event], agent: str) -> WorkspaceState:
    """The state after applying ``events`` in ``(ts, id)`` order. Unknown event types are ignored."""
    state = WorkspaceState(agent=agent)
    apply(state, ordered(events))
    return state
