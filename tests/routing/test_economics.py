from __future__ import annotations

import pytest

from cloisterctl.models.prices import price_table
from cloisterctl.routing.economics import whatif

TABLE = price_table()
OPUS45 = TABLE.lookup("claude-opus-4-5-20251101")
HAIKU45 = TABLE.lookup("claude-haiku-4-5-20251001")
SONNET45 = TABLE.lookup("claude-sonnet-4-5-20250929")


def test_the_design_example_by_hand() -> None:
    assert OPUS45 is not None and HAIKU45 is not None
    result = whatif(OPUS45, HAIKU45, context_tokens=100_000, output_per_turn=1_000, turns=20, handoff_tokens=8_000)
    # stay: 100K reads at $0.50/M + 1K output at $25/M
    assert result.stay.per_turn_usd == pytest.approx(0.05 + 0.025)
    # switch: write 100K at haiku's $1.25/M instead of reading at opus' $0.50/M, once
    assert result.switch.premium_usd == pytest.approx(0.125 - 0.05)
    # then each turn: 100K reads at $0.10/M + 1K output at $5/M
    assert result.switch.per_turn_usd == pytest.approx(0.01 + 0.005)
    assert result.switch.saving_per_turn_usd == pytest.approx(0.06)
    assert result.switch.break_even_turns == 1.25
    assert result.switch.total_usd == pytest.approx(0.075 + 20 * 0.015)
    # fresh: write the 8K packet at $1.25/M instead of reading 100K at $0.50/M: negative premium
    assert result.fresh.premium_usd == pytest.approx(0.01 - 0.05)
    assert result.fresh.per_turn_usd == pytest.approx(0.0008 + 0.005)
    assert result.fresh.break_even_turns == 0
    assert result.handoff_pays
    assert result.verdict.startswith("hand off to claude-haiku-4-5-20251001")


def test_one_hour_cache_writes_cost_twice_input() -> None:
    assert OPUS45 is not None and HAIKU45 is not None
    result = whatif(
        OPUS45, HAIKU45, context_tokens=100_000, output_per_turn=1_000, turns=20, handoff_tokens=8_000, cache_ttl="1h"
    )
    assert result.switch.premium_usd == pytest.approx(0.2 - 0.05)
    assert result.switch.break_even_turns == 2.5


def test_a_fresh_session_pays_for_its_start_up_context_too() -> None:
    assert OPUS45 is not None and HAIKU45 is not None
    result = whatif(
        OPUS45,
        HAIKU45,
        context_tokens=100_000,
        output_per_turn=1_000,
        turns=20,
        handoff_tokens=8_000,
        overhead_tokens=15_000,
    )
    # 23K written at $1.25/M instead of 100K read at $0.50/M; then 23K read at $0.10/M + 1K out at $5/M
    assert result.fresh.premium_usd == pytest.approx(0.02875 - 0.05)
    assert result.fresh.per_turn_usd == pytest.approx(0.0023 + 0.005)
    assert result.switch.break_even_turns == 1.25  # the switch does not start over


def test_an_upgrade_never_pays() -> None:
    assert OPUS45 is not None and HAIKU45 is not None
    result = whatif(HAIKU45, OPUS45, context_tokens=50_000, output_per_turn=1_000, turns=20, handoff_tokens=8_000)
    assert result.switch.break_even_turns is None
    assert not result.handoff_pays
    assert "would not be cheaper per turn" in result.verdict


def test_a_short_remaining_run_does_not_pay() -> None:
    assert SONNET45 is not None and HAIKU45 is not None
    # Tiny warm context, big packet: the packet costs more than it saves within one turn.
    result = whatif(SONNET45, HAIKU45, context_tokens=20_000, output_per_turn=100, turns=1, handoff_tokens=16_000)
    # premium 16K x $1.25/M - 20K x $0.30/M = $0.014; saving ($0.006 + $0.0015) - ($0.0016 + $0.0005) = $0.0054
    assert result.fresh.break_even_turns == pytest.approx(0.014 / 0.0054, abs=1e-4)
    assert not result.handoff_pays
    assert result.verdict.startswith("stay on claude-sonnet-4-5-20250929: a handoff breaks even only after")


def test_long_context_rates_apply_to_a_warm_context_over_200k() -> None:
    assert SONNET45 is not None and HAIKU45 is not None
    result = whatif(SONNET45, HAIKU45, context_tokens=250_000, output_per_turn=0, turns=1, handoff_tokens=0)
    assert result.stay.per_turn_usd == pytest.approx(250_000 * 0.60 / 1e6)
