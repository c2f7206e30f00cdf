"""The effective config, and typed read-only views of it.

Code outside ``cloisterctl.config`` reads settings through these views (``config.guards``,
``config.whatif_defaults``, ``config.stuck_threshold(tier)``, ...), never by string lookups into the
merged data: a key's name, type and default live in the schema and here, once. A ``Config`` may be
shared by every workspace with the same config files: treat it as read-only.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cloisterctl.models.prices import PriceTable, price_table
from cloisterctl.models.tiers import require_tier


@dataclass(frozen=True)
class WhatifDefaults:
    """The assumptions of the downgrade economics (``cost.*`` and the packet budget)."""

    output_per_turn: int
    turns: int
    handoff_tokens: int
    overhead_tokens: int
    cache_ttl: str
    context_tokens: int  # warm context assumed for a session whose size is not known yet


@dataclass(frozen=True)
class Policy:
    """The adaptive policy's knobs (``routing.adaptive``)."""

    min_success: float = 0.03
    handoff_usd: float = 0.05
    prior_strength: float = 4.0
    optimistic_prior: float = 0.8
    pessimistic_prior: float = 0.4
    explore_min: int = 3
    explore_share: float = 0.2


@dataclass(frozen=True)
class RoutingSettings:
    """``routing.*``: the policy that picks a start tier (``routing.adaptive``)."""

    policy: str
    adaptive: Policy
    history: str | None


@dataclass(frozen=True)
class Guards:
    cooldown_minutes: float
    max_escalations: int
    require_approval: bool | tuple[str, ...]
    bleed_usd: float = 5.0  # 0: the cost-bleed guard is off
    bleed_action: str = "flag"  # or "stop"


@dataclass(frozen=True)
class Budgets:
    """``budgets.*``: spending limits in USD (None: off), keyed by what they limit."""

    limits: Mapping[str, float | None]  # "agent" (all its spending), "task" (its current task), "day" (UTC)
    warn_at: float  # the share of a limit that raises a warning
    action: str  # "flag" or "stop", at the limit

    @property
    def any(self) -> bool:
        return any(self.limits.values())


@dataclass(frozen=True)
class HandoffSettings:
    idle_seconds: float
    save_timeout_seconds: float
    spawn_timeout_seconds: float
    budget_tokens: int
    warn_tokens: int
    protect_uncommitted: str


@dataclass(frozen=True)
class RuntimeSettings:
    kind: str
    session_prefix: str
    spawn: tuple[str, ...]
    exit_text: str
    save_request: str
    stop_timeout_seconds: float
    env: Mapping[str, str]
    # argv that starts a previous session again ({session_id} is that session's); empty when the
    # spawn command is another CLI's and no resume was configured: then the spawn template restarts
    # it, with a new session.
    resume: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestSettings:
    command: tuple[str, ...]  # argv; a string in the config is split like a shell would (never run by one)
    patterns: tuple[str, ...]
    junit_xml: str | None


@dataclass(frozen=True)
class VerificationSettings:
    """``verification.*``: what a close below ``below_tier`` goes through before it counts."""

    below_tier: str
    tests: bool
    commands: Mapping[str, tuple[str, ...]]  # name -> argv (trusted config only)
    label_prefix: str
    timeout_seconds: float
    compare_base: bool
    reviewer: str | None  # the tier of the reviewer session a close must also pass (None: none)
    review_timeout_seconds: float
    review_diff_chars: int


def _argv(command: Any) -> tuple[str, ...]:
    return tuple(shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command])


@dataclass(frozen=True)
class TickSettings:
    commit: bool
    author_name: str
    author_email: str
    workspaces: tuple[str, ...]
    worktrees: bool
    wait_seconds: float


@dataclass(frozen=True)
class BeadsSettings:
    command: str
    jsonl: str
    use_cli: str


