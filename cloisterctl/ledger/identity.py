"""Who this worktree is: its agent, this clone and this worktree, for the fold and for every event.

- ``blank``: the empty state a fold of this workspace starts from (``ledger.ownership``): the
  agent the worktree hosts (``workspace.origin.hosted_agent``, which ``init --agent`` records in
  the worktree's private git directory, where no merge reaches), else -- a 0.1.0 workspace, a
  worktree not given an agent yet -- the work tree's name until an ``init`` event of this clone
  and worktree (or a legacy one) names one.
- ``stamp``: the origin every event this clone records carries (``clone``, ``worktree``).
- ``key``: what a fold made for this identity is cached under (a cache or checkpoint of another
  is refolded).
- ``prove`` and ``vouch``: the clone id is in every committed event, so anyone can write a line
  that claims it. Every line this clone commits carries ``proof``, an HMAC of the line under the
  clone's secret (``workspace.origin.clone_secret``, never committed): an order (a decision, its
  approval, a handoff) and every fact a rule reads (a test run, an exit, a session, activity, a
  verification). A reader that meets a committed line claiming this clone without a valid proof
  reads it as another's (``clone`` becomes ``unproven``) and reports it, so a forged line is
  history to show: it neither is carried out here nor drives this agent's triggers. The spool
  (``.cloister/local/``, never committed) is not vouched for: only this machine writes it, and the
  hooks, which must stay light, write it unsigned; its lines are signed when promoted to the
  ledger (``ledger.spool``).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Sequence

import msgspec

from cloisterctl.errors import WorkspaceError
from cloisterctl.ledger.events import Event, encode
from cloisterctl.ledger.ownership import ORDERS
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.workspace import origin
from cloisterctl.workspace.layout import Workspace


def blank(ws: Workspace) -> WorkspaceState:
    """The empty state of this worktree; one with no origin (every event its own) where there is no
    git work tree (the machine-wide pseudo-workspace `cost --all` keeps its records in)."""
    root = str(ws.root)
    try:
        hosted = origin.hosted_agent(root)
        clone, worktree = origin.clone_id(root), origin.worktree_name(root)
    except WorkspaceError:
        return WorkspaceState(agent=ws.default_agent)
    return WorkspaceState(agent=hosted or ws.default_agent, clone=clone, worktree=worktree, pinned=hosted is not None)


def key(ws: Workspace) -> str:
    state = blank(ws)
    return f"{state.agent}{'' if state.pinned else '?'}@{state.clone or '-'}/{state.worktree or '-'}"


def stamp(ws: Workspace, events: Iterable[Event]) -> None:
    """Give each event this clone's and worktree's origin (an event that has one keeps it); none
    where there is no git work tree."""
    state = blank(ws)
    if state.clone is None or state.worktree is None:
        return
    found = {"clone": state.clone, "worktree": state.worktree}
    for event in events:
        for name, value in found.items():
            event.setdefault(name, value)


UNPROVEN = "unproven"  # the clone of a line that claimed this one without its proof
_CANONICAL = msgspec.json.Encoder(order="sorted")  # keys sorted: the bytes of equal events agree


def _proof(secret: bytes, event: Event) -> str:
    """The HMAC of the line's canonical bytes without its proof; "" when it has none (a string no
    encoding can carry). Every reader's full refold checks one per line of this clone, hence
    msgspec (half the time of ``json.dumps``) on the line as read back (``_as_read``)."""
    body = {name: value for name, value in event.items() if name != "proof"}
    try:
        return hmac.digest(secret, _CANONICAL.encode(body), "sha256").hex()[:32]
    except (msgspec.EncodeError, UnicodeEncodeError, TypeError, OverflowError):
        return ""


def _proven(secret: bytes, event: Event) -> bool:
    expected = _proof(secret, event)
    return bool(expected) and hmac.compare_digest(str(event.get("proof") or ""), expected)


def _as_read(event: Event) -> Event:
    """The event as a reader will parse it from its line (a datetime or tuple made plain)."""
    parsed: Event = json.loads(encode(event))
    return parsed


def _mine(ws: Workspace) -> tuple[str, bytes] | None:
    try:
        root = str(ws.root)
        return origin.clone_id(root), origin.clone_secret(root)
    except (WorkspaceError, OSError):
        return None


def prove(ws: Workspace, events: Iterable[Event]) -> None:
    """Sign each line of this clone in ``events`` (its final form: call it just before writing)."""
    batch = [event for event in events if event.get("clone")]
    found = _mine(ws) if batch else None
    if found is None:
        return
    clone, secret = found
    for event in batch:
        if event.get("clone") == clone:
            event["proof"] = _proof(secret, _as_read(event))


def vouch(ws: Workspace, events: Sequence[Event]) -> list[str]:
    """Read every line of ``events`` (committed lines) that claims this clone without a valid proof
    as another's (in place); one problem line naming them, or none."""
    claims = [event for event in events if event.get("clone")]
    found = _mine(ws) if claims else None
    if found is None:
        return []
    clone, secret = found
    forged = [event for event in claims if event["clone"] == clone and not _proven(secret, event)]
    for event in forged:
        event["clone"] = UNPROVEN
    if not forged:
        return []
    shown = ", ".join(str(event["id"]) for event in forged[:5]) + (" ..." if len(forged) > 5 else "")
    orders = sum(event.get("type") in ORDERS for event in forged)
    which = f"{len(forged)} line(s)" + (f", {orders} of them order(s)," if orders else "")
    return [f"{which} claim this clone without its proof (read as another's: never acted on here): {shown}"]
