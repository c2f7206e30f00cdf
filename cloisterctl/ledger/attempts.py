"""Outcomes: how each attempt at a task on a tier ended, derived from the ledger's events. Pure.

An *attempt* is the agent working one task on one tier: it begins with a ``route``, a session
cloisterctl started, a handoff's new session, or a decision that moves the agent on to its next
task, and it ends

- ``closed``: the task was closed while the attempt ran (a success unless the attempt was flagged
  by a trigger whose flag fails it, as its decision recorded (``ledger.decisions.fails_attempt``:
  ``stuck``, ``test_failure``, ``bleed``); or the test-agent stage's ``verification`` failed:
  `outcomes verify`, or the tick's verification of that close, whose event names the attempt);
- ``escalated``: an escalation decision moved the task up a tier (its trigger says why);
- ``handed_off``: a planned move (a role or tier change that is not an escalation);
- ``abandoned``: the task was deleted, or the agent moved to another task, with no close;
- ``reopened``: it closed, and the task later came back open (a ``reopen`` event, or a ``task``
  event with an open status): the close did not hold, so the attempt counts as a failure.

An attempt still running at the end of the ledger is ``open`` (``abandoned`` when its session
stopped with no close). ``observe`` is called by the fold for every event before the event's own
reducer, and keeps ``WorkspaceState.outcomes`` (``OutcomeBook``): the running attempt, the attempt
that closed each task (so a reopen can take its success back), and the counts per
``level/tier`` that the adaptive router reads in O(1), and under ``level/tier/after`` again the
attempts that followed an escalation of the same task (``after_key``). It returns the attempts that ended or
changed, which ``routing.outcome_report`` collects for the `outcomes` report; the fold drops them.
While the tick's verification of a successful close is pending, the close is held out of the
counts' successes (it counts when it passes, or ends with no verdict; a failure when it fails).
The book also keeps each task's latest verification (pending, pass, fail, or error: failed to
run, no verdict) and, per tier, the failures a verification caught and the accepted closes that
later failed (missed): ``routing.detection`` estimates the recall from them.
Values in the book are replaced, never changed in place (``ledger.fold.copy_state`` copies shallowly).

Each agent's attempts are its own: the events of this worktree's agent (``ledger.ownership``)
begin and end ``current``; another agent's (a merged branch's, another worktree's or clone's)
begin and end *its* running attempt (``others``, keyed by ``ledger.ownership.teammate``), so a
merge never ends this agent's attempt and never turns another's success into a failure. A task's
close, reopen or verification concerns whoever works that task, whichever clone saw it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloisterctl.ledger.decisions import PLANNED_MOVES, RAISES_FLAG, fails_attempt
from cloisterctl.ledger.events import Event
from cloisterctl.ledger.ownership import teammate, written_here
from cloisterctl.ledger.state import COST_ONLY_SOURCES, MICRO, OutcomeBook, WorkspaceState

Attempt = dict[str, Any]
# The counts per "level/tier": [attempts ended, successes, failures, escalations, micro-USD, costed]
ATTEMPTS, SUCCESSES, FAILURES, ESCALATIONS, COST, COSTED = range(6)
GONE = frozenset({"deleted", "tombstone"})


def count_key(level: str, tier: str) -> str:
    return f"{level}/{tier}"


def after_key(level: str, tier: str) -> str:
    """The counts of attempts on ``tier`` that followed an escalation of the same task (a failure on
    the tier below): what ``routing.adaptive`` learns p(tier | the tier below failed) from."""
    return f"{count_key(level, tier)}/after"


def _keys(attempt: Attempt) -> list[str]:
    key = count_key(attempt["level"], attempt["tier"])
    return [key, after_key(attempt["level"], attempt["tier"])] if attempt.get("after_failure") else [key]


def _cost_so_far(state: WorkspaceState, task: str) -> int:
    return state.spending.by_task.get(task, 0)


def _begin(
    state: WorkspaceState, event: Event, task: str, tier: str, *, model: Any, level: Any, role: Any, session: Any
) -> list[Attempt]:
    book = state.outcomes
    current = book.current
    if current is not None and current["task"] == task and current["tier"] == tier:
        sessions = list(current["sessions"])
        if isinstance(session, str) and session not in sessions:
            sessions.append(session)
        book.current = {
            **current,
            "sessions": sessions,
            "model": model or current["model"],
            "level": level or current["level"],
            "stopped": None,
        }
        return []
    ended: list[Attempt] = []
    after_failure = False
    if current is not None:
        move = current.get("move") or {}
        if current["task"] != task:
            ended.append(_end(state, event["ts"], "abandoned"))
        elif move.get("kind") == "escalation":
            ended.append(_end(state, event["ts"], "escalated", move.get("trigger")))
            after_failure = True
        else:
            ended.append(_end(state, event["ts"], "handed_off", move.get("trigger")))
    if level is None and state.task == task and isinstance(state.complexity, dict):
        level = state.complexity.get("level")
    book.seq += 1
    book.current = {
        "n": book.seq,
        "task": task,
        "tier": tier,
        "model": model,
        "level": level if isinstance(level, str) else None,
        "role": role if isinstance(role, str) else None,
        "agent": event.get("agent"),
        "start": event["ts"],
        "end": None,
        "sessions": [session] if isinstance(session, str) else [],
        "micro_start": _cost_so_far(state, task),
        "flagged": None,
        "verified": None,
        "move": None,
        "stopped": None,
        "ending": "open",
        "trigger": None,
        "after_failure": after_failure,
    }
    return [*ended, dict(book.current)]


def _end(state: WorkspaceState, ts: str, ending: str, trigger: str | None = None) -> Attempt:
    book = state.outcomes
    current = book.current
    assert current is not None
    micro = _cost_so_far(state, current["task"]) - int(current["micro_start"])
    attempt = {**current, "end": ts, "ending": ending, "trigger": trigger or current.get("flagged")}
    attempt["cost_usd"] = micro / MICRO if micro > 0 else None
    success = ending == "closed" and not current.get("flagged") and current.get("verified") != "fail"
    failure = ending == "escalated" or (ending == "closed" and not success)
    attempt["success"] = success
    book.current = None
    counted = bool(attempt["level"]) and attempt["role"] is None
    keys = _keys(attempt) if counted else []
    for key in keys:
        row = list(book.counts.get(key, [0, 0, 0, 0, 0, 0]))
        row[ATTEMPTS] += 1
        row[SUCCESSES] += int(success)
        row[FAILURES] += int(failure)
        row[ESCALATIONS] += int(ending == "escalated")
        if micro > 0:
            row[COST] += micro
            row[COSTED] += 1
        book.counts = {**book.counts, key: row}
    if ending == "closed":
        book.closed = {
            **book.closed,
            current["task"]: {
                "n": attempt["n"],
                "key": count_key(attempt["level"], attempt["tier"]) if counted else None,
                "keys": keys,
                "success": success,
                "reopened": False,
                "tier": attempt["tier"],
                "verified": current.get("verified"),
                "start": attempt["start"],
            },
        }
    return attempt


def _undo_success(state: WorkspaceState, task: str, ts: str, *, reopened: bool, verified: str | None) -> list[Attempt]:
    """A closed task's close did not hold (reopened) or its verification failed: the attempt
    that closed it is no longer a success."""
    book = state.outcomes
    _release(book, task)
    entry = book.closed.get(task)
    if entry is None or entry["reopened"]:
        return []
    change: Attempt = {"n": entry["n"]}
    if reopened:
        change.update(ending="reopened", reopened_at=ts)
    if verified:
        change["verified"] = verified
    was_success = bool(entry["success"])
    _detected(book, entry, was_success=was_success, verified=verified)
    if was_success and verified != "pass":
        change["success"] = False
        for key in entry.get("keys") or ([entry["key"]] if entry["key"] else []):
            row = list(book.counts[key])
            row[SUCCESSES] -= 1
            row[FAILURES] += 1
            book.counts = {**book.counts, key: row}
    if verified == "pass":
        book.closed = {**book.closed, task: {**entry, "verified": "pass"}}
        return [change]
    book.closed = {**book.closed, task: {**entry, "success": False, "reopened": reopened}}
    return [change]


def _shift_success(book: OutcomeBook, task: str, entry: dict[str, Any], *, held: bool) -> None:
    if entry["key"]:
        row = list(book.counts[entry["key"]])
        row[SUCCESSES] += -1 if held else 1
        book.counts = {**book.counts, entry["key"]: row}
    book.closed = {**book.closed, task: {**entry, "held": held}}


def _hold(book: OutcomeBook, task: str) -> None:
    """A successful close whose verification started does not count as a success until it ends."""
    entry = book.closed.get(task)
    if entry is not None and entry["success"] and not entry["reopened"] and not entry.get("held"):
        _shift_success(book, task, entry, held=True)


def _release(book: OutcomeBook, task: str) -> None:
    """The close held by its verification counts again (its verdict, a reopen, or no verdict decides next)."""
    entry = book.closed.get(task)
    if entry is not None and entry.get("held"):
        _shift_success(book, task, entry, held=False)


def _detected(book: OutcomeBook, entry: dict[str, Any], *, was_success: bool, verified: str | None) -> None:
    """Count what the verification stage caught and what it let through, per tier of the close:
    a failed verification of a close not yet accepted by one is caught; an accepted close (a
    success) that is reopened or fails a later verification was missed."""
    tier = entry.get("tier")
    if not tier or not was_success or verified == "pass":
        return
    caught = verified == "fail" and entry.get("verified") != "pass"
    row = list(book.detection.get(tier, [0, 0]))
    row[0 if caught else 1] += 1
    book.detection = {**book.detection, tier: row}


def _route(state: WorkspaceState, event: Event) -> list[Attempt]:
    if event.get("decision") in state.duplicates or not event.get("task") or not event.get("tier"):
        return []
    level = (event.get("complexity") or {}).get("level")
    return _begin(
        state,
        event,
        event["task"],
        event["tier"],
        model=event.get("model"),
        level=level,
        role=event.get("role"),
        session=None,
    )


def _session(state: WorkspaceState, event: Event) -> list[Attempt]:
    current = state.outcomes.current
    session = event.get("session")
    if event.get("event") == "end":
        if current is not None and session in current["sessions"]:
            state.outcomes.current = {**current, "stopped": event["ts"]}
        return []
    if event.get("event", "start") != "start" or event.get("source") in COST_ONLY_SOURCES or not session:
        return []
    task = event.get("task") or state.task
    tier = event.get("tier") or state.tier
    if not task or not tier:
        return []
    return _begin(
        state, event, task, tier, model=event.get("model"), level=None, role=event.get("role"), session=session
    )


def _exit(state: WorkspaceState, event: Event) -> list[Attempt]:
    current = state.outcomes.current
    if current is not None and event.get("session") in current["sessions"]:
        state.outcomes.current = {**current, "stopped": event["ts"]}
    return []


def _handoff(state: WorkspaceState, event: Event) -> list[Attempt]:
    if event.get("step") != "spawned" or event.get("status", "done") != "done":
        return []
    handoff = state.handoffs.get(str(event.get("handoff")))
    tier = event.get("to_tier") or (handoff.to_tier if handoff else None)
    task = event.get("task") or state.task
    if not task or not tier:
        return []
    level = (event.get("complexity") or {}).get("level") or (
        (handoff.fields.get("complexity") or {}) if handoff else {}
    ).get("level")
    return _begin(
        state,
        event,
        task,
        tier,
        model=event.get("model"),
        level=level,
        role=event.get("role"),
        session=event.get("session"),
    )


def _decision(state: WorkspaceState, event: Event) -> list[Attempt]:
    if event.get("cause") and event["cause"] in state.causes:
        return []  # a duplicate of a decision another clone made: it changes nothing
    current = state.outcomes.current
    kind, trigger, status = event.get("kind"), event.get("trigger"), event.get("status", "applied")
    if status in ("skipped", "rejected"):
        return []
    if current is not None and event.get("task") in (None, current["task"]):
        if kind == "escalation":
            state.outcomes.current = {**current, "move": {"kind": "escalation", "trigger": trigger, "id": event["id"]}}
        elif kind in PLANNED_MOVES:
            state.outcomes.current = {**current, "move": {"kind": kind, "trigger": trigger, "id": event["id"]}}
        elif kind in RAISES_FLAG and fails_attempt(event):
            state.outcomes.current = {**current, "flagged": trigger}
    if kind == "continue" and event.get("next_task") and state.tier:
        level = (event.get("complexity") or {}).get("level")
        return _begin(
            state, event, event["next_task"], state.tier, model=state.model, level=level, role=None, session=None
        )
    return []


def _decision_status(state: WorkspaceState, event: Event) -> list[Attempt]:
    current = state.outcomes.current
    if current is None or event.get("status") != "rejected":
        return []
    if (current.get("move") or {}).get("id") == event.get("decision"):
        state.outcomes.current = {**current, "move": None}
    return []


def _task(state: WorkspaceState, event: Event) -> list[Attempt]:
    task, status = event.get("task"), event.get("status")
    current = state.outcomes.current
    running = current is not None and current["task"] == task
    if status == "closed" or event.get("event") == "close":
        return [_end(state, event["ts"], "closed")] if running else []
    if status in GONE:
        return [_end(state, event["ts"], "abandoned")] if running else []
    if status is not None and task in state.outcomes.closed:
        return _undo_success(state, str(task), event["ts"], reopened=True, verified=None)
    return []


def _reopen(state: WorkspaceState, event: Event) -> list[Attempt]:
    return _undo_success(state, str(event["task"]), event["ts"], reopened=True, verified=None)


def _verification(state: WorkspaceState, event: Event) -> list[Attempt]:
    task, result = str(event["task"]), str(event["result"])
    book = state.outcomes
    closing = book.closed.get(task)
    attempt = event.get("attempt")
    book.verifications = {
        **book.verifications,
        task: {
            "result": result,
            "attempt": attempt if isinstance(attempt, int) else (closing or {}).get("n"),
            "tier": event.get("tier") or (closing or {}).get("tier"),
            "ts": event["ts"],
            "id": event["id"],
            "note": event.get("note"),
            "source": event.get("source"),
            # Recorded by this clone and worktree: only such a verdict reopens the task from here.
            "here": written_here(state, event),
            # The last lines of a failed check's output, for the escalation's packet (the last few).
            "output": (event.get("output") or [])[-10:] if result == "fail" else None,
            "commands": event.get("commands") if result == "pending" else None,  # what it runs
            "review": event.get("review") if result == "pending" else None,  # the reviewer's tier
        },
    }
    if isinstance(attempt, int):  # the tick's verification: of one close
        if closing is None or closing["n"] != attempt:
            return []  # of an earlier close of the task (it was closed again since)
        if result == "pending":
            _hold(book, task)
            return []
        _release(book, task)
        if result == "error":
            return []  # failed to run: no verdict, the close counts as it stands
        return _undo_success(state, task, event["ts"], reopened=False, verified=result)
    if result not in ("pass", "fail"):
        return []
    current = state.outcomes.current
    if current is not None and current["task"] == task:
        state.outcomes.current = {**current, "verified": result}
        return [{"n": current["n"], "verified": result}]
    return _undo_success(state, task, event["ts"], reopened=False, verified=result)


OBSERVERS: dict[str, Callable[[WorkspaceState, Event], list[Attempt]]] = {
    "route": _route,
    "session": _session,
    "exit": _exit,
    "handoff": _handoff,
    "decision": _decision,
    "decision_status": _decision_status,
    "task": _task,
    "reopen": _reopen,
    "verification": _verification,
}


def _ends_a_task(event: Event) -> bool:
    """A task's close or removal: it ends whoever's attempt works that task, whichever clone saw it."""
    return event["type"] == "task" and (
        event.get("status") == "closed" or event.get("event") == "close" or event.get("status") in GONE
    )


def observe(state: WorkspaceState, event: Event, *, mine: bool = True) -> list[Attempt]:
    """Update ``state.outcomes`` for ``event`` (before its reducer runs); the attempts that began,
    ended or changed (a change is a partial record with the attempt's ``n``). ``mine``: the event
    is this worktree's own (``ledger.ownership.owns``); else another agent's. A task event is
    about the task, whoever works it; a verification, about the close it checks."""
    observer = OBSERVERS.get(event["type"])
    if observer is None:
        return []
    if event["type"] == "verification" and event.get("result") == "pending" and not written_here(state, event):
        return []  # a verification started elsewhere is that clone's to run: never started here
    if event["type"] in ("task", "reopen", "verification"):
        found = observer(state, event)
        if _ends_a_task(event):
            for key, attempt in sorted(state.outcomes.others.items()):
                if attempt["task"] == event.get("task"):
                    found += _as_teammate(state, event, observer, key)
        return found
    if mine:
        return observer(state, event)
    return _as_teammate(state, event, observer, teammate(event))


def _as_teammate(
    state: WorkspaceState, event: Event, observer: Callable[[WorkspaceState, Event], list[Attempt]], key: str
) -> list[Attempt]:
    """Run ``observer`` on another agent's running attempt: for its duration the book's current
    attempt, and the task and tier that an event without them falls back to, are that agent's."""
    book = state.outcomes
    mine = book.current
    saved = (state.task, state.tier, state.model, state.complexity)
    theirs = book.others.get(key)
    book.current = theirs
    state.task = theirs["task"] if theirs else None
    state.tier = theirs["tier"] if theirs else None
    state.model = theirs["model"] if theirs else None
    state.complexity = None
    try:
        return observer(state, event)
    finally:
        others = {name: attempt for name, attempt in book.others.items() if name != key}
        if book.current is not None:
            others[key] = book.current
        book.others = others
        book.current = mine
        state.task, state.tier, state.model, state.complexity = saved