@dataclass(frozen=True)
class KindTrigger:
    """planning_complete / implementation_complete: a task of a kind (by label or title word) closed."""

    enabled: bool
    from_tier: str | None  # only on this tier (None: any)
    to_tier: str
    to_role: str | None
    labels: tuple[str, ...]
    title_words: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    """The merged config and, for every leaf, the layer it came from."""

    data: dict[str, Any]
    sources: dict[str, str]
    # Command-bearing keys the workspace file sets but this clone has not trusted (config.trust):
    # ignored, and reported by status and tick.
    untrusted: tuple[str, ...] = ()
    untrusted_lines: tuple[int | None, ...] = ()  # the line of each, in .cloister/config.yaml
    # What the files may still do but should not (an old key name, ``config.layers.RENAMED``), one
    # line each naming the file: reported by status, tick and doctor.
    warnings: tuple[str, ...] = ()

    # ------------------------------------------------------------------ tiers, models, roles

    @cached_property
    def tier_patterns(self) -> dict[str, list[str]]:
        return {tier: list(spec.get("patterns", [])) for tier, spec in self.data["tiers"].items()}

    def tier_model(self, tier: str) -> str:
        return str(self.data["tiers"][tier]["model"])

    def tier_of(self, model_or_tier: str) -> str:
        """Any model id, alias or tier name -> tier; an unknown id is an error."""
        return require_tier(model_or_tier, self.tier_patterns)

    @property
    def roles(self) -> Mapping[str, str]:
        roles: Mapping[str, str] = self.data["roles"]
        return roles

    def role_tier(self, role: str) -> str | None:
        target = self.roles.get(role)
        return self.tier_of(target) if target else None

    def level_target(self, level: str) -> str:
        """``complexity_routing.<level>``: a tier name or a model id."""
        return str(self.data["complexity_routing"][level])

    @property
    def complexity(self) -> Mapping[str, Any]:
        """The ``complexity`` section, as the detection rules read it."""
        section: Mapping[str, Any] = self.data["complexity"]
        return section

    @cached_property
    def routing(self) -> RoutingSettings:
        section = self.data["routing"]
        policy = Policy(
            min_success=float(section["min_success"]),
            handoff_usd=float(section["handoff_usd"]),
            prior_strength=float(section["prior_strength"]),
            optimistic_prior=float(section["optimistic_prior"]),
            pessimistic_prior=float(section["pessimistic_prior"]),
            explore_min=int(section["explore_min"]),
            explore_share=float(section["explore_share"]),
        )
        return RoutingSettings(str(section["policy"]), policy, section["history"])

    @property
    def suggested_model_max_confidence(self) -> float:
        return float(self.data["complexity"]["suggested_model_max_confidence"])

    # ------------------------------------------------------------------ triggers and guards

    def trigger(self, name: str) -> Mapping[str, Any]:
        spec: Mapping[str, Any] = self.data["handoffs"]["auto_triggers"][name]
        return spec

    def trigger_enabled(self, name: str) -> bool:
        return bool(self.trigger(name).get("enabled"))

    def kind_trigger(self, name: str) -> KindTrigger:
        spec = self.trigger(name)
        if name == "planning_complete":
            target = str(spec.get("to_model", "sonnet"))
        else:
            target = str(spec.get("to_specialist") or "test-agent")
        role = target if target in self.roles else None
        to_tier = self.role_tier(target) if role else self.tier_of(target)
        assert to_tier is not None
        return KindTrigger(
            enabled=bool(spec.get("enabled")),
            from_tier=self.tier_of(spec["from_model"]) if spec.get("from_model") else None,
            to_tier=to_tier,
            to_role=role,
            labels=tuple(spec.get("labels", ())),
            title_words=tuple(spec.get("title_words", ())),
        )

    def stuck_threshold(self, tier: str) -> float:
        """Minutes without progress before an agent on ``tier`` counts as stuck (opus: flagged)."""
        thresholds = self.trigger("stuck")["thresholds"]
        key = {"haiku": "haiku_to_sonnet_minutes", "sonnet": "sonnet_to_opus_minutes", "opus": "opus_flag_minutes"}
        return float(thresholds[key[tier]])

    @property
    def consecutive_failures(self) -> int:
        return int(self.trigger("test_failure").get("consecutive_failures", 2))

    @cached_property
    def guards(self) -> Guards:
        guards = self.data["handoffs"]["guards"]
        approval = guards["require_approval"]
        return Guards(
            float(guards["cooldown_minutes"]),
            int(guards["max_escalations"]),
            tuple(approval) if isinstance(approval, list) else bool(approval),
            float(guards["bleed_usd"]),
            str(guards["bleed_action"]),
        )

    @cached_property
    def budgets(self) -> Budgets:
        budgets = self.data["budgets"]
        limits = {scope: budgets[f"{scope}_usd"] for scope in ("agent", "task", "day")}
        return Budgets(
            {scope: float(limit) if limit else None for scope, limit in limits.items()},
            float(budgets["warn_at"]),
            str(budgets["action"]),
        )

    # ------------------------------------------------------------------ handoffs and runtime

    @cached_property
    def handoffs(self) -> HandoffSettings:
        handoffs = self.data["handoffs"]
        return HandoffSettings(
            float(handoffs["idle_seconds"]),
            float(handoffs["save_timeout_seconds"]),
            float(handoffs["spawn_timeout_seconds"]),
            int(handoffs["packet"]["budget_tokens"]),
            int(handoffs["packet"]["warn_tokens"]),
            str(handoffs["protect_uncommitted"]),
        )

    @cached_property
    def runtime(self) -> RuntimeSettings:
        runtime = self.data["runtime"]
        return RuntimeSettings(
            str(runtime["kind"]),
            str(runtime["session_prefix"]),
            tuple(str(arg) for arg in runtime["spawn"]),
            str(runtime["exit_text"]),
            str(runtime["save_request"]),
            float(runtime["stop_timeout_seconds"]),
            {str(key): str(value) for key, value in runtime["env"].items()},
            self._resume(),
        )

    def _resume(self) -> tuple[str, ...]:
        """``runtime.resume``, unless it is only the built-in (Claude Code's) while ``runtime.spawn``
        names another CLI: claude must not resume a session some other program started."""
        spawn_set = any(key.startswith("runtime.spawn") and src != "default" for key, src in self.sources.items())
        resume_set = any(key.startswith("runtime.resume") and src != "default" for key, src in self.sources.items())
        if spawn_set and not resume_set:
            return ()
        return tuple(str(arg) for arg in self.data["runtime"]["resume"])

    @cached_property
    def verification(self) -> VerificationSettings:
        section = self.data["verification"]
        return VerificationSettings(
            below_tier=str(section["below_tier"]),
            tests=bool(section["tests"]),
            commands={str(name): _argv(command) for name, command in section["commands"].items()},
            label_prefix=str(section["label_prefix"]),
            timeout_seconds=float(section["timeout_seconds"]),
            compare_base=bool(section["compare_base"]),
            reviewer=None if section["reviewer"] is None else str(section["reviewer"]),
            review_timeout_seconds=float(section["review_timeout_seconds"]),
            review_diff_chars=int(section["review_diff_chars"]),
        )

    @property
    def verifies(self) -> bool:
        """Whether any close could be verified (``tests.command`` with ``verification.tests``, or
        named commands); otherwise a close counts as it always did and recall is unknown."""
        settings = self.verification
        return bool((settings.tests and self.tests.command) or settings.commands or settings.reviewer)

    @cached_property
    def tests(self) -> TestSettings:
        tests = self.data["tests"]
        command = tests["command"]
        argv = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
        return TestSettings(tuple(argv), tuple(tests["patterns"]), tests["junit_xml"])

    @cached_property
    def tick(self) -> TickSettings:
        tick = self.data["tick"]
        return TickSettings(
            bool(tick["commit"]),
            str(tick["author_name"]),
            str(tick["author_email"]),
            tuple(tick["workspaces"]),
            bool(tick["worktrees"]),
            float(tick["wait_seconds"]),
        )

    @cached_property
    def beads(self) -> BeadsSettings:
        beads = self.data["beads"]
        return BeadsSettings(str(beads["command"]), str(beads["jsonl"]), str(beads["use_cli"]))

    @property
    def lock_timeout(self) -> float:
        return float(self.data["lock_timeout_seconds"])

    # ------------------------------------------------------------------ cost

    @cached_property
    def whatif_defaults(self) -> WhatifDefaults:
        cost = self.data["cost"]
        return WhatifDefaults(
            output_per_turn=int(cost["turn_output_tokens"]),
            turns=int(cost["remaining_turns"]),
            handoff_tokens=int(self.data["handoffs"]["packet"]["budget_tokens"]),
            overhead_tokens=int(cost["session_overhead_tokens"]),
            cache_ttl=str(cost["cache_ttl"]),
            context_tokens=int(cost["default_context_tokens"]),
        )

    @property
    def price_overrides(self) -> Mapping[str, Mapping[str, Any]]:
        prices: Mapping[str, Mapping[str, Any]] = self.data["cost"]["prices"]
        return prices

    @cached_property
    def prices(self) -> PriceTable:
        """The built-in price table with ``cost.prices`` laid over it."""
        return price_table(self.price_overrides)

    @property
    def untrusted_note(self) -> str | None:
        """One line on the ignored keys, for status, tick and doctor; None when nothing is ignored."""
        if not self.untrusted:
            return None
        return (
            f".cloister/config.yaml sets {self.untrusted_where}, ignored until you run "
            "`cloisterctl trust` in this clone (the built-in or your own values are used)"
        )

    @property
    def untrusted_where(self) -> str:
        """The ignored keys, each with its line: ``tests.patterns (line 4), ...``."""
        lines = self.untrusted_lines or (None,) * len(self.untrusted)
        return ", ".join(
            f"{key} (line {line})" if line else key for key, line in zip(self.untrusted, lines, strict=True)
        )

    # ------------------------------------------------------------------ provenance

    def flatten(self) -> list[tuple[str, Any, str]]:
        """Every leaf of the effective config as (dotted key, value, where it came from)."""
        from cloisterctl.config.spec import dotted

        rows: list[tuple[str, Any, str]] = []

        def walk(value: Any, path: tuple[str | int, ...]) -> None:
            if isinstance(value, dict) and value:
                for key, item in value.items():
                    walk(item, (*path, key))
                return
            key = dotted(path)
            rows.append((key, value, self.sources.get(key, "default")))

        walk(self.data, ())
        return rows
