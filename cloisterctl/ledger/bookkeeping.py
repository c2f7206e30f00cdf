"""Which events are worth a commit of their own, and which are bookkeeping that rides along.

A team reviews cloisterctl's commits, so each one must say that something was decided or done:
a decision, an approval or rejection, a handoff begun or ended, and what a person did by hand
(``route --record``, ``spawn``, ``stop``, ``flags clear``, ``outcomes verify``, ``complexity
set``, ``init``), a verification's verdict, and an agent's process found gone (``exit``).
Everything else is bookkeeping -- cost checkpoints, budget warnings, usage, activity, test runs,
task changes, sessions that hooks saw start, briefs, and the steps of a handoff between its start and its end: with
``tick.commit`` on it waits in the machine-local spool (folded by every reader) and rides the
next commit of its own (``ledger.commit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cloisterctl.ledger.events import Event

OWN_COMMIT = frozenset(
    {"decision", "decision_status", "route", "flag_cleared", "verification", "complexity", "init", "exit"}
)
# The steps of a handoff that a reviewer needs: it began, and how it ended.
HANDOFF_ENDS = frozenset({"requested", "completed", "failed"})
BY_HAND = "spawn"  # the source of the session events `spawn` and `stop` record


def own_commit(event: Event, batch: Iterable[Event] = ()) -> bool:
    """Whether ``event`` (recorded with ``batch``) is worth a commit of its own (see above). A
    session started or ended by hand is; one a handoff step starts or ends is that step's."""
    kind = event["type"]
    if kind == "handoff":
        return event.get("step") in HANDOFF_ENDS
    if kind == "verification":
        return event.get("result") != "pending"  # its verdict is the news; a start rides along
    if kind == "session":
        return event.get("source") == BY_HAND and not any(other["type"] == "handoff" for other in batch)
    return kind in OWN_COMMIT


def is_bookkeeping(events: Sequence[Event]) -> bool:
    """No event of the batch ``events`` is worth a commit of its own (none at all: bookkeeping too)."""
    return not any(own_commit(event, events) for event in events)
