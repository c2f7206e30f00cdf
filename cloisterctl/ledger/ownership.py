"""Whose event is it: what of the ledger is this worktree's agent's own, and what is history. Pure.

Every event this clone records carries its origin: ``clone`` (the clone's random id) and
``worktree`` (the worktree's name), ``workspace.origin``. A team's ledger holds the events of
every clone and worktree that ever merged into it; a fold (``ledger.fold.apply``) is made for one
worktree (``WorkspaceState.clone``/``worktree``/``agent``) and reads each event as one of:

- **own** (``owns``): written in this clone and worktree. Only own events change the agent's
  situation: its session, tier, task, flags, handoffs, decisions, activity and tests, the running
  attempt, the cost of this workspace (``cost_totals``). The worktree is the unit, not the agent's
  name: a helper session of this work tree, or the agent before a rename, is the worktree's own.
- **history**: everything else. It still feeds what is everyone's: task records, cost checkpoints
  and spending by agent and task, the per-session aggregates, each other agent's attempts
  (``ledger.attempts``) and what each teammate last reported (``note_teammate``: shown by
  `status` and `agents`, "on <clone>", never as dead).

**Legacy lines** (written before events carried an origin, by 0.1.0) are read as this worktree's
own when they name its agent (or none), so a 0.1.0 workspace keeps working after the upgrade --
but only those dated before the first line this worktree recorded with an origin: once it has
written one, a line without is another's (forged or a 0.1.0 teammate's), history.
The exception is what *acts* (``ORDERS``: decisions, their approvals and handoffs): those are
carried out only when this clone and worktree recorded them, so a line with no origin, or
another clone's, is history to show, never an order. A fold with no origin (``clone`` None:
folds of bare event lists, replay) reads every event as its own, as 0.1.0 did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloisterctl.ledger.state import WorkspaceState

# What is carried out when folded: only this clone's and worktree's own lines may be.
ORDERS = frozenset({"decision", "decision_status", "handoff"})
ORIGIN_FIELDS = ("clone", "worktree")
# What a teammate's entry keeps of its events (the latest of each).
NOTED = ("tier", "task", "model")


def has_origin(event: dict[str, Any]) -> bool:
    return any(event.get(name) for name in ORIGIN_FIELDS)


def written_here(state: WorkspaceState, event: dict[str, Any]) -> bool:
    """Recorded by this clone in this worktree (strictly: a legacy line is not)."""
    if state.clone is None:
        return True
    return event.get("clone") == state.clone and event.get("worktree") == state.worktree


def same_place(state: WorkspaceState, event: dict[str, Any]) -> bool:
    """Recorded here, or a legacy line (which is read as it was)."""
    return not has_origin(event) or written_here(state, event)


def legacy_is_mine(state: WorkspaceState, event: dict[str, Any]) -> bool:
    """A line with no origin may be this worktree's own only until the fold meets the first line
    this clone and worktree recorded with one (``WorkspaceState.stamped``): after the upgrade,
    every line this worktree writes has an origin, so a later one without is someone else's."""
    return not has_origin(event) and not state.stamped


def owns(state: WorkspaceState, event: dict[str, Any]) -> bool:
    """Whether ``event`` is this worktree's own and may change its agent's situation: written in
    this clone and worktree (whatever agent it names: a helper session in this work tree, the agent
    before a rename); or a legacy line naming this agent (or none), not an order, dated before
    this worktree's first line with an origin (``legacy_is_mine``)."""
    if state.clone is None:
        return True
    if has_origin(event):
        return written_here(state, event)
    if event.get("type") in ORDERS or not legacy_is_mine(state, event):
        return False
    agent = event.get("agent") or ""
    return not agent or agent == state.agent


def place(event: dict[str, Any]) -> str | None:
    """``clone/worktree`` of a line with an origin."""
    return f"{event.get('clone')}/{event.get('worktree')}" if has_origin(event) else None


def elsewhere(state: WorkspaceState, session: str) -> bool:
    """Whether the ledger names ``session`` as started in another clone or worktree: what only its
    own place can report (its transcript's cost, its process)."""
    if state.clone is None:
        return False
    known = state.cold.session_places.get(session)
    return known is not None and known != f"{state.clone}/{state.worktree}"


def started_here(state: WorkspaceState) -> bool:
    """Whether this clone started the agent's current session: only then may it assert what only
    its machine can see (the process gone, its exit code: ``tick``)."""
    return state.clone is None or (state.session is not None and state.session_clone == state.clone)


def teammate(event: dict[str, Any]) -> str:
    """The key of the agent an event of history is about: ``agent@clone/worktree`` (``?`` for a
    part a legacy line does not say)."""
    return f"{event.get('agent') or '?'}@{event.get('clone') or '?'}/{event.get('worktree') or '?'}"


def note_teammate(state: WorkspaceState, event: dict[str, Any], *, mine: bool) -> None:
    """Keep what another agent last reported (a new record each time: copies share the old). An
    ``init`` renames its worktree's agent: what the old name reported there is forgotten."""
    mates = state.teammates
    if event["type"] == "init" and has_origin(event):
        place = (event.get("clone"), event.get("worktree"))
        mates = {name: seen for name, seen in mates.items() if (seen.get("clone"), seen.get("worktree")) != place}
        state.teammates = mates
    if mine or not event.get("agent"):
        return  # this agent's own, or a hook of another work tree naming no agent: no one to note
    key = teammate(event)
    entry = dict(mates.get(key) or {})
    entry.update(
        agent=event["agent"],
        clone=event.get("clone"),
        worktree=event.get("worktree"),
        ts=event["ts"],
        last=event["type"],
    )
    for name in NOTED:
        if event.get(name):
            entry[name] = event[name]
    kind = event["type"]
    if kind == "session" and event.get("source") not in ("hook", "review", "transcript"):
        if event.get("event") == "end":
            entry.pop("session", None)
        elif event.get("session"):
            entry["session"] = event["session"]
        entry.pop("exited", None)
    elif kind == "exit":
        entry["exited"] = str(event.get("how") or "exited")
    elif kind == "handoff":
        entry["handoff"] = {"id": event.get("handoff"), "step": event.get("step"), "status": event.get("status")}
    elif kind == "decision":
        entry["decision"] = {"id": event["id"], "kind": event.get("kind"), "status": event.get("status")}
    state.teammates = {**mates, key: entry}
