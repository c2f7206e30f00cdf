"""The routing calibration report: how each tier did per complexity level, and what to change. Pure.

From the outcome counts per level/tier (``ledger.attempts``, the ones the adaptive router reads):
attempts, success rate with a 95% Wilson interval (success: closed, not reopened, not failed by
verification, no escalation), escalation rate, cost per successful task; per level the cheapest
adequate start tier (``routing.adaptive.choose``: least expected cost to success under the quality
guard) and, where it differs from ``complexity_routing`` and rests on recorded outcomes, the
config line that would make the static policy route there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.models.prices import PriceTable
from cloisterctl.models.tiers import LEVELS, TIERS
from cloisterctl.routing.adaptive import choose
from cloisterctl.routing.intervals import wilson
from cloisterctl.routing.router import default_costs

MICRO = 1_000_000


def _cell(level: str, tier: str, row: Sequence[int]) -> dict[str, Any]:
    attempts, successes, failures, escalations, micro, costed = (list(row) + [0] * 6)[:6]
    judged = successes + failures
    interval = wilson(successes, judged)
    return {
        "level": level,
        "tier": tier,
        "attempts": attempts,
        "successes": successes,
        "failures": failures,
        "success_rate": round(successes / judged, 4) if judged else None,
        "interval": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
        "escalation_rate": round(escalations / attempts, 4) if attempts else None,
        "cost_usd": round(micro / MICRO, 6),
        "costed": costed,
        "cost_per_success": round(micro / MICRO / successes, 6) if successes and costed else None,
    }


def routing_report(counts: Mapping[str, Sequence[int]], config: Config, prices: PriceTable) -> dict[str, Any]:
    """Rows per level x tier with outcomes, and per level its best start tier and recommendation."""
    costs = default_costs(config, prices)
    cells = [
        _cell(level, tier, counts[f"{level}/{tier}"])
        for level in LEVELS
        for tier in TIERS
        if f"{level}/{tier}" in counts
    ]
    levels = []
    for level in LEVELS:
        if not any(cell["level"] == level for cell in cells):
            continue
        static = config.tier_of(config.level_target(level))
        choice = choose(level, static, counts, costs, config.routing.adaptive)
        chosen = next(e for e in choice.estimates if e.tier == choice.tier)
        recommend = None
        if choice.tier != static and chosen.n > 0:
            recommend = f"complexity_routing.{level}: {choice.tier}"
        levels.append(
            {
                "level": level,
                "static_tier": static,
                "best_start_tier": choice.tier,
                "recommend": recommend,
                "why": choice.reason,
                "tiers": [e.as_dict() for e in choice.estimates],
            }
        )
    return {"cells": cells, "levels": levels, "counts": {key: list(row) for key, row in sorted(counts.items())}}
