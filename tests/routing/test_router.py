from __future__ import annotations

from typing import Any

import pytest

from cloisterctl.config.load import load_config
from cloisterctl.errors import CloisterError
from cloisterctl.models.prices import price_table
from cloisterctl.routing.complexity import Classification
from cloisterctl.routing.router import Running, route
from cloisterctl.tasks.records import task_from_json

CONFIG = load_config(None, environ={})
PRICES = price_table()


def task(**fields: Any) -> Any:
    return task_from_json({"id": "t-1", "title": "x", "status": "open", **fields})


def detected(level: str, confidence: float = 0.7, source: str = "keywords") -> Classification:
    return Classification("t-1", level, confidence, source, (f"because {level}",))


@pytest.mark.parametrize(
    ("level", "tier", "model"),
    [
        ("trivial", "haiku", "claude-haiku-4-5-20251001"),
        ("simple", "haiku", "claude-haiku-4-5-20251001"),
        ("medium", "sonnet", "claude-sonnet-4-6"),
        ("complex", "sonnet", "claude-sonnet-4-6"),
        ("expert", "opus", "claude-opus-4-7"),
    ],
)
def test_complexity_routing(level: str, tier: str, model: str) -> None:
    result = route(task(), detected(level), CONFIG, PRICES)
    assert (result.tier, result.model, result.rule) == (tier, model, f"complexity_routing.{level}")
    assert f"because {level}" in result.reasons


def test_roles_override_complexity() -> None:
    assert route(task(), detected("trivial"), CONFIG, PRICES, role="planning").tier == "opus"
    result = route(task(), detected("expert"), CONFIG, PRICES, role="test-agent")
    assert (result.tier, result.rule) == ("haiku", "roles.test-agent")
    with pytest.raises(CloisterError, match="unknown role 'tester'"):
        route(task(), detected("medium"), CONFIG, PRICES, role="tester")


def test_a_routing_target_may_be_a_model_id(tmp_path: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("complexity_routing:\n  medium: claude-sonnet-4-5-20250929\n")
    result = route(task(), detected("medium"), load_config(path, environ={}), PRICES)
    assert (result.tier, result.model) == ("sonnet", "claude-sonnet-4-5-20250929")


def test_the_beads_hint_decides_only_when_detection_is_unsure() -> None:
    hinted = task(metadata={"execution_suggested_model": "haiku"})
    unsure = route(hinted, detected("medium", confidence=0.3), CONFIG, PRICES)
    assert (unsure.tier, unsure.rule) == ("haiku", "metadata.execution_suggested_model")
    assert unsure.hint is not None and unsure.hint["applied"]
    assert "following the hint -> haiku" in unsure.reasons[-1]
    sure = route(hinted, detected("medium", confidence=0.8), CONFIG, PRICES)
    assert sure.tier == "sonnet"
    assert sure.reasons[-1] == "beads suggests haiku; not followed: detection is confident enough (0.8 >= 0.5)"
    explicit = route(hinted, detected("expert", 1.0, "metadata"), CONFIG, PRICES)
    assert explicit.tier == "opus" and "the explicit complexity (metadata) decides" in explicit.reasons[-1]
    unknown = route(task(metadata={"execution_suggested_model": "gpt-5"}), detected("medium", 0.1), CONFIG, PRICES)
    assert unknown.tier == "sonnet" and "no known tier" in unknown.reasons[-1]


def test_a_downgrade_that_pays_happens_with_its_numbers() -> None:
    running = Running("opus", "claude-opus-4-5-20251101", context_tokens=100_000)
    result = route(task(), detected("trivial"), CONFIG, PRICES, running=running)
    assert result.tier == "haiku" and not result.stays
    assert result.economics is not None and result.economics["handoff_pays"]
    assert result.economics["switch"]["break_even_turns"] == 1.25 * (5 / 5)  # opus 4.5 -> haiku 4.5 defaults


def test_a_downgrade_that_does_not_pay_keeps_the_running_tier(tmp_path: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("cost:\n  remaining_turns: 1\n")
    config = load_config(path, environ={})
    running = Running("sonnet", "claude-sonnet-4-5-20250929", context_tokens=20_000)
    result = route(task(), detected("simple"), config, PRICES, running=running)
    assert (result.tier, result.model, result.rule, result.stays) == (
        "sonnet",
        "claude-sonnet-4-5-20250929",
        "economics",
        True,
    )
    assert result.routed_tier == "haiku"
    assert result.economics is not None and not result.economics["handoff_pays"]
    assert result.reasons[-1].startswith("stay on claude-sonnet-4-5-20250929")


def test_an_upgrade_is_not_costed() -> None:
    running = Running("haiku", "claude-haiku-4-5-20251001", context_tokens=100_000)
    result = route(task(), detected("expert"), CONFIG, PRICES, running=running)
    assert result.tier == "opus" and result.economics is None
