from __future__ import annotations

import dataclasses

from cloisterctl.config.settings import Policy
from cloisterctl.ledger.attempts import after_key
from cloisterctl.routing.adaptive import add_counts, choose, learned_costs

COSTS = {"haiku": 0.2, "sonnet": 0.6, "opus": 1.0}
SETTLED = Policy(explore_min=0)  # no exploration: the estimates alone decide


def row(successes: int, failures: int, micro_usd: int = 0, costed: int = 0) -> list[int]:
    return [successes + failures, successes, failures, failures, micro_usd, costed]


def by_tier(choice: object) -> dict[str, object]:
    return {e.tier: e for e in choice.estimates}  # type: ignore[attr-defined]


def test_cold_start_is_the_static_tier_for_every_static_choice() -> None:
    for static in ("haiku", "sonnet", "opus"):
        for detection in (None, 0.5, 1.0):
            assert choose("medium", static, {}, COSTS, Policy(), detection=detection).tier == static


def test_a_tier_that_fails_often_is_left_and_one_that_succeeds_cheaply_is_taken() -> None:
    failing = {"simple/haiku": row(2, 8), "simple/sonnet": row(9, 1)}
    choice = choose("simple", "haiku", failing, COSTS, SETTLED, detection=1.0, escalations=0)
    assert choice.tier == "sonnet"
    assert not by_tier(choice)["haiku"].allowed  # type: ignore[attr-defined]
    # a cheaper tier is judged at its lower bound: it must show it is not worse
    good = {"simple/haiku": row(95, 5), "simple/sonnet": row(9, 1)}
    assert choose("simple", "sonnet", good, COSTS, SETTLED, detection=1.0, escalations=0).tier == "haiku"
    few = {"simple/haiku": row(19, 1), "simple/sonnet": row(9, 1)}
    assert choose("simple", "sonnet", few, COSTS, SETTLED, detection=1.0, escalations=0).tier == "sonnet"


def test_an_untried_tier_looks_no_better_than_the_level_has_done() -> None:
    # The old optimistic prior made an untried opus look best; centred on the record it does not.
    counts = {"medium/sonnet": row(7, 3)}
    choice = choose("medium", "sonnet", counts, COSTS, SETTLED, detection=1.0)
    tiers = by_tier(choice)
    assert choice.tier == "sonnet"
    assert tiers["opus"].p <= tiers["sonnet"].p + 0.1  # type: ignore[attr-defined]


def test_costs_are_discovered_first_then_exploration_is_bounded_by_share_and_count() -> None:
    policy = Policy(explore_min=3, explore_share=0.2)
    # no spend recorded on opus at the level: a price is not a cost, so it is tried at once
    counts = {"medium/sonnet": row(3, 0, 3_000_000, 3)}
    choice = choose("medium", "sonnet", counts, COSTS, policy)
    assert (choice.tier, choice.explore) == ("opus", True)
    # every tier that may start has its 3 costed starts: the estimates decide until the share allows
    known = {"medium/sonnet": row(3, 0, 3_000_000, 3), "medium/opus": row(2, 1, 9_000_000, 3)}
    assert choose("medium", "sonnet", known, COSTS, policy).explore is False
    # tiers below the static one are not tried when nothing could rescue their failures
    assert choose("medium", "sonnet", known, COSTS, policy, detection=0.8, escalations=0).tier == "sonnet"
    assert choose("medium", "sonnet", known, COSTS, policy, detection=0.8, escalations=2).tier == "haiku"
    done = {"medium/sonnet": row(40, 0, 40_000_000, 40), "medium/opus": row(3, 0, 9_000_000, 3)}
    assert choose("medium", "sonnet", done, COSTS, policy).explore is False  # every tier has its 3


def test_the_guard_judges_the_ladder_at_the_detection_rate() -> None:
    # Haiku alone trails; escalations to sonnet rescue its failures when they are noticed.
    # sonnet: 100 starts (80 solved) plus 50 attempts after a haiku failure (40 solved)
    counts = {"m/haiku": row(50, 50), "m/sonnet": row(120, 30), after_key("m", "sonnet"): row(40, 10)}
    policy = dataclasses.replace(SETTLED, handoff_usd=0.0)
    seen = choose("m", "haiku", counts, COSTS, policy, detection=1.0, escalations=1)
    assert seen.tier == "haiku"  # the ladder makes the haiku start as good: noticed failures move up
    unseen = choose("m", "haiku", counts, COSTS, policy, detection=None, escalations=1)
    assert unseen.tier == "sonnet"  # unknown detection: no rescue is counted
    alone = choose("m", "haiku", counts, COSTS, policy, detection=1.0, escalations=0)
    assert alone.tier == "sonnet"  # no escalation: the start tier is all there is


