"""Routing gain: a policy's success beyond what a random mix of single tiers reaches at its cost. Pure.

The frontier is the best success a mix of "every task on tier k" policies (and doing nothing,
(0, 0)) reaches for a given cost: the upper concave envelope of those points, flat beyond the best
of them (a mix may always spend less). Routing gain = (policy success - frontier at the policy's
cost) x 100 / all-top-tier success, in points of the top tier's success: a router that knows
nothing scores about 0, a perfect one far above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def frontier_at(points: Sequence[tuple[float, float]], cost: float) -> float:
    """The best success a mix of ``points`` ((cost, success), with (0, 0)) reaches within ``cost``."""
    candidates = [(0.0, 0.0), *points]
    best = max(s for c, s in candidates if c <= cost + 1e-12)
    for c1, s1 in candidates:
        for c2, s2 in candidates:
            if c1 <= cost < c2:
                best = max(best, s1 + (s2 - s1) * (cost - c1) / (c2 - c1))
    return best


def gain(success: float, cost: float, singles: Mapping[str, tuple[float, float]], top: str) -> float | None:
    """The routing gain in points of the ``top`` tier's success; None when that is 0."""
    reference = singles[top][1]
    if reference <= 0:
        return None
    return round((success - frontier_at(list(singles.values()), cost)) * 100 / reference, 2)
