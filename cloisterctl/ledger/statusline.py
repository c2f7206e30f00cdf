"""The statusline's summary: everything `cloisterctl statusline` shows that the folded state and the
config decide, computed ahead so the statusline itself only reads one small file. Pure.

Deterministic in (state, config): no clock. What depends on the time (which day is today, how
long the agent has been quiet, a budget's level today) is left to the statusline: the summary
gives it the agent's spending per UTC day, and the stuck rule's own reading
(``ledger.agent_state.stuck_reading``): the quiet-since it counts from and its threshold, both
null when the rule cannot fire, so the statusline's "stuck in Xm" is what the rule will do.
"""

from __future__ import annotations

from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.errors import UnknownModelError
from cloisterctl.ledger.agent_state import stuck_reading
from cloisterctl.ledger.events import parse_ts
from cloisterctl.ledger.spending import SCOPES
from cloisterctl.ledger.state import MICRO, WorkspaceState
from cloisterctl.models.tiers import tier_for_model

DAYS_SHOWN = 3  # the latest days of spending given (today is one of them, or nothing was spent today)


def _usd(micro: int) -> float:
    return round(micro / MICRO, 6)


def _rate(read: int, seen: int) -> float | None:
    return round(read / seen, 4) if seen else None


def _epoch(ts: str | None) -> float | None:
    return None if ts is None else parse_ts(ts).timestamp()


def _model_tiers(state: WorkspaceState, config: Config) -> dict[str, str]:
    """Tiers of the models the statusline may be told about: the configured ones, the agent's,
    and those that cost something here."""
    models = {config.tier_model(tier) for tier in config.tier_patterns} | set(state.cost_totals.by_model)
    if state.model:
        models.add(state.model)
    tiers = {}
    for model in sorted(models):
        try:
            tier = tier_for_model(model, config.tier_patterns)
        except UnknownModelError:  # claimed by two tiers' patterns: the statusline shows the agent's tier
            tier = None
        if tier is not None:
            tiers[model] = tier
    return tiers


def summary(state: WorkspaceState, config: Config) -> dict[str, Any]:
    spending = state.spending
    days = spending.by_day.get(state.agent, {})
    totals = state.cost_totals
    tokens = totals.tokens
    budgets = config.budgets
    # The tick's liveness as last recorded: an agent whose exit is recorded counts only its own signals.
    stuck = stuck_reading(state, config, False if state.session in state.exited else None)
    return {
        "agent": state.agent,
        "status": state.status,
        "tier": state.tier,
        "model": state.model,
        "session": state.session,
        "task": state.task,
        "idle": state.idle is not None,
        "flags": sorted(state.flags),
        "quiet_since": _epoch(stuck.quiet_since) if stuck else None,
        "stuck_minutes": stuck.threshold_minutes if stuck else None,
        "cost_usd": _usd(totals.micro_usd),
        "cache_hit_rate": _rate(tokens["cache_read"], tokens["input"] + tokens["cache_write"] + tokens["cache_read"]),
        "days": {day: _usd(days[day]) for day in sorted(days)[-DAYS_SHOWN:]},
        "sessions": {
            session: {"usd": _usd(usd), "cache_hit_rate": _rate(read, seen)}
            for session, (usd, read, seen) in spending.sessions.items()
        },
        "budgets": {
            "limits": {scope: budgets.limits[scope] for scope in SCOPES if budgets.limits[scope]},
            "warn_at": budgets.warn_at,
            "agent_usd": _usd(spending.by_agent.get(state.agent, 0)),
            "task_usd": _usd(spending.by_task.get(state.task, 0)) if state.task else None,
        },
        "model_tiers": _model_tiers(state, config),
    }
