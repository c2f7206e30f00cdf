"""Confidence intervals of a rate from counts. Pure."""

from __future__ import annotations

import math

Z95 = 1.959964


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a success rate; None with no trials."""
    if trials <= 0:
        return None
    rate = successes / trials
    centre = rate + z * z / (2 * trials)
    margin = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return (max(0.0, (centre - margin) / scale), min(1.0, (centre + margin) / scale))
