from __future__ import annotations

from cloisterctl.config.settings import Policy
from cloisterctl.routing.adaptive import add_counts, choose

COSTS = {"haiku": 0.2, "sonnet": 0.6, "opus": 1.0}


def row(successes: int, failures: int, micro_usd: int = 0, costed: int = 0) -> list[int]:
    return [successes + failures, successes, failures, failures, micro_usd, costed]


def test_cold_start_is_the_static_tier_for_every_static_choice() -> None:
    for static in ("haiku", "sonnet", "opus"):
        assert choose("medium", static, {}, COSTS, Policy()).tier == static


def test_a_tier_that_fails_often_is_left_and_one_that_succeeds_cheaply_is_taken() -> None:
    failing = {"simple/haiku": row(2, 8), "simple/sonnet": row(9, 1)}
    choice = choose("simple", "haiku", failing, COSTS, Policy())
    assert choice.tier == "sonnet"
    haiku = next(e for e in choice.estimates if e.tier == "haiku")
    assert haiku.n == 10 and not haiku.allowed and round(haiku.p, 3) == round((1.6 + 2) / 12, 3)
    # Haiku proves as good as sonnet on this level: the cheaper tier wins.
    good = {"simple/haiku": row(18, 2), "simple/sonnet": row(9, 1)}
    assert choose("simple", "sonnet", good, COSTS, Policy()).tier == "haiku"


def test_recorded_costs_replace_the_defaults_level_first_then_tier() -> None:
    counts = {"medium/sonnet": row(4, 0, 2_000_000, 4), "complex/opus": row(1, 0, 3_000_000, 1)}
    choice = choose("medium", "sonnet", counts, COSTS, Policy())
    by_tier = {e.tier: e for e in choice.estimates}
    assert (by_tier["sonnet"].c, by_tier["sonnet"].c_from) == (0.5, "level")
    assert (by_tier["opus"].c, by_tier["opus"].c_from) == (3.0, "tier")
    assert (by_tier["haiku"].c, by_tier["haiku"].c_from) == (0.2, "default")
    # E(k) = c(k) + (1 - p(k)) * (handoff + E(k+1)); E(top) = (c(top) + (1 - p(top)) * handoff) / p(top)
    top = by_tier["opus"]
    assert abs(top.e - (3.0 + (1 - top.p) * 0.05) / top.p) < 1e-9
    assert abs(by_tier["sonnet"].e - (0.5 + (1 - by_tier["sonnet"].p) * (0.05 + top.e))) < 1e-9


def test_history_counts_add_up() -> None:
    assert add_counts({"a/haiku": row(1, 1)}, {"a/haiku": row(2, 0), "b/opus": row(0, 1)}) == {
        "a/haiku": [4, 3, 1, 1, 0, 0],
        "b/opus": [1, 0, 1, 1, 0, 0],
    }
