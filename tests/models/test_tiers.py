from __future__ import annotations

import pytest

from cloisterctl.config.schema import DEFAULTS
from cloisterctl.models.tiers import UnknownModelError, normalise_model_id, require_tier, tier_above, tier_for_model

PATTERNS = {tier: spec["patterns"] for tier, spec in DEFAULTS["tiers"].items()}


@pytest.mark.parametrize(
    ("model", "tier"),
    [
        ("opus", "opus"),
        ("Sonnet", "sonnet"),
        ("haiku", "haiku"),
        ("claude-opus-4-5-20251101", "opus"),
        ("claude-opus-4-20250514", "opus"),
        ("claude-sonnet-4-6", "sonnet"),
        ("claude-sonnet-4-5-20250929", "sonnet"),
        ("claude-haiku-4-5-20251001", "haiku"),
        ("claude-3-5-haiku-20241022", "haiku"),
        ("claude-3-opus-20240229", "opus"),
        ("anthropic/claude-3-5-haiku", "haiku"),
        ("openrouter/anthropic/claude-sonnet-4", "sonnet"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "sonnet"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "haiku"),
        ("global.anthropic.claude-opus-4-5-20251101-v1:0", "opus"),
        ("claude-opus-4-5@20251101", "opus"),
        ("sonnet[1m]", "sonnet"),
        ("claude-sonnet-4-5-20250929[1m]", "sonnet"),
    ],
)
def test_model_ids_normalise_to_their_tier(model: str, tier: str) -> None:
    assert tier_for_model(model, PATTERNS) == tier


@pytest.mark.parametrize("model", ["gpt-4o", "deepseek-v3", "claude-instant-1", "octopus", "<synthetic>", ""])
def test_unknown_ids_are_reported_not_guessed(model: str) -> None:
    assert tier_for_model(model, PATTERNS) is None
    with pytest.raises(UnknownModelError, match="matches no tier"):
        require_tier(model, PATTERNS)


def test_ambiguous_patterns_are_an_error() -> None:
    patterns = {"opus": ["claude-*"], "sonnet": ["claude-sonnet-*"]}
    with pytest.raises(UnknownModelError, match="several tiers"):
        tier_for_model("claude-sonnet-4-6", patterns)


def test_normalise_strips_wrappers_only() -> None:
    assert normalise_model_id(" us.anthropic.claude-opus-4-1-20250805-v1:0 ") == "claude-opus-4-1-20250805"
    assert normalise_model_id("claude-opus-4-7") == "claude-opus-4-7"


def test_escalation_order() -> None:
    assert tier_above("haiku") == "sonnet"
    assert tier_above("sonnet") == "opus"
    assert tier_above("opus") is None
