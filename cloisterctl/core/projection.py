"""The projections of the folded state that people read: STATE.md's ``cloister:`` block and its
cost summary. Pure and deterministic, so a second tick with nothing new writes identical bytes.
"""

from __future__ import annotations

import copy
from typing import Any

from cloisterctl.core.fold import WorkspaceState


def cost_summary(state: WorkspaceState) -> dict[str, Any] | None:
    """The cost block of STATE.md, summed over the latest checkpoint of every session."""
    key = state.applied  # not the last timestamp: two events may share one
    if state.summary_memo is not None and state.summary_memo[0] == key:
        return copy.deepcopy(state.summary_memo[1])  # type: ignore[no-any-return]
    summary = _cost_summary(state)
    state.summary_memo = (key, summary)
    return copy.deepcopy(summary)


def _cost_summary(state: WorkspaceState) -> dict[str, Any] | None:
    if not state.cost_checkpoints:
        return None
    total = 0.0
    by_model: dict[str, float] = {}
    by_tier: dict[str, float] = {}
    tokens = {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0}
    for checkpoint in state.cost_checkpoints.values():
        total += float(checkpoint.get("usd", 0.0))
        for model, usd in (checkpoint.get("by_model") or {}).items():
            by_model[model] = by_model.get(model, 0.0) + float(usd)
        for tier, usd in (checkpoint.get("by_tier") or {}).items():
            by_tier[tier] = by_tier.get(tier, 0.0) + float(usd)
        for kind in tokens:
            tokens[kind] += int((checkpoint.get("tokens") or {}).get(kind, 0))
    denominator = tokens["input"] + tokens["cache_write"] + tokens["cache_read"]
    summary = {
        "total_usd": round(total, 4),
        "by_model": {k: round(v, 4) for k, v in sorted(by_model.items())},
        "by_tier": {k: round(v, 4) for k, v in sorted(by_tier.items())},
        "tokens": tokens,
        "cache_hit_rate": round(tokens["cache_read"] / denominator, 4) if denominator else None,
    }
    # Sessions whose transcript shows two models (target 0, DESIGN §6); shown only when there are some.
    switches = sum(1 for checkpoint in state.cost_checkpoints.values() if checkpoint.get("mid_session_switch"))
    if switches:
        summary["mid_session_switches"] = switches
    return summary


def front_matter(state: WorkspaceState) -> dict[str, Any]:
    """The ``cloister:`` block of STATE.md: a projection of the folded ledger. Deterministic, so a
    second tick with nothing new writes identical bytes (and so writes nothing)."""
    block: dict[str, Any] = {"agent": state.agent, "status": state.status}
    if state.idle is not None:
        block["idle_reason"] = state.idle["reason"]
    if state.tier:
        block["tier"] = state.tier
    if state.model:
        block["model"] = state.model
    if state.session:
        block["session"] = state.session
    if state.role:
        block["role"] = state.role
    if state.complexity:
        block["complexity"] = {k: state.complexity[k] for k in ("level", "source") if k in state.complexity}
    if state.task:
        block["task"] = state.task
    block["handoffs"] = state.handoff_count
    cost = cost_summary(state)
    if cost is not None:
        block["cost"] = cost
    if state.last_decision:
        block["last_decision"] = state.last_decision
    if state.flags:
        block["flags"] = dict(sorted(state.flags.items()))
    return block
