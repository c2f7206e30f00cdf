"""The adaptive routing policy: the start tier whose ladder costs least per success. Pure.

For a task of level L, per tier k (cheapest first), from the recorded counts (``ledger.attempts``:
``L/k`` every attempt, ``L/k/after`` the attempts that followed a failure on the tier below for
the same task, i.e. escalations):

- p(k): the success of a *start* on k (``L/k`` minus ``L/k/after``), the mean of a Beta prior
  updated by those outcomes. The prior is worth ``prior_strength`` outcomes and is centred on the
  level's pooled start success (every tier's starts at L, seeded with ``optimistic_prior``): an
  untried tier looks no better than what the level's tasks have done so far, never best by
  default (each tried tier's rate weighs alike, so the tier started most does not drag the others
  to it); a tier above another starts no lower than the one below it. Tiers below the static
  ``complexity_routing`` tier start at that centre x ``pessimistic_prior / optimistic_prior``.
  With no start outcomes at the level the choice is the static tier (cold start = static).
  With a ``detection`` rate d, a recorded failure stands for 1/d real ones (the rest passed as
  closes): p is corrected for the failures nobody noticed.
- q(k): p(k | the tier below failed on this task), from ``L/k/after``, with a prior worth
  ``prior_strength`` centred on what the start rates imply if a dearer tier solved everything a
  cheaper one does, (p(k) - p(k-1)) / (1 - p(k-1)): a ladder's rescue is not assumed, it is learned.
- c(k): the recorded mean spend of a *start* on k at level L (else of every attempt on k at L);
  else of any level on tier k; else the tier's price-based default (``default_costs``) scaled by
  what the recorded tiers really cost against their own defaults (so every c is in the recorded
  unit: USD in a workspace, the file's unit in a replay); the raw default only where nothing at
  all is recorded. c'(k): the recorded mean spend on k after the tier below failed (``L/k/after``:
  the tasks that reach a rung are the harder ones and cost more there), else c(k).
- The ladder from a start tier, with up to ``escalations`` escalations, each taken when a failure
  is noticed (probability d): success S(k) = p(k) + (1 - p(k)) d S'(k+1) and cost C(k) = c(k) +
  (1 - p(k)) d (handoff + C'(k+1)), where S'/C' use q and c'. ``handoff`` is in the costs' unit.

Doubt: a tier at or above the static one that has start outcomes at the level has its p credited
with ``GUARD_SD`` standard deviations of its Beta in its own ladder's S and C (a dearer tier left
on a few bad draws comes back until its outcomes settle it: only money is at stake); a tier below
the static one gets no such credit (a cheaper tier must show it is not worse). The guard judges
the whole ladder: a start whose S trails the best start's S (without credit) by more than
``min_success`` is not allowed. With ``detection=None`` (unknown) no rescue is
counted (d = 0): each start is judged alone, as if nothing noticed its failures. Of the allowed
tiers the least C/S (cost per success) wins, unless an allowed start of higher S has a C/S that
the recorded spend cannot tell apart from it: then success decides (quality first, money only
where the difference is real). An attempt's cost is taken to vary about as much as its mean, so a
mean over n recorded attempts is known to within 1/sqrt(n + 1) of itself; price-based costs
(nothing recorded) are never "the same". Ties go up.

Exploration is bounded: a tier with fewer than ``explore_min`` start outcomes at the level is
tried (guard or not) only while its starts stay within ``explore_share`` of the level's starts,
so at most ``explore_min`` attempts per tier and level are spent learning, spread out. Tiers below
the static one are explored only when a failure there can be rescued (escalations allowed and a
known detection rate above 0): exploring up risks money, exploring down risks the task. The rest of
the time the estimates decide. Every figure is in the result, so the decision that records it
explains itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloisterctl.config.settings import Policy
from cloisterctl.ledger.attempts import after_key
from cloisterctl.models.tiers import TIERS, tier_rank

MICRO = 1_000_000
# Indexes of the counts kept per level/tier (``ledger.attempts``).
SUCCESSES, FAILURES, COST, COSTED = 1, 2, 4, 5
FLOOR = 0.01  # no prior mean at 0 or 1: a Beta there could never move
# Standard deviations of doubt credited to a tried tier at or above the static one (docstring).
GUARD_SD = 2.0


@dataclass(frozen=True)
class TierEstimate:
    tier: str
    p: float
    n: int  # recorded start outcomes behind p
    q: float  # success after the tier below failed
    q_n: int
    c: float
    c_n: int  # recorded costed attempts behind c (0: the default per tier)
    c_from: str  # "level", "tier", "price (scaled)" or "price"
    success: float  # S: the ladder's success from this start
    cost: float  # C: the ladder's expected cost from this start
    allowed: bool

    @property
    def e(self) -> float:
        """Cost per success of the ladder from this start."""
        return self.cost / self.success if self.success > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "p": round(self.p, 4),
            "n": self.n,
            "q": round(self.q, 4),
            "q_n": self.q_n,
            "c": round(self.c, 6),
            "c_n": self.c_n,
            "c_from": self.c_from,
            "S": round(self.success, 4),
            "C": round(self.cost, 6),
            "E": round(self.e, 6) if self.success > 0 else None,
            "allowed": self.allowed,
        }


@dataclass(frozen=True)
class Choice:
    level: str
    tier: str
    static_tier: str
    estimates: tuple[TierEstimate, ...]
    explore: bool = False
    detection: float | None = None

    @property
    def reason(self) -> str:
        mine = next(e for e in self.estimates if e.tier == self.tier)
        figures = "; ".join(
            f"{e.tier} p={e.p:.2f} (n={e.n}) c={e.c:.3g} S={e.success:.2f} C/S={e.e:.3g}" for e in self.estimates
        )
        moved = "as static" if self.tier == self.static_tier else f"static says {self.static_tier}"
        guarded = [e.tier for e in self.estimates if not e.allowed]
        guard = f"; guard excludes {', '.join(guarded)}" if guarded else ""
        seen = "unknown detection" if self.detection is None else f"detection {self.detection:.2f}"
        least = min(e.e for e in self.estimates if e.allowed) if any(e.allowed for e in self.estimates) else mine.e
        why = (
            "explores (bounded)"
            if self.explore
            else f"has the least cost per success ({mine.e:.3g}; {moved})"
            if mine.e <= least
            else f"solves most at a cost per success the spend cannot tell from the least ({mine.e:.3g}; {moved})"
        )
        return f"adaptive {self.level}: {self.tier} {why}{guard}, {seen}: {figures}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "tier": self.tier,
            "static_tier": self.static_tier,
            "explore": self.explore,
            "detection": self.detection,
            "tiers": [e.as_dict() for e in self.estimates],
        }


def _row(counts: Mapping[str, Sequence[int]], key: str) -> Sequence[int]:
    return counts.get(key) or (0, 0, 0, 0, 0, 0)


def _outcomes(row: Sequence[int], detection: float | None) -> tuple[float, float]:
    """(successes, failures), the failures corrected for the ones ``detection`` missed."""
    wins, losses = max(0, row[SUCCESSES]), max(0, row[FAILURES])
    if detection is not None and detection > 0 and losses:
        real = min(wins + losses, losses / detection)
        return wins + losses - real, real
    return float(wins), float(losses)


def _starts(counts: Mapping[str, Sequence[int]], level: str, tier: str) -> list[int]:
    every, after = _row(counts, f"{level}/{tier}"), _row(counts, after_key(level, tier))
    return [max(0, a - b) for a, b in zip(list(every)[:6], list(after)[:6], strict=False)]


def _beta(prior: float, strength: float, wins: float, losses: float) -> float:
    prior = min(1 - FLOOR, max(FLOOR, prior))
    return (prior * strength + wins) / (strength + wins + losses)


def learned_costs(
    counts: Mapping[str, Sequence[int]], level: str, default_costs: Mapping[str, float]
) -> dict[str, tuple[float, int, str]]:
    """Per tier: (cost of an attempt, attempts behind it, where it came from) (module docstring)."""
    found: dict[str, tuple[float, int, str]] = {}
    for tier in TIERS:
        # A start's own spend first: attempts after a failure below are on harder tasks (``_after_cost``).
        for row in (_starts(counts, level, tier), _row(counts, f"{level}/{tier}")):
            if row[COSTED] > 0:
                found[tier] = (row[COST] / row[COSTED] / MICRO, row[COSTED], "level")
                break
        if tier in found:
            continue
        micro = costed = 0
        for key, other in counts.items():
            if key.endswith(f"/{tier}"):
                micro += other[COST]
                costed += other[COSTED]
        if costed:
            found[tier] = (micro / costed / MICRO, costed, "tier")
    ratios = [found[t][0] / default_costs[t] for t in found if default_costs[t] > 0]
    scale = sum(ratios) / len(ratios) if ratios else 1.0
    for tier in TIERS:
        if tier not in found:
            found[tier] = (default_costs[tier] * scale, 0, "price (scaled)" if ratios else "price")
    return found


def _ladders(
    p: Mapping[str, float],
    q: Mapping[str, float],
    c: Mapping[str, float],
    c_after: Mapping[str, float],
    steps: int,
    d: float,
    h: float,
) -> dict[str, tuple[float, float]]:
    """Per start tier, (S, C) of its ladder (module docstring); ``d``: the detection rate."""
    found: dict[str, tuple[float, float]] = {}
    for start, tier in enumerate(TIERS):
        success = cost = 0.0
        chain = TIERS[start : start + steps + 1]
        for index in range(len(chain) - 1, -1, -1):  # from the last rung down
            rate, spend = (p[chain[index]], c[chain[index]]) if index == 0 else (q[chain[index]], c_after[chain[index]])
            up = index < len(chain) - 1
            success = rate + (1 - rate) * d * success if up else rate
            cost = spend + ((1 - rate) * d * (h + cost) if up else 0.0)
        found[tier] = (success, cost)
    return found


def _after_cost(counts: Mapping[str, Sequence[int]], level: str, tier: str, pooled: float) -> float:
    """The recorded mean spend of an attempt on ``tier`` after the tier below failed (harder tasks
    cost more); ``pooled`` where none is recorded."""
    row = _row(counts, after_key(level, tier))
    return row[COST] / row[COSTED] / MICRO if row[COSTED] > 0 else pooled


def _explore(counts: Mapping[str, Sequence[int]], level: str, policy: Policy, lowest: int) -> str | None:
    """The tier to learn on now, within the exploration budget (module docstring); None: none.
    Only tiers from rank ``lowest`` up are explored."""
    starts = {tier: _starts(counts, level, tier) for tier in TIERS if tier_rank(tier) >= lowest}
    outcomes = {tier: row[SUCCESSES] + row[FAILURES] for tier, row in starts.items()}
    total = sum(row[0] for row in starts.values())
    due = [
        t for t in starts if outcomes[t] < policy.explore_min and starts[t][0] + 1 <= policy.explore_share * (total + 1)
    ]
    return min(due, key=lambda t: (outcomes[t], -tier_rank(t))) if due else None


def _pick(by_tier: Mapping[str, TierEstimate], allowed: Mapping[str, bool]) -> str:
    """Of the allowed starts, the least cost per success, unless a start of higher success costs no
    more per success than the recorded spend can tell apart (module docstring); ties go up."""
    fits = [t for t in TIERS if allowed[t]]
    least = min(fits, key=lambda t: (by_tier[t].e, -tier_rank(t)))
    # An attempt's cost varies about as much as its mean (coefficient of variation ~1), so a mean
    # over n attempts is known to within 1/sqrt(n + 1) of itself. Price-based costs are not spend.
    slack = 1 + 1 / math.sqrt(by_tier[least].c_n + 1)
    bound = by_tier[least].e * slack if by_tier[least].c_n > 0 else -1.0
    near = [t for t in fits if t == least or (by_tier[t].c_n > 0 and by_tier[t].e <= bound)]
    return max(near, key=lambda t: (by_tier[t].success, tier_rank(t)))


def choose(
    level: str,
    static_tier: str,
    counts: Mapping[str, Sequence[int]],
    default_costs: Mapping[str, float],
    policy: Policy,
    *,
    detection: float | None = None,
    escalations: int = 2,
    handoff: float | None = None,
) -> Choice:
    """The adaptive start tier for a task of ``level`` (see the module docstring). ``detection``:
    the measured share of failures noticed (None: unknown); ``escalations``: how many escalations
    may follow a start (0: none); ``handoff``: the cost of one, in the costs' unit (None: the
    policy's ``handoff_usd``)."""
    static_rank = tier_rank(static_tier)
    strength = policy.prior_strength
    # A start below the static tier risks the task unless a noticed failure can still move up.
    rescued = escalations > 0 and detection is not None and detection > 0
    lowest = 0 if rescued else static_rank
    rates = []
    for tier in TIERS:
        wins, losses = _outcomes(_starts(counts, level, tier), detection)
        if wins + losses:
            rates.append((wins + 1) / (wins + losses + 2))
    # Each tried tier's own rate weighs alike: the tier started most does not drag the others to it.
    centre = (policy.optimistic_prior * strength + sum(rates)) / (strength + len(rates))
    p: dict[str, float] = {}
    n: dict[str, int] = {}
    sd: dict[str, float] = {}
    for tier in TIERS:
        row = _starts(counts, level, tier)
        prior = (
            centre if tier_rank(tier) >= static_rank else centre * policy.pessimistic_prior / policy.optimistic_prior
        )
        if tier_rank(tier) > static_rank and p:
            prior = max(prior, p[TIERS[tier_rank(tier) - 1]])  # a dearer tier: no worse than the one below until shown
        p[tier] = _beta(prior, strength, *_outcomes(row, detection))
        n[tier] = row[SUCCESSES] + row[FAILURES]
        # Doubt is credited only to a tried tier at or above the static one: a cheaper tier must
        # show it is not worse; an untried one is learned by exploration.
        doubt = n[tier] > 0 and tier_rank(tier) >= static_rank
        sd[tier] = math.sqrt(p[tier] * (1 - p[tier]) / (strength + n[tier] + 1)) if doubt else 0.0
    q: dict[str, float] = {}
    q_n: dict[str, int] = {}
    for rank, tier in enumerate(TIERS):
        below = p[TIERS[rank - 1]] if rank else 0.0
        nested = (p[tier] - below) / (1 - below) if below < 1 else 0.0
        after = _row(counts, after_key(level, tier))
        q[tier] = _beta(nested, strength, *_outcomes(after, detection))
        q_n[tier] = after[SUCCESSES] + after[FAILURES]
    cost = learned_costs(counts, level, default_costs)
    noticed = 0.0 if detection is None else detection
    h = policy.handoff_usd if handoff is None else handoff
    prices = {t: cost[t][0] for t in TIERS}
    after_prices = {t: _after_cost(counts, level, t, prices[t]) for t in TIERS}
    steps = max(0, escalations)
    best = max(s for s, _ in _ladders(p, q, prices, after_prices, steps, noticed, h).values())
    hopeful = {t: min(1 - FLOOR, p[t] + GUARD_SD * sd[t]) for t in TIERS}
    ladders = _ladders(hopeful, q, prices, after_prices, steps, noticed, h)
    allowed = {t: ladders[t][0] >= best - policy.min_success - 1e-12 for t in TIERS}
    estimates = tuple(TierEstimate(t, p[t], n[t], q[t], q_n[t], *cost[t], *ladders[t], allowed[t]) for t in TIERS)
    by_tier = {e.tier: e for e in estimates}
    explored = _explore(counts, level, policy, lowest)
    if not any(n.values()):
        chosen = static_tier  # nothing learned at this level yet: cold start = static
    else:
        chosen = explored or _pick(by_tier, allowed)
    return Choice(level, chosen, static_tier, estimates, explored is not None, detection)


def add_counts(*tables: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """The sum of count tables (this workspace's and the user-level history)."""
    total: dict[str, list[int]] = {}
    for table in tables:
        for key, row in table.items():
            mine = total.setdefault(key, [0] * 6)
            for index, value in enumerate(list(row)[:6]):
                mine[index] += int(value)
    return total
