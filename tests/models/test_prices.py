from __future__ import annotations

from pathlib import Path

import pytest

import cloisterctl
from cloisterctl.models.prices import Tokens, price_table


def test_builtin_table_has_date_source_and_every_fixture_model() -> None:
    table = price_table()
    assert table.as_of == "2026-11-01"
    # The source cited is the table the package ships, by a name relative to the package's parent.
    assert table.file == "cloisterctl/models/prices.json"
    assert (Path(cloisterctl.__file__).parent.parent / table.file).is_file()
    assert table.source.startswith("cloisterctl/models/prices.json (2026-11-01): Anthropic list prices")
    assert set(table.prices) == {
        "claude-opus-4-20250514",
        "claude-opus-4-1-20250805",
        "claude-opus-4-5-20251101",
        "claude-opus-4-6",
        "claude-opus-4-7",
        "claude-sonnet-4-20250514",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-6",
        "claude-haiku-4-5-20251001",
        "claude-3-5-haiku-20241022",
    }


def test_every_token_kind_is_priced_by_hand() -> None:
    usage = Tokens(input=1_000, output=2_000, cache_write_5m=10_000, cache_write_1h=20_000, cache_read=100_000)
    # opus 4.5: input 5, output 25, write 5m 6.25, write 1h 10, read 0.5 ($/M)
    expected = (1_000 * 5 + 2_000 * 25 + 10_000 * 6.25 + 20_000 * 10 + 100_000 * 0.5) / 1e6
    assert price_table().cost("claude-opus-4-5-20251101", usage) == pytest.approx(expected, abs=1e-12)
    # haiku 3.5: input 0.80 -> read 0.08, write 1.00 / 1.60
    expected = (1_000 * 0.8 + 2_000 * 4 + 10_000 * 1.0 + 20_000 * 1.6 + 100_000 * 0.08) / 1e6
    assert price_table().cost("claude-3-5-haiku-20241022", usage) == pytest.approx(expected, abs=1e-12)


def test_long_context_rates_apply_to_the_whole_request_above_200k_input_side() -> None:
    table = price_table()
    at_limit = Tokens(input=100, cache_write_5m=99_900, cache_read=100_000, output=1_000)  # exactly 200K: base
    assert at_limit.input_side == 200_000
    base = (100 * 3 + 99_900 * 3.75 + 100_000 * 0.3 + 1_000 * 15) / 1e6
    assert table.cost("claude-sonnet-4-5-20250929", at_limit) == pytest.approx(base, abs=1e-12)
    over = Tokens(input=101, cache_write_5m=99_900, cache_read=100_000, output=1_000)
    long = (101 * 6 + 99_900 * 7.5 + 100_000 * 0.6 + 1_000 * 22.5) / 1e6
    assert table.cost("claude-sonnet-4-5-20250929", over) == pytest.approx(long, abs=1e-12)
    # sonnet 4.6 has no long-context rates in the table
    assert table.cost("claude-sonnet-4-6", over) == pytest.approx(
        (101 * 3 + 99_900 * 3.75 + 100_000 * 0.3 + 1_000 * 15) / 1e6, abs=1e-12
    )


def test_wrapped_ids_find_their_price_and_unknown_ids_have_none() -> None:
    table = price_table()
    assert table.lookup("us.anthropic.claude-haiku-4-5-20251001-v1:0") is table.lookup("claude-haiku-4-5-20251001")
    assert table.cost("gpt-4o", Tokens(input=1)) is None


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        # Claude Code's context suffix, on a full id (what a transcript or ANTHROPIC_MODEL holds)
        ("claude-opus-4-7[1m]", "claude-opus-4-7"),
        ("claude-sonnet-4-5-20250929[1m]", "claude-sonnet-4-5-20250929"),
        ("claude-sonnet-4-6[1M]", "claude-sonnet-4-6"),
        # Bedrock: model ids, region and global inference profiles, a foundation-model ARN
        ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805"),
        ("global.anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4-5-20251101"),
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
        ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-7", "claude-opus-4-7"),
        # Vertex AI (`@` before the date), gateways' provider prefixes
        ("claude-opus-4-5@20251101", "claude-opus-4-5-20251101"),
        ("vertex_ai/claude-opus-4-5@20251101", "claude-opus-4-5-20251101"),
        ("anthropic/claude-opus-4-7", "claude-opus-4-7"),
        ("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5-20250929"),
        # the API's aliases, and a dated snapshot of an id the table holds undated
        ("claude-opus-4-0", "claude-opus-4-20250514"),
        ("claude-sonnet-4-0", "claude-sonnet-4-20250514"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"),
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
        ("claude-opus-4-7-20260416", "claude-opus-4-7"),
    ],
)
def test_model_id_forms_resolve_to_their_entry(model: str, entry: str) -> None:
    table = price_table()
    assert table.resolve(model) == entry
    assert table.lookup(model) is table.prices[entry]


@pytest.mark.parametrize("model", ["claude-opus-4-8[1m]", "opus[1m]", "claude-opus-5", "gpt-4o", "claude-opus"])
def test_a_model_the_table_does_not_name_has_no_price(model: str) -> None:
    # A model of the same tier is not priced like its neighbour: that is a guess, and a new model's
    # price is set with cost.prices (the caller says the total undercounts).
    assert price_table().resolve(model) is None


def test_config_overrides_lay_over_the_builtin_table() -> None:
    table = price_table({"claude-sonnet-4-6": {"output": 10}, "my-model": {"input": 1, "output": 2, "cache_read": 0}})
    sonnet = table.lookup("claude-sonnet-4-6")
    assert sonnet is not None and (sonnet.base.input, sonnet.base.output) == (3, 10)
    mine = table.lookup("my-model")
    assert mine is not None and mine.base.cache_read == 0 and mine.base.cache_write_5m == 1.25
    assert "config" in table.source


def test_fast_mode_has_its_own_rates_where_the_model_has_them() -> None:
    table = price_table()
    usage = Tokens(input=1_000_000, output=1_000_000, cache_write_5m=1_000_000, cache_read=1_000_000)
    # opus 4.6 fast: input 30, output 150, write 37.50, read 3 ($/M) -- six times the standard rates
    assert table.cost("claude-opus-4-6", usage, fast=True) == pytest.approx(30 + 150 + 37.5 + 3, abs=1e-9)
    assert table.cost("claude-opus-4-6", usage) == pytest.approx(5 + 25 + 6.25 + 0.5, abs=1e-9)
    # a model without fast rates prices a fast request at its usual rates
    assert table.cost("claude-sonnet-4-6", usage, fast=True) == pytest.approx(3 + 15 + 3.75 + 0.3, abs=1e-9)
    overridden = price_table({"claude-opus-4-6": {"fast": {"output": 100}}}).lookup("claude-opus-4-6")
    assert overridden is not None and overridden.fast is not None
    assert (overridden.fast.input, overridden.fast.output) == (30, 100)
