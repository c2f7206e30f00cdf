"""Recording and applying decisions: from triggers, from `approve`/`reject`, and from a manual handoff.

Applying a tier change to an agent that has a session means a handoff (kill-and-spawn, through the
one handoff engine); an agent that was never started just gets its tier changed for its next spawn.
``approve`` starts the handoff under the tick lock, like tick and `handoff`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.errors import CloisterError
from cloisterctl.handoff import machine
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.decisions import TIER_CHANGES
from cloisterctl.ledger.events import Event, make_event
from cloisterctl.ledger.fold import Decision, WorkspaceState
from cloisterctl.models.tiers import normalise_model_id, tier_rank
from cloisterctl.triggers.cause import Cause
from cloisterctl.triggers.guards import status_for
from cloisterctl.triggers.rules import Inputs, Proposal, tier_change
from cloisterctl.triggers.specs import BY_NAME


def decision_events(state: WorkspaceState, now: datetime, proposals: list[Proposal]) -> list[Event]:
    """The proposals as decision events (their ids are the decision ids), each with what the fold
    needs of the flag it raises, if it raises one (``TriggerSpec.flag_fields``)."""
    return [
        make_event(
            "decision",
            state.agent,
            now,
            **p.event_fields(),
            **(BY_NAME[p.trigger].flag_fields(p.kind) if p.trigger in BY_NAME else {}),
            status=status_for(p),
        )
        for p in proposals
    ]


def apply_events(
    state: WorkspaceState, config: Config, now: datetime, decision: Decision, *, mark_applied: bool
) -> tuple[list[Event], str | None]:
    """The events that carry out an applied (or approved) tier change, and the handoff id they start."""
    if decision.to_tier is None or decision.kind not in TIER_CHANGES:
        return [], None
    task = decision.fields.get("next_task") or decision.task
    if state.session is None:
        # Nothing is running: the next spawn starts on the new tier.
        events = [
            make_event(
                "route",
                state.agent,
                now,
                task=task or state.task,
                tier=decision.to_tier,
                model=decision.fields.get("to_model") or config.tier_model(decision.to_tier),
                rule=f"decision {decision.trigger}",
                role=decision.fields.get("to_role"),
                reasons=[decision.reason],
                decision=decision.id,
                complexity=decision.fields.get("complexity"),
            )
        ]
        if mark_applied:
            events.append(make_event("decision_status", state.agent, now, decision=decision.id, status="applied"))
        return events, None
    handoff_id, events = machine.start_events(
        state,
        config,
        now,
        decision=decision.id,
        mark_applied=mark_applied,
        trigger=decision.trigger,
        reason=decision.reason,
        to_tier=decision.to_tier,
        to_model=decision.fields.get("to_model"),
        to_role=decision.fields.get("to_role"),
        task=task,
        complexity=decision.fields.get("complexity"),
    )
    return events, handoff_id


def apply(ctx: Context, decision: Decision, *, mark_applied: bool) -> str | None:
    """Carry out a tier change now; returns the handoff id when one started."""
    events, started = apply_events(ctx.state, ctx.config, ctx.clock(), decision, mark_applied=mark_applied)
    ctx.append(events)
    if started is not None:
        ctx.maybe_crash("requested", "done")
    return started


def find(state: WorkspaceState, prefix: str) -> Decision:
    """A decision by id or unique id prefix."""
    matches = [d for d in state.decisions.values() if d.id.startswith(prefix)]
    if not matches:
        raise CloisterError(f"no decision {prefix!r} in the ledger (`cloisterctl status` lists pending ones)")
    if len(matches) > 1:
        raise CloisterError(f"{prefix!r} matches {len(matches)} decisions; give more of the id")
    return matches[0]


def _proposed(ctx: Context, prefix: str) -> Decision:
    decision = find(ctx.state, prefix)
    if decision.status != "proposed":
        raise CloisterError(f"decision {decision.id} is {decision.status}, not waiting for approval")
    return decision


def _status_event(ctx: Context, decision: Decision, status: str, **fields: Any) -> Event:
    return make_event("decision_status", ctx.state.agent, ctx.clock(), decision=decision.id, status=status, **fields)


def approve(ctx: Context, prefix: str) -> dict[str, Any]:
    """Apply a decision that waits for approval, and start its handoff."""
    with ctx.tick_lock():
        ctx.preflight()
        decision = _proposed(ctx, prefix)
        ctx.append([_status_event(ctx, decision, "approved")])
        started = apply(ctx, dataclasses.replace(decision, status="approved"), mark_applied=True)
        if started is not None:
            machine.advance(ctx, started, wait=False)
        ctx.publish()
    return {"decision": decision.id, "status": "approved", "handoff": started, "summary": decision.summary()}


def reject(ctx: Context, prefix: str, reason: str | None) -> dict[str, Any]:
    decision = _proposed(ctx, prefix)
    ctx.preflight()
    ctx.append([_status_event(ctx, decision, "rejected", reason=reason)])
    ctx.publish()
    return {"decision": decision.id, "status": "rejected"}


def manual(ctx: Context, to: str, reason: str) -> Proposal:
    """The decision behind `cloisterctl handoff --to TIER|MODEL`: recorded like a trigger's, with the
    economics of a downgrade (shown, not enforced: a person asked for it)."""
    state, config = ctx.state, ctx.config
    if state.tier is None:
        raise CloisterError("this agent has no tier yet; `cloisterctl spawn TASK` starts one")
    role = to if to in config.roles else None
    to_tier = config.role_tier(to) if role else config.tier_of(to)
    assert to_tier is not None
    to_model = None if role or to == to_tier else to
    if to_tier == state.tier and normalise_model_id(to_model or config.tier_model(to_tier)) == normalise_model_id(
        state.model or ""
    ):
        raise CloisterError(
            f"agent {state.agent} already runs on {to_tier} ({state.model}); a handoff would end its session "
            "and throw its prompt cache away for nothing"
        )
    now = ctx.clock()
    inputs = Inputs(state, {}, config, config.prices, now)
    cause = Cause("manual", since=now.isoformat()).format()
    proposal = tier_change(inputs, "manual", cause, state.task, to_tier, reason, to_role=role)
    kind = proposal.kind if tier_rank(to_tier) != tier_rank(state.tier) else "lateral"
    return Proposal(**{**proposal.__dict__, "kind": kind, "skipped": False, "to_model": to_model or proposal.to_model})
