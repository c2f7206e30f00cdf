"""The model router: a classified task -> tier, model, the rule that decided, and why. Pure.

Order of rules:
1. A role (``--role planning``, ``test-agent``...) picks ``roles.<role>``.
2. Otherwise ``complexity_routing.<level>``; a value may be a tier or a model id.
3. Beads' advisory ``metadata.execution_suggested_model`` is a hint: it decides when detection is
   not explicit and its confidence is below ``complexity.suggested_model_max_confidence``; it is
   reported either way.
4. With ``routing.policy: adaptive`` and the recorded outcomes (``counts``: per level/tier, from
   ``ledger.attempts``), ``routing.adaptive`` picks the start tier for the level by expected cost to
   success under its quality guard; with no outcomes it agrees with ``complexity_routing``. Its
   figures (p, q, c, the ladder's S and C, sample sizes per tier) are in ``Route.adaptive``;
   ``detection`` (the measured share of failures noticed; None: unknown), ``escalations`` (None:
   ``handoffs.guards.max_escalations``) and ``handoff`` (the cost unit's handoff; None:
   ``routing.handoff_usd``) are the ladder the guard judges. A role or a followed
   hint is not second-guessed.
5. A downgrade from the tier an agent is running on must pay for itself (``economics.whatif``
   with the agent's warm context): if it does not within ``cost.remaining_turns``, the agent stays
   on its tier and the decision says so, with the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.errors import CloisterError, UnknownModelError
from cloisterctl.models.prices import PriceTable
from cloisterctl.models.tiers import TIERS, tier_rank
from cloisterctl.routing.adaptive import choose
from cloisterctl.routing.complexity import Classification
from cloisterctl.routing.economics import downgrade_whatif
from cloisterctl.tasks.records import Task


@dataclass(frozen=True)
class Running:
    """The agent's current session, when there is one: what a downgrade would move away from."""

    tier: str
    model: str
    context_tokens: int


@dataclass(frozen=True)
class Route:
    task: str
    tier: str
    model: str
    rule: str
    reasons: tuple[str, ...]
    complexity: Classification
    role: str | None = None
    hint: dict[str, Any] | None = None
    economics: dict[str, Any] | None = None
    stays: bool = False
    routed_tier: str | None = field(default=None)
    policy: str = "static"
    adaptive: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "tier": self.tier,
            "model": self.model,
            "rule": self.rule,
            "reasons": list(self.reasons),
            "complexity": {
                "level": self.complexity.level,
                "source": self.complexity.source,
                "confidence": self.complexity.confidence,
            },
            "role": self.role,
            "hint": self.hint,
            "economics": self.economics,
            "stays": self.stays,
            "policy": self.policy,
            "adaptive": self.adaptive,
        }


def _target(config: Config, value: str) -> tuple[str, str]:
    """(tier, model) for a routing target that is a tier name or a model id."""
    tier = config.tier_of(value)
    model = config.tier_model(tier) if value == tier else value
    return tier, model


def route(
    task: Task,
    classification: Classification,
    config: Config,
    prices: PriceTable,
    *,
    role: str | None = None,
    running: Running | None = None,
    handoff_tokens: int | None = None,
    counts: Mapping[str, Sequence[int]] | None = None,
    detection: float | None = None,
    escalations: int | None = None,
    handoff: float | None = None,
) -> Route:
    reasons: list[str] = []
    tier, model, rule = _base_target(classification, config, role, reasons)
    policy = config.routing.policy if role is None else "role"
    adaptive: dict[str, Any] | None = None
    if policy == "adaptive" and counts is not None:
        choice = choose(
            classification.level,
            tier,
            counts,
            default_costs(config, prices),
            config.routing.adaptive,
            detection=detection,
            escalations=config.guards.max_escalations if escalations is None else escalations,
            handoff=handoff,
        )
        adaptive = choice.as_dict()
        reasons.append(choice.reason)
        if choice.tier != tier:
            tier, model, rule = choice.tier, config.tier_model(choice.tier), "routing.adaptive"
    hint: dict[str, Any] | None = None
    suggested = task.metadata.get("execution_suggested_model")
    if isinstance(suggested, str) and suggested:
        hint = _apply_hint(suggested, config, classification, role, tier)
        reasons.append(hint["note"])
        if hint["applied"]:
            tier, model = hint["tier"], config.tier_model(hint["tier"])
            rule = "metadata.execution_suggested_model"
    routed_tier = tier
    economics = None
    stays = False
    if running is not None and tier_rank(tier) < tier_rank(running.tier):
        economics = _downgrade(running, model, config, prices, handoff_tokens, reasons)
        if economics is not None and not economics["handoff_pays"]:
            stays = True
            tier, model = running.tier, running.model
            rule = "economics"
    return Route(
        task=task.id,
        tier=tier,
        model=model,
        rule=rule,
        reasons=tuple(reasons),
        complexity=classification,
        role=role,
        hint=hint,
        economics=economics,
        stays=stays,
        routed_tier=routed_tier,
        policy=policy,
        adaptive=adaptive,
    )


