"""Guards on every trigger, and the evaluation that applies them. Pure.

Each cause fires once; nothing new while a handoff is in flight or a decision awaits approval; a
trigger that speaks for a closed task drops another's decision on it (``TriggerSpec.speaks_for``);
at most one tier change per evaluation; tier changes wait out the per-agent cooldown (when their
spec says so); escalations beyond ``max_escalations`` for a task become a flag; tier changes of
the kinds listed in ``require_approval`` are only proposed (when their spec says so; never a
decision that changes no tier: continue, idle, a flag, a cost-bleed stop, a budget's flag or stop).

The rules are the registered triggers' (``triggers.specs.TRIGGERS``), evaluated in its order.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cloisterctl.ledger.decisions import TIER_CHANGES
from cloisterctl.ledger.events import parse_ts
from cloisterctl.triggers.cause import Cause
from cloisterctl.triggers.rules import Inputs, Proposal
from cloisterctl.triggers.specs import BY_NAME, TRIGGERS


def _needs_approval(proposal: Proposal, setting: Any) -> bool:
    if proposal.kind not in TIER_CHANGES or proposal.skipped or not BY_NAME[proposal.trigger].approval:
        return False  # no tier change: nothing to approve (a bleed stop must not wait for a person)
    if setting is True:
        return True
    if not setting:
        return False
    kinds = set(setting)
    if "all" in kinds or proposal.kind in kinds:
        return True
    if "escalate_to_opus" in kinds and proposal.to_tier == "opus":
        return True
    return "downgrade_from_opus" in kinds and proposal.from_tier == "opus" and proposal.kind == "downgrade"


def evaluate(inputs: Inputs) -> list[Proposal]:
    """Every decision to record now: at most one tier change, plus flags and skipped downgrades."""
    state, config = inputs.state, inputs.config
    if state.handoff_in_flight is not None or state.pending_approvals:
        return []
    guards = config.guards
    cooldown = timedelta(minutes=guards.cooldown_minutes)
    cooling = state.last_tier_change is not None and inputs.now - parse_ts(state.last_tier_change) < cooldown
    proposals = [p for spec in TRIGGERS for p in spec.rule(inputs) if p.cause not in state.causes]
    # One decision per closed task: a plan or implement task's own trigger speaks for it.
    decided_now = {p.cause for p in proposals}
    proposals = [p for p in proposals if not _spoken_for(p, state.causes, decided_now)]
    decided: list[Proposal] = []
    changed_tier = False
    for proposal in proposals:
        if proposal.changes_tier:
            if changed_tier or (cooling and BY_NAME[proposal.trigger].cooldown):
                continue  # deferred: evaluated again on a later tick
            done = state.escalations.get(proposal.task or "", 0)
            if proposal.kind == "escalation" and done >= guards.max_escalations:
                proposal = Proposal(
                    proposal.trigger,
                    proposal.cause,
                    "flag",
                    f"{proposal.reason}; not escalated: {done} escalations already for this task",
                    task=proposal.task,
                    from_tier=proposal.from_tier,
                )
            else:
                changed_tier = True
        decided.append(_with_approval(proposal, guards.require_approval))
    return decided


def _spoken_for(proposal: Proposal, *decided: set[str]) -> bool:
    """Whether another trigger decides (now or before) on the closed task ``proposal`` is about."""
    if proposal.task is None:
        return False
    for spec in TRIGGERS:
        if proposal.trigger in spec.speaks_for:
            cause = Cause(spec.name, about=proposal.task).format()
            if any(cause in causes for causes in decided):
                return True
    return False


def _with_approval(proposal: Proposal, setting: Any) -> Proposal:
    if not _needs_approval(proposal, setting):
        return proposal
    return Proposal(**{**proposal.__dict__, "needs_approval": True})


def status_for(proposal: Proposal) -> str:
    if proposal.needs_approval:
        return "proposed"
    if proposal.kind == "flag":
        return "flagged"
    if proposal.skipped:
        return "skipped"
    return "applied"
