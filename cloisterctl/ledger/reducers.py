"""The reducers: how each event type changes the folded state. Pure.

Each reducer sees events in ``(ts, id)`` order (``ledger.fold.apply``) and only events of the right
shape (``ledger.schema``). Unknown event types have no reducer and change nothing. ``REDUCERS``
apply the events of this worktree's agent; ``HISTORY_REDUCERS`` the others' (``ledger.ownership``):
what is everyone's (task records, cost checkpoints and spending, the per-session aggregates), never
this agent's situation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloisterctl.ledger.agent_state import AGENT_REDUCERS, apply_continue, assign, clear_flags, progress
from cloisterctl.ledger.decisions import RAISES_FLAG, flag_clears
from cloisterctl.ledger.events import Event, normalise_ts
from cloisterctl.ledger.ownership import legacy_is_mine, place, written_here
from cloisterctl.ledger.spending import SPENDING_REDUCERS, apply_checkpoint
from cloisterctl.ledger.state import (
    AGENT_SOURCES,
    CHECKPOINT_KEYS,
    COST_ONLY_SOURCES,
    HANDOFF_FINAL,
    KEEP_CONTEXTS,
    MICRO,
    TOKEN_KINDS,
    CostTotals,
    Decision,
    Handoff,
    WorkspaceState,
)

Reducer = Callable[[WorkspaceState, Event], None]
REDUCERS: dict[str, Reducer] = {}
OWN_COST = "own"  # False on a kept checkpoint of another agent's (history): not in ``cost_totals``


def reducer(type_: str) -> Callable[[Reducer], Reducer]:
    def register(function: Reducer) -> Reducer:
        REDUCERS[type_] = function
        return function

    return register


def _set_tier(state: WorkspaceState, tier: str | None, model: str | None, ts: str) -> None:
    if tier and tier != state.tier:
        state.tier_since = ts
        if state.tier is not None:
            state.last_tier_change = ts
        state.test_failures_in_a_row = 0
        clear_flags(state, "tier_change")
    if tier:
        state.tier = tier
    if model:
        state.model = model


@reducer("init")
def _init(state: WorkspaceState, event: Event) -> None:
    """Names this worktree's agent, unless the worktree recorded its own (``pinned``) or the line
    was written in another worktree or clone (a merged branch's ``init`` names *its* agent), or
    has no origin and comes after this worktree's first line with one (``legacy_is_mine``)."""
    if event.get("agent") and not state.pinned and (written_here(state, event) or legacy_is_mine(state, event)):
        state.agent = event["agent"]


@reducer("route")
def _route(state: WorkspaceState, event: Event) -> None:
    if event.get("decision") in state.duplicates:
        return  # carries out a decision another clone had already made for the same cause
    _window(state, event)
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
    if decision.kind in RAISES_FLAG and decision.status not in ("skipped", "rejected"):
        state.flags[decision.trigger] = decision.ts
        state.flag_clears[decision.trigger] = list(flag_clears(event))
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
    if source in AGENT_SOURCES and session and event["ts"] > state.exited.get(session, event["ts"]):
        del state.exited[session]  # it works after its exit was recorded: its process was not gone after all
    if event["ts"] > state.activity.get(source, ""):
        state.activity[source] = event["ts"]
    # Progress after the flag clears it. (Compared by time, so that activity from the signal spool,
    # folded out of order after a checkpoint, gives the same state: see ledger.store.ORDER_FREE.)
    clear_flags(state, "activity", event["ts"])
    if source == "git" and event.get("hook") != "post-checkout":
        progress(state, event["ts"])  # a commit, merge or rewrite (a checkout makes nothing)


@reducer("idle")
def _idle(state: WorkspaceState, event: Event) -> None:
    key = str(event.get("session") or "")
    state.idle_signals[key] = max(event["ts"], state.idle_signals.get(key, ""))


def _session_record(state: WorkspaceState, event: Event) -> str | None:
    """What every session's events feed, whoever's: the per-session aggregates."""
    session = event.get("session")
    if not session:
        return None
    cold = state.cold
    cold.sessions[session] = None
    where = place(event)
    if where is not None and session not in cold.session_places:
        cold.session_places[session] = where
    if event.get("agent"):
        (cold.found_agents if event.get("source") == "transcript" else cold.session_agents)[session] = event["agent"]
    if event.get("task"):
        cold.session_tasks[session] = event["task"]
    for key in ("transcript_path", "transcript"):
        if isinstance(event.get(key), str):
            cold.transcripts[event[key]] = None
    return str(session)


@reducer("session")
def _session(state: WorkspaceState, event: Event) -> None:
    session = _session_record(state, event)
    if session is None:
        return
    if event.get("event") == "end" and session == state.session:
        state.session = None
        return
    if event.get("event", "start") == "start" and event.get("source") not in COST_ONLY_SOURCES:
        # A session cloisterctl started (spawn) becomes the agent's current one; sessions seen only
        # through hooks are recorded for cost attribution.
        state.session = session
        state.session_clone = event.get("clone")
        state.spawned = state.spawned or event.get("source") == "spawn"
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
    record = dict(state.tasks.get(task, {}))  # a new record: copies of the state share the old one
    for key in ("status", "title", "issue_type", "labels", "parent"):
        if key in event:
            record[key] = event[key]
    record["updated"] = event["ts"]
    if event.get("status") == "closed" and "closed" not in record:
        record["closed"] = event["ts"]
    elif event.get("status") not in (None, "closed"):
        record.pop("closed", None)
    state.tasks[task] = record


@reducer("test_run")
def _test_run(state: WorkspaceState, event: Event) -> None:
    passed = bool(event.get("passed"))
    state.test_failures_in_a_row = 0 if passed else state.test_failures_in_a_row + 1
    if passed:
        clear_flags(state, "passing_test")
        progress(state, event["ts"])
    state.last_test = {k: event.get(k) for k in ("ts", "passed", "command", "exit_code", "counts", "tier")}
    state.activity["test"] = max(state.activity.get("test", ""), event["ts"])


@reducer("handoff")
def _handoff(state: WorkspaceState, event: Event) -> None:
    handoff_id = str(event.get("handoff"))
    if handoff_id in state.finished_handoffs:
        return  # a late line of a handoff that ended long ago (a merge): nothing to do
    step = str(event.get("step"))
    phase = str(event.get("status", "done"))
    if step == "spawned" and phase == "done" and event.get("task"):
        _window(state, event)
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
        if event.get("session"):
            state.session = event["session"]
            state.session_clone = event.get("clone")
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
    _checkpoint(state, event, own=True)


def _history_cost(state: WorkspaceState, event: Event) -> None:
    _checkpoint(state, event, own=False)  # another place's (or a legacy line of another agent)


def _checkpoint(state: WorkspaceState, event: Event, *, own: bool) -> None:
    """A session's latest cost checkpoint replaces its previous one. Everyone's count in the
    spending by agent and task; only this agent's own in this workspace's totals (``OWN_COST``
    marks which of the kept checkpoints are in them)."""
    key = str(event.get("session") or event.get("scope") or "")
    checkpoints = state.cold.cost_checkpoints
    previous = checkpoints.get(key)
    if previous is not None and (event["ts"], event["id"]) < (previous["ts"], previous["id"]):
        return
    current = {name: event[name] for name in CHECKPOINT_KEYS if name in event}
    if previous is None or previous.get(OWN_COST, True):
        _add_to_totals(state.cost_totals, previous, -1)
    if own:
        _add_to_totals(state.cost_totals, current, +1)
    else:
        current[OWN_COST] = False
    apply_checkpoint(state.spending, previous, current)
    checkpoints[key] = current
    context = current.get("context_tokens")
    if own and event.get("session") and isinstance(context, int):
        state.session_context.pop(event["session"], None)
        state.session_context[event["session"]] = context
        while len(state.session_context) > KEEP_CONTEXTS:
            del state.session_context[next(iter(state.session_context))]


def _micro(usd: Any) -> int:
    return round(float(usd or 0) * MICRO)


def _add_to_totals(totals: CostTotals, checkpoint: dict[str, Any] | None, sign: int) -> None:
    if checkpoint is None:
        return
    totals.micro_usd += sign * _micro(checkpoint.get("usd"))
    for name, table in (("by_model", totals.by_model), ("by_tier", totals.by_tier)):
        for key, usd in (checkpoint.get(name) or {}).items():
            _count(table, key, sign * _micro(usd), sign)
    for model, requests in (checkpoint.get("unpriced") or {}).items():
        _count(totals.unpriced, model, sign * int(requests), sign)
    tokens = checkpoint.get("tokens") or {}
    for kind in TOKEN_KINDS:
        totals.tokens[kind] = totals.tokens.get(kind, 0) + sign * int(tokens.get(kind, 0))
    totals.switches += sign * int(bool(checkpoint.get("mid_session_switch")))
    totals.checkpoints += sign


def _count(table: dict[str, list[int]], key: str, amount: int, sign: int) -> None:
    """Add ``amount`` to ``key``'s figure and ``sign`` to how many checkpoints name it; a key no
    checkpoint names any more is dropped."""
    figure, refs = table.get(key, (0, 0))
    if refs + sign:
        table[key] = [figure + amount, refs + sign]
    else:
        table.pop(key, None)


@reducer("usage")
def _usage(state: WorkspaceState, event: Event) -> None:
    state.cold.usage_events.append(event)


def _window(state: WorkspaceState, event: Event) -> None:
    """The agent's task from ``event`` on, for attribution (an entry only when the task changes)."""
    steps = state.cold.task_windows.setdefault(str(event.get("agent")), [])
    task = event.get("task") or None
    if not steps or steps[-1][1] != task:
        steps.append((normalise_ts(event["ts"]), task))  # compared with transcript times, as text


def _history_route(state: WorkspaceState, event: Event) -> None:
    _window(state, event)


def _history_handoff(state: WorkspaceState, event: Event) -> None:
    if event.get("step") == "spawned" and event.get("status", "done") == "done" and event.get("task"):
        _window(state, event)


def _history_session(state: WorkspaceState, event: Event) -> None:
    _session_record(state, event)


REDUCERS.update(AGENT_REDUCERS)
REDUCERS.update(SPENDING_REDUCERS)
HISTORY_REDUCERS: dict[str, Reducer] = {
    "init": _init,
    "route": _history_route,
    "handoff": _history_handoff,
    "session": _history_session,
    "task": _task,
    "cost": _history_cost,
    "usage": _usage,
}
