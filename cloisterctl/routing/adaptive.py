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
the static one is judged at its lower bound, p minus ``GUARD_SD`` sd of its Beta with the prior
counted as evidence (a cheaper tier must show it is not worse). The guard judges the whole ladder:
a start whose S trails the best start's S by more than ``min_success`` is not allowed, the best
judged at the lower bound of each tried tier (a few lucky outcomes on a tier do not raise the bar
for the others). With ``detection=None`` (unknown) no rescue is counted (d = 0): each start is
judged alone, as if nothing noticed its failures.

Prices are not costs. Dominance: once ``explore_min`` starts on each of two tiers are costed at
the level, the cheaper-ranked one is dominated while the dearer one's recorded spend per start is
no more than its own x (1 + 1/sqrt(n + 1)), n the dearer tier's costed starts (an attempt's cost
taken to vary about as much as its mean), and its p is no better than the dearer tier's optimistic
bound (p plus ``GUARD_SD`` sd, the prior counted as evidence): where opus costs what sonnet does,
sonnet is not a start. The tolerance shrinks with the dearer tier's own record, so a tier dominated
on a few unlucky draws of its own comes back once the dearer tier's cost is pinned. Of the allowed
starts that are not dominated, the least C/S (cost per success) wins; ties go up.

Exploration. Cold start: with no start outcomes at the level the choice is the static tier. Then
cost discovery: every tier that may start (from the static one up; every tier when a failure can
be rescued: escalations allowed and a known detection rate above 0) gets ``explore_min`` costed
starts, the fewest first and the dearest on ties, since a price is not a cost and a handful of
attempts pin a mean cost far sooner than a success rate. After that a tier is explored only while
it could still be the choice at its optimistic bound (within the guard, and a lower C/S than the
pick's, or a higher S at a cost the recorded spend cannot tell from the pick's: one sd of the
difference of the means), with fewer than ``explore_min`` start outcomes, and while its starts
stay within ``explore_share`` of the level's: elimination, not a fixed share, so exploration
shrinks as evidence grows. Every figure is in the result, so the decision that records it explains
itself.
"""

from __future__ import annotations

import dataclasses
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
    dominated: bool = False  # a dearer tier costs as much and is no worse

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
            "dominated": self.dominated,
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
        dominated = [e.tier for e in self.estimates if e.dominated]
        guard += f"; {', '.join(dominated)} dominated (a dearer tier costs as much)" if dominated else ""
        why = "explores (bounded)" if self.explore else f"has the least cost per success ({mine.e:.3g}; {moved})"
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


def _explore(
    counts: Mapping[str, Sequence[int]], level: str, policy: Policy, lowest: int, could: Mapping[str, bool]
) -> str | None:
    """The tier to learn on now (module docstring); None: none. Of the tiers from rank ``lowest``
    up that ``could`` still be the choice: one with fewer than ``explore_min`` costed starts at
    the level (cost discovery: the fewest first, dearest on ties), else one with fewer than
    ``explore_min`` start outcomes while its starts stay within ``explore_share``."""
    starts = {tier: _starts(counts, level, tier) for tier in TIERS if tier_rank(tier) >= lowest}
    unpriced = [t for t, row in starts.items() if row[COSTED] < policy.explore_min]
    if unpriced:
        return min(unpriced, key=lambda t: (starts[t][COSTED], -tier_rank(t)))
    starts = {tier: row for tier, row in starts.items() if could[tier]}
    outcomes = {tier: row[SUCCESSES] + row[FAILURES] for tier, row in starts.items()}
    total = sum(_starts(counts, level, tier)[0] for tier in TIERS)
    due = [
        t for t in starts if outcomes[t] < policy.explore_min and starts[t][0] + 1 <= policy.explore_share * (total + 1)
    ]
    return min(due, key=lambda t: (outcomes[t], -tier_rank(t))) if due else None


def _apart(one: TierEstimate, other: TierEstimate) -> float:
    """One sd of the difference of two tiers' mean costs, an attempt's cost varying about as much
    as its mean: less than this apart, the recorded spend cannot tell them apart."""
    return math.sqrt(one.c**2 / (one.c_n + 1) + other.c**2 / (other.c_n + 1))


def _dominated(estimates: Mapping[str, TierEstimate], upper: Mapping[str, float], known: int) -> dict[str, bool]:
    """Per tier: whether a dearer tier's recorded start spend cannot be told above its own (one sd
    of the difference of the means, an attempt's cost varying about as much as its mean) while its
    p is no better than the dearer tier's optimistic bound ``upper``: prices are not costs."""
    found = {}
    for tier in TIERS:
        mine = estimates[tier]
        found[tier] = any(
            mine.c_from == other.c_from == "level"
            and min(mine.c_n, other.c_n) >= known
            and other.c <= mine.c * (1 + 1 / math.sqrt(other.c_n + 1))
            and mine.p <= upper[other.tier]
            for other in estimates.values()
            if tier_rank(other.tier) > tier_rank(tier)
        )
    return found


@dataclass(frozen=True)
class _Frame:
    """What every judgement of the starts at a level shares: the rungs' rescue rates and costs
    after a failure below, the ladder's shape, the guard's margin."""

    q: Mapping[str, float]
    q_n: Mapping[str, int]
    n: Mapping[str, int]
    c_after: Mapping[str, float]
    steps: int
    d: float
    h: float
    min_success: float
    known: int  # recorded costed starts that make a tier's cost known

    def ladders(self, p: Mapping[str, float], c: Mapping[str, float]) -> dict[str, tuple[float, float]]:
        return _ladders(p, self.q, c, self.c_after, self.steps, self.d, self.h)