def test_learned_costs_level_then_tier_then_prices_scaled_to_the_recorded_unit() -> None:
    counts = {"medium/sonnet": row(4, 0, 2_000_000, 4), "complex/opus": row(1, 0, 3_000_000, 1)}
    costs = learned_costs(counts, "medium", COSTS)
    assert costs["sonnet"] == (0.5, 4, "level")
    assert costs["opus"] == (3.0, 1, "tier")
    # haiku has no record: its price default, scaled by what sonnet and opus really cost against theirs
    scale = (0.5 / 0.6 + 3.0 / 1.0) / 2
    assert costs["haiku"][2] == "price (scaled)" and abs(costs["haiku"][0] - 0.2 * scale) < 1e-9
    assert learned_costs({}, "medium", COSTS)["opus"] == (1.0, 0, "price")


def test_recorded_spend_not_list_price_decides_between_equally_priced_tiers() -> None:
    # Opus costs what sonnet does per task and solves more: the policy goes there.
    counts = {"m/sonnet": row(47, 53, 53_000_000, 100), "m/opus": row(55, 45, 53_000_000, 100)}
    assert choose("m", "sonnet", counts, COSTS, SETTLED, detection=1.0, escalations=0).tier == "opus"


def test_history_counts_add_up() -> None:
    assert add_counts({"a/haiku": row(1, 1)}, {"a/haiku": row(2, 0), "b/opus": row(0, 1)}) == {
        "a/haiku": [4, 3, 1, 1, 0, 0],
        "b/opus": [1, 0, 1, 1, 0, 0],
    }


def test_a_tier_that_costs_as_much_as_a_dearer_one_is_dominated() -> None:
    # sonnet solves no more than opus and its recorded spend per start is opus's: dominated, even
    # though sonnet's cost per success is the lower on these few outcomes
    close = {"m/sonnet": row(6, 4, 5_000_000, 10), "m/opus": row(5, 5, 5_200_000, 10)}
    choice = choose("m", "sonnet", close, COSTS, SETTLED, detection=1.0, escalations=0)
    sonnet = by_tier(choice)["sonnet"]
    assert sonnet.dominated and sonnet.e < by_tier(choice)["opus"].e  # type: ignore[attr-defined]
    assert choice.tier == "opus" and "dominated" in choice.reason
    # three times the spend is real: nothing is dominated, the cheaper start within the guard wins
    dear = {"m/sonnet": row(6, 4, 4_000_000, 10), "m/opus": row(6, 4, 12_000_000, 10)}
    choice = choose("m", "sonnet", dear, COSTS, SETTLED, detection=1.0, escalations=0)
    assert choice.tier == "sonnet" and not any(e.dominated for e in choice.estimates)
    # a tier dominated on a few dear draws of its own comes back once the dearer tier's cost is pinned
    stuck = {"m/sonnet": row(2, 1, 2_400_000, 3), "m/opus": row(30, 10, 120_000_000, 40)}
    assert choose("m", "sonnet", stuck, COSTS, SETTLED, detection=1.0, escalations=0).tier == "sonnet"


def test_a_start_is_costed_by_starts_and_the_next_rung_by_what_it_cost_after_a_failure() -> None:
    # opus: 4 starts at 1.0 each and 6 attempts after a sonnet failure at 3.0 each (harder tasks),
    # against the same record with the attempts after a failure at 1.0 too
    def ladder(after_micro: int) -> dict[str, object]:
        counts = {
            "m/sonnet": row(6, 4, 4_000_000, 10),
            "m/opus": row(6, 4, 4_000_000 + after_micro, 10),
            after_key("m", "opus"): row(3, 3, after_micro, 6),
        }
        policy = dataclasses.replace(SETTLED, handoff_usd=0.0)
        return by_tier(choose("m", "sonnet", counts, COSTS, policy, detection=1.0, escalations=1))

    hard, easy = ladder(18_000_000), ladder(6_000_000)
    assert hard["opus"].c == easy["opus"].c == 1.0  # type: ignore[attr-defined]
    # sonnet's ladder: 0.4 + P(sonnet fails) x (the next rung's cost after a failure)
    failed = easy["sonnet"].cost - 0.4  # type: ignore[attr-defined]
    assert abs(hard["sonnet"].cost - (0.4 + failed * 3.0)) < 1e-9  # type: ignore[attr-defined]
