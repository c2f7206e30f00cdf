"""The projections of the folded state that people read: STATE.md's ``cloister:`` block and its
cost summary. Pure and deterministic, so a second tick with nothing new writes identical bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cloisterctl.ledger.state import MICRO, WorkspaceState


def cost_summary(state: WorkspaceState) -> dict[str, Any] | None:
    """The cost block of STATE.md: the sum of the latest checkpoint of every session (kept by the
    fold as it goes, in micro-dollars)."""
    totals = state.cost_totals
    if not totals.checkpoints:
        return None
    tokens = dict(totals.tokens)
    denominator = tokens["input"] + tokens["cache_write"] + tokens["cache_read"]
    summary: dict[str, Any] = {
        "total_usd": round(totals.micro_usd / MICRO, 4),
        "by_model": {k: round(v[0] / MICRO, 4) for k, v in sorted(totals.by_model.items())},
        "by_tier": {k: round(v[0] / MICRO, 4) for k, v in sorted(totals.by_tier.items())},
        "tokens": tokens,
        "cache_hit_rate": round(tokens["cache_read"] / denominator, 4) if denominator else None,
    }
    # Sessions whose transcript shows two models (target 0, DESIGN §6); shown only when there are some.
    if totals.switches:
        summary["mid_session_switches"] = totals.switches
    return summary


def unpriced_models(state: WorkspaceState) -> list[str]:
    """The models this workspace's cost includes with no price (counted at $0, so every total and
    budget figure is a lower bound), sorted; empty when every request was priced."""
    return sorted(state.cost_totals.unpriced)


def undercount(models: Sequence[str]) -> str:
    """What unpriced models do to a figure: ``1 unpriced model (claude-x) counted as $0``."""
    return f"{len(models)} unpriced model{'s' if len(models) != 1 else ''} ({', '.join(models)}) counted as $0"


def budget_warnings(state: WorkspaceState) -> dict[str, Any]:
    """The budgets at or past ``budgets.warn_at`` of their limit, as recorded when they got there:
    ``{scope: {"level": warn|over, "task"|"day": KEY, "spent_usd", "limit_usd", "since"}}``."""
    shown: dict[str, Any] = {}
    for scope, warning in sorted(state.budgets.items()):
        entry: dict[str, Any] = {"level": warning["level"]}
        if scope != "agent":
            entry[scope] = warning["key"]
        entry.update({name: warning[name] for name in ("spent_usd", "limit_usd", "since")})
        shown[scope] = entry
    return shown


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
        verification = state.outcomes.verifications.get(state.task)
        if verification is not None:  # the latest verification of a close of it: pending, pass, fail, error
            block["verification"] = verification["result"]
    block["handoffs"] = state.handoff_count
    cost = cost_summary(state)
    if cost is not None:
        block["cost"] = cost
    unpriced = unpriced_models(state)
    if unpriced:  # the cost above leaves these out (add them under cost.prices in the config)
        block["unpriced_models"] = unpriced
    if state.budgets:
        block["budgets"] = budget_warnings(state)
    if state.last_decision:
        block["last_decision"] = state.last_decision
    if state.flags:
        block["flags"] = dict(sorted(state.flags.items()))
    return block
