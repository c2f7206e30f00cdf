"""Recording and applying decisions: from triggers, from `approve`/`reject`, and from a manual handoff.

Applying a tier change to an agent that has a session means a handoff (kill-and-spawn, through the
one handoff engine); an agent that was never started just gets its tier changed for its next spawn.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cloisterctl import handoff, ledger
from cloisterctl.errors import CloisterError
from cloisterctl.ledger import Event
from cloisterctl.state import Decision, WorkspaceState
from cloisterctl.store import append, snapshot
from cloisterctl.tiers import tier_rank
from cloisterctl.triggers import Proposal


def status_for(proposal: Proposal) -> str:
    if proposal.needs_approval:
        return "proposed"
    if proposal.kind == "flag":
        return "flagged"
    if proposal.skipped:
        return "skipped"
    return "applied"


def record(engine: handoff.Engine, state: WorkspaceState, proposals: list[Proposal]) -> list[Event]:
    """Write the proposals as decision events; returns them (their ids are the decision ids)."""
    events = [
        ledger.make_event("decision", state.agent, engine.clock(), **p.event_fields(), status=status_for(p))
        for p in proposals
    ]
    if events:
        append(engine.ws, events, timeout=engine.config.lock_timeout)
    return events


def apply(engine: handoff.Engine, decision: Decision, *, mark_applied: bool) -> str | None:
    """Carry out an applied (or approved) tier change; returns the handoff id when one started."""
    state = snapshot(engine.ws).state
    if decision.to_tier is None or decision.kind not in ("escalation", "downgrade", "upgrade", "lateral"):
        return None
    task = decision.fields.get("next_task") or decision.task
    if state.session is None:
        # Nothing is running: the next spawn starts on the new tier.
        events = [
            ledger.make_event(
                "route",
                state.agent,
                engine.clock(),
                task=task or state.task,
                tier=decision.to_tier,
                model=decision.fields.get("to_model") or engine.config.tier_model(decision.to_tier),
                rule=f"decision {decision.trigger}",
                role=decision.fields.get("to_role"),
                reasons=[decision.reason],
            )
        ]
        if mark_applied:
            events.append(
                ledger.make_event(
                    "decision_status", state.agent, engine.clock(), decision=decision.id, status="applied"
                )
            )
        append(engine.ws, events, timeout=engine.config.lock_timeout)
        return None
    return handoff.start(
        engine,
        state,
        decision=decision.id,
        mark_applied=mark_applied,
        trigger=decision.trigger,
        reason=decision.reason,
        to_tier=decision.to_tier,
        to_model=decision.fields.get("to_model"),
        to_role=decision.fields.get("to_role"),
        task=task,
    )


def find(state: WorkspaceState, prefix: str) -> Decision:
    """A decision by id or unique id prefix."""
    matches = [d for d in state.decisions.values() if d.id.startswith(prefix)]
    if not matches:
        raise CloisterError(f"no decision {prefix!r} in the ledger (`cloisterctl status` lists pending ones)")
    if len(matches) > 1:
        raise CloisterError(f"{prefix!r} matches {len(matches)} decisions; give more of the id")
    return matches[0]


def _proposed(engine: handoff.Engine, prefix: str) -> Decision:
    decision = find(snapshot(engine.ws).state, prefix)
    if decision.status != "proposed":
        raise CloisterError(f"decision {decision.id} is {decision.status}, not waiting for approval")
    return decision


def _set_status(engine: handoff.Engine, decision: Decision, status: str, **fields: Any) -> None:
    event = ledger.make_event(
        "decision_status",
        snapshot(engine.ws).state.agent,
        engine.clock(),
        decision=decision.id,
        status=status,
        **fields,
    )
    append(engine.ws, [event], timeout=engine.config.lock_timeout)


def approve(engine: handoff.Engine, prefix: str) -> dict[str, Any]:
    decision = _proposed(engine, prefix)
    _set_status(engine, decision, "approved")
    started = apply(engine, dataclasses.replace(decision, status="approved"), mark_applied=True)
    if started is not None:
        handoff.advance(engine, started, wait=False)
    return {"decision": decision.id, "status": "approved", "handoff": started, "summary": decision.summary()}


def reject(engine: handoff.Engine, prefix: str, reason: str | None) -> dict[str, Any]:
    decision = _proposed(engine, prefix)
    _set_status(engine, decision, "rejected", reason=reason)
    return {"decision": decision.id, "status": "rejected"}


def manual(engine: handoff.Engine, to: str, reason: str) -> Proposal:
    """The decision behind `cloisterctl handoff --to TIER|MODEL`: recorded like a trigger's, with the
    economics of a downgrade (shown, not enforced: a person asked for it)."""
    from cloisterctl.triggers import Inputs, tier_change

    state = snapshot(engine.ws).state
    config = engine.config
    if state.tier is None:
        raise CloisterError("this agent has no tier yet; `cloisterctl spawn TASK` starts one")
    role = to if to in config.get("roles") else None
    to_tier = config.role_tier(to) if role else config.tier_of(to)
    assert to_tier is not None
    to_model = None if role or to == to_tier else to
    from cloisterctl.routing import prices_for

    inputs = Inputs(state, {}, config, prices_for(config), engine.clock())
    proposal = tier_change(
        inputs, "manual", f"manual:{engine.clock().isoformat()}", state.task, to_tier, reason, to_role=role
    )
    kind = proposal.kind if tier_rank(to_tier) != tier_rank(state.tier) else "lateral"
    return Proposal(**{**proposal.__dict__, "kind": kind, "skipped": False, "to_model": to_model or proposal.to_model})