def _judge(
    frame: _Frame,
    p: Mapping[str, float],
    hopeful: Mapping[str, float],
    upper: Mapping[str, float],
    cost: Mapping[str, tuple[float, int, str]],
    lower: Mapping[str, float],
) -> tuple[tuple[TierEstimate, ...], str]:
    """The estimates per tier and the start they choose: the guard, dominance, then ``_pick``."""
    prices = {t: cost[t][0] for t in TIERS}
    # The reference is what a start surely reaches: a few lucky outcomes do not raise it.
    sure = {t: lower[t] if frame.n[t] else p[t] for t in TIERS}
    best = max(s for s, _ in frame.ladders(sure, prices).values())
    ladders = frame.ladders(hopeful, prices)
    allowed = {t: ladders[t][0] >= best - frame.min_success - 1e-12 for t in TIERS}
    estimates = tuple(
        TierEstimate(t, p[t], frame.n[t], frame.q[t], frame.q_n[t], *cost[t], *ladders[t], allowed[t]) for t in TIERS
    )
    dominated = _dominated({e.tier: e for e in estimates}, upper, frame.known)
    estimates = tuple(dataclasses.replace(e, dominated=dominated[e.tier]) for e in estimates)
    fits = {t: allowed[t] and not dominated[t] for t in TIERS}
    return estimates, _pick({e.tier: e for e in estimates}, fits if any(fits.values()) else allowed)


def _could(
    frame: _Frame, upper: Mapping[str, float], by_tier: Mapping[str, TierEstimate], picked: str
) -> dict[str, bool]:
    """Per tier: whether, at its optimistic success bound, it could still be the choice over
    ``picked`` (module docstring): within the guard, and a lower cost per success, or a higher
    success at a cost the recorded spend cannot tell from the pick's. Once it cannot, it is
    eliminated: exploration shrinks as evidence grows."""
    prices = {t: by_tier[t].c for t in TIERS}
    plain = frame.ladders({t: by_tier[t].p for t in TIERS}, prices)
    best = max(s for s, _ in plain.values())
    bounds = frame.ladders(upper, prices)
    mine, chosen = plain[picked], by_tier[picked]
    found = {}
    for tier in TIERS:
        success, cost = bounds[tier]
        other = by_tier[tier]
        same = other.c_n == 0 or chosen.c_n == 0 or other.c - chosen.c <= _apart(other, chosen)
        found[tier] = tier == picked or (
            success >= best - frame.min_success - 1e-12
            and (cost / success < mine[1] / mine[0] or (success > mine[0] and same))
        )
    return found


def _pick(by_tier: Mapping[str, TierEstimate], allowed: Mapping[str, bool]) -> str:
    """Of the allowed starts, the least cost per success; ties go up."""
    fits = [t for t in TIERS if allowed[t]]
    return min(fits, key=lambda t: (by_tier[t].e, -tier_rank(t)))


def _rates(
    counts: Mapping[str, Sequence[int]], level: str, static_rank: int, policy: Policy, detection: float | None
) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
    """Per tier: p (a start's success), the start outcomes behind it, and the sd of doubt credited
    to it (module docstring)."""
    strength = policy.prior_strength
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
    return p, n, sd


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
    p, n, sd = _rates(counts, level, static_rank, policy, detection)
    q: dict[str, float] = {}
    q_n: dict[str, int] = {}
    for rank, tier in enumerate(TIERS):
        below = p[TIERS[rank - 1]] if rank else 0.0
        nested = (p[tier] - below) / (1 - below) if below < 1 else 0.0
        after = _row(counts, after_key(level, tier))
        q[tier] = _beta(nested, strength, *_outcomes(after, detection))
        q_n[tier] = after[SUCCESSES] + after[FAILURES]
    cost = learned_costs(counts, level, default_costs)
    frame = _Frame(
        q,
        q_n,
        n,
        {t: _after_cost(counts, level, t, cost[t][0]) for t in TIERS},
        max(0, escalations),
        0.0 if detection is None else detection,
        policy.handoff_usd if handoff is None else handoff,
        policy.min_success,
        max(1, policy.explore_min),
    )
    spread = {t: GUARD_SD * math.sqrt(p[t] * (1 - p[t]) / (policy.prior_strength + n[t] + 1)) for t in TIERS}
    lower = {t: max(FLOOR, p[t] - spread[t]) for t in TIERS}
    # A tier at or above the static one is judged with its doubt credited, one below at its lower
    # bound: a cheaper tier must show it is not worse.
    hopeful = {t: min(1 - FLOOR, p[t] + GUARD_SD * sd[t]) if tier_rank(t) >= static_rank else lower[t] for t in TIERS}
    # Every tier's optimistic bound, its prior counted as evidence: what it could still turn out to be.
    upper = {t: min(1 - FLOOR, p[t] + spread[t]) for t in TIERS}
    estimates, picked = _judge(frame, p, hopeful, upper, cost, lower)
    if not any(n.values()):
        return Choice(level, static_tier, static_tier, estimates, False, detection)  # cold start = static
    could = _could(frame, upper, {e.tier: e for e in estimates}, picked)
    explored = _explore(counts, level, policy, lowest, could)
    return Choice(level, explored or picked, static_tier, estimates, explored is not None, detection)


def add_counts(*tables: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """The sum of count tables (this workspace's and the user-level history)."""
    total: dict[str, list[int]] = {}
    for table in tables:
        for key, row in table.items():
            mine = total.setdefault(key, [0] * 6)
            for index, value in enumerate(list(row)[:6]):
                mine[index] += int(value)
    return total
