"""The adaptive routing policy: the start tier that minimises the expected cost to success. Pure.

For a task of level L, per tier k (cheapest first):

- p(k): the mean of a Beta prior updated by the recorded outcomes of level L on tier k
  (successes, failures: ``ledger.attempts`` counts). The prior comes from the static
  ``complexity_routing``: the routed tier and those above it start at ``optimistic_prior``, those
  below at ``pessimistic_prior``, each worth ``prior_strength`` outcomes, so a handful of real
  outcomes outweigh it; with none the choice is the static one (cold start = static).
- c(k): the recorded mean cost of an attempt of level L on tier k; else of any level on tier k;
  else a default per tier (from the prices: ``default_costs``).
- E(k) = c(k) + (1 - p(k)) * (handoff + E(k + 1)); above the top tier is the top tier again (a
  failure there is tried again), so E(top) = (c(top) + (1 - p(top)) * handoff) / p(top).

The quality guard: a tier whose p(k) trails the best tier's p by more than ``min_success``, beyond
its own uncertainty (its p plus ``GUARD_SD`` standard deviations of its Beta), is never a start
tier, whatever it saves (the ladder's rescue of a failure is not counted on: a
failure it does not catch is a worse agent). Of the rest the least E wins (ties: the higher
tier). With no outcomes the tiers below the static one trail by the priors' gap and the static
tier is the cheapest of the rest, so the choice is the static one. Every figure is in the result,
so the decision that records it explains itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloisterctl.config.settings import Policy
from cloisterctl.models.tiers import TIERS, tier_rank

MICRO = 1_000_000
# A tier is excluded only when even p + GUARD_SD sd trails: a tier left early on bad luck (its
# estimate then frozen, as nothing starts there) can come back once the others' estimates settle.
GUARD_SD = 1.0
# Indexes of the counts kept per level/tier (``ledger.attempts``).
SUCCESSES, FAILURES, COST, COSTED = 1, 2, 4, 5


@dataclass(frozen=True)
class TierEstimate:
    tier: str
    p: float
    n: int  # recorded outcomes behind p (successes + failures)
    c: float
    c_n: int  # recorded costed attempts behind c (0: the default per tier)
    c_from: str  # "level", "tier" or "default"
    e: float
    allowed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "p": round(self.p, 4),
            "n": self.n,
            "c": round(self.c, 6),
            "c_n": self.c_n,
            "c_from": self.c_from,
            "E": round(self.e, 6),
            "allowed": self.allowed,
        }


@dataclass(frozen=True)
class Choice:
    level: str
    tier: str
    static_tier: str
    estimates: tuple[TierEstimate, ...]

    @property
    def reason(self) -> str:
        mine = next(e for e in self.estimates if e.tier == self.tier)
        figures = "; ".join(f"{e.tier} p={e.p:.2f} (n={e.n}) c={e.c:.3g} E={e.e:.3g}" for e in self.estimates)
        moved = "as static" if self.tier == self.static_tier else f"static says {self.static_tier}"
        guarded = [e.tier for e in self.estimates if not e.allowed]
        guard = f"; guard excludes {', '.join(guarded)}" if guarded else ""
        return f"adaptive {self.level}: {self.tier} has the least E ({mine.e:.3g}; {moved}){guard}: {figures}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "tier": self.tier,
            "static_tier": self.static_tier,
            "tiers": [e.as_dict() for e in self.estimates],
        }


def _row(counts: Mapping[str, Sequence[int]], key: str) -> Sequence[int]:
    return counts.get(key) or (0, 0, 0, 0, 0, 0)


def _mean_cost(counts: Mapping[str, Sequence[int]], level: str, tier: str, default: float) -> tuple[float, int, str]:
    row = _row(counts, f"{level}/{tier}")
    if row[COSTED] > 0:
        return row[COST] / row[COSTED] / MICRO, row[COSTED], "level"
    micro = costed = 0
    for key, other in counts.items():
        if key.endswith(f"/{tier}"):
            micro += other[COST]
            costed += other[COSTED]
    if costed:
        return micro / costed / MICRO, costed, "tier"
    return default, 0, "default"


def choose(
    level: str,
    static_tier: str,
    counts: Mapping[str, Sequence[int]],
    default_costs: Mapping[str, float],
    policy: Policy,
) -> Choice:
    """The adaptive start tier for a task of ``level`` (see the module docstring)."""
    static_rank = tier_rank(static_tier)
    p: dict[str, float] = {}
    sd: dict[str, float] = {}
    n: dict[str, int] = {}
    cost: dict[str, tuple[float, int, str]] = {}
    for tier in TIERS:
        row = _row(counts, f"{level}/{tier}")
        prior = policy.optimistic_prior if tier_rank(tier) >= static_rank else policy.pessimistic_prior
        alpha, beta = prior * policy.prior_strength, (1 - prior) * policy.prior_strength
        wins, losses = max(0, row[SUCCESSES]), max(0, row[FAILURES])
        p[tier] = (alpha + wins) / (alpha + beta + wins + losses)
        sd[tier] = math.sqrt(p[tier] * (1 - p[tier]) / (alpha + beta + wins + losses + 1))
        n[tier] = wins + losses
        cost[tier] = _mean_cost(counts, level, tier, default_costs[tier])
    expected: dict[str, float] = {}
    above: float | None = None
    for tier in reversed(TIERS):
        c = cost[tier][0]
        if above is None:
            expected[tier] = (c + (1 - p[tier]) * policy.handoff_usd) / max(p[tier], 1e-6)
        else:
            expected[tier] = c + (1 - p[tier]) * (policy.handoff_usd + above)
        above = expected[tier]
    best = max(p.values())
    allowed = {tier: p[tier] + GUARD_SD * sd[tier] >= best - policy.min_success - 1e-12 for tier in TIERS}
    chosen = min((t for t in TIERS if allowed[t]), key=lambda t: (expected[t], -tier_rank(t)))
    estimates = tuple(
        TierEstimate(t, p[t], n[t], cost[t][0], cost[t][1], cost[t][2], expected[t], allowed[t]) for t in TIERS
    )
    return Choice(level, chosen, static_tier, estimates)


def add_counts(*tables: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """The sum of count tables (this workspace's and the user-level history)."""
    total: dict[str, list[int]] = {}
    for table in tables:
        for key, row in table.items():
            mine = total.setdefault(key, [0] * 6)
            for index, value in enumerate(list(row)[:6]):
                mine[index] += int(value)
    return total