def default_costs(config: Config, prices: PriceTable) -> dict[str, float]:
    """What an attempt costs per tier before any is recorded: ``cost.remaining_turns`` turns, each
    reading the default warm context from cache and writing ``cost.turn_output_tokens``."""
    defaults = config.whatif_defaults
    found: dict[str, float] = {}
    for tier in TIERS:
        price = prices.lookup(config.tier_model(tier))
        if price is None:
            found[tier] = {"haiku": 0.2, "sonnet": 0.6, "opus": 1.0}[tier]  # the tiers' usual price ratio
            continue
        rates = price.base
        turn = defaults.context_tokens * rates.cache_read + defaults.output_per_turn * rates.output
        found[tier] = defaults.turns * turn / 1_000_000
    return found


def _base_target(
    classification: Classification, config: Config, role: str | None, reasons: list[str]
) -> tuple[str, str, str]:
    """(tier, model, rule) by the role, else by the complexity level."""
    if role is not None:
        target = config.roles.get(role)
        if target is None:
            known = ", ".join(sorted(config.roles))
            raise CloisterError(f"unknown role {role!r} (configured roles: {known})")
        tier, model = _target(config, target)
        reasons.append(f"role {role} -> {tier}")
        return tier, model, f"roles.{role}"
    tier, model = _target(config, config.level_target(classification.level))
    reasons.extend(classification.reasons)
    found = classification
    reasons.append(f"complexity {found.level} ({found.source}, confidence {found.confidence:g}) -> {tier}")
    return tier, model, f"complexity_routing.{classification.level}"


def _downgrade(
    running: Running, model: str, config: Config, prices: PriceTable, handoff_tokens: int | None, reasons: list[str]
) -> dict[str, Any] | None:
    """The economics of moving the running session down to ``model``; None when it cannot be costed."""
    from_price = prices.lookup(running.model)
    to_price = prices.lookup(model)
    if from_price is None or to_price is None:
        unknown = running.model if from_price is None else model
        reasons.append(f"no price for {unknown}; the downgrade is not costed")
        return None
    result = downgrade_whatif(
        from_price, to_price, running.context_tokens, config.whatif_defaults, handoff_tokens=handoff_tokens
    )
    reasons.append(result.verdict)
    return result.as_dict()


def _apply_hint(
    suggested: str, config: Config, classification: Classification, role: str | None, tier: str
) -> dict[str, Any]:
    try:
        hinted = config.tier_of(suggested)
    except UnknownModelError:
        return {
            "model": suggested,
            "tier": None,
            "applied": False,
            "note": f"beads suggests {suggested!r}, which is no known tier; ignored",
        }
    limit = config.suggested_model_max_confidence
    base = {"model": suggested, "tier": hinted}
    if hinted == tier:
        return {**base, "applied": False, "note": f"beads suggests {suggested} too"}
    if role is not None:
        why = f"the role {role} decides"
    elif classification.is_explicit:
        why = f"the explicit complexity ({classification.source}) decides"
    elif classification.confidence >= limit:
        why = f"detection is confident enough ({classification.confidence:g} >= {limit:g})"
    else:
        return {
            **base,
            "applied": True,
            "note": f"beads suggests {suggested} (metadata.execution_suggested_model) and detection is unsure "
            f"({classification.confidence:g} < {limit:g}): following the hint -> {hinted}",
        }
    return {**base, "applied": False, "note": f"beads suggests {suggested}; not followed: {why}"}
