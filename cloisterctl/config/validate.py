"""Validating config: the schema in every file layer, then cross-key checks on the merged result.

Every problem names its file, line and key path; nothing stops at the first one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from cloisterctl.config.layers import ENV_OVERRIDES, Layer, Problem, merge_layers
from cloisterctl.config.schema import SCHEMA, SPAWN_PLACEHOLDERS
from cloisterctl.config.settings import Config
from cloisterctl.config.spec import KeyPath, did_you_mean, dotted
from cloisterctl.errors import UnknownModelError
from cloisterctl.models.prices import price_table


def validate_layers(layers: Sequence[Layer]) -> list[Problem]:
    """Schema problems in every non-default layer, then cross-key problems in the merged result."""
    problems: list[Problem] = []
    for layer in layers:
        if layer.source == "default":
            continue

        def emit(path: KeyPath, message: str, layer: Layer = layer) -> None:
            problems.append(Problem(_source_of(layer, path), layer.line_of(path), dotted(path), message))

        SCHEMA.check(layer.data, (), emit)
    # Cross-key checks run even when the schema found problems, so one pass reports everything;
    # data the schema already rejected may trip them up, and is already reported.
    reported = {problem.path for problem in problems}
    try:
        semantic = _semantic_problems(Config(*merge_layers(layers)))
    except (TypeError, KeyError, AttributeError, ValueError):
        semantic = []
    problems += [problem for problem in semantic if problem.path not in reported]
    return problems


def _source_of(layer: Layer, path: KeyPath) -> str:
    """Where a value came from, as the user knows it: a file, or the variable that set it."""
    if layer.source == "env":
        for name, (key_path, _parse) in ENV_OVERRIDES.items():
            if path[: len(key_path)] == key_path:
                return f"env {name}"
    return layer.source


def _semantic_problems(config: Config) -> list[Problem]:
    """Checks that need the merged config: every tier reference must resolve with the tier patterns."""
    problems: list[Problem] = []

    def problem(path: str, message: str) -> None:
        # A list is one leaf in the provenance map: `runtime.spawn[2]` came from wherever `runtime.spawn` did.
        key = path
        while key not in config.sources and re.search(r"[.\[]", key):
            key = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key)
        source = config.sources.get(key, "default")
        name, _, line = source.rpartition(":")
        if name and line.isdigit():
            problems.append(Problem(name, int(line), path, message))
        else:
            problems.append(Problem(source, None, path, message))

    def tier_ref(path: str, value: Any, roles_ok: bool = False) -> None:
        if roles_ok and value in config.data["roles"]:
            return
        try:
            config.tier_of(str(value))
        except UnknownModelError as exc:
            problem(path, str(exc))

    for level, target in config.data["complexity_routing"].items():
        tier_ref(f"complexity_routing.{level}", target)
    for role, target in config.data["roles"].items():
        tier_ref(f"roles.{role}", target)
    for tier, spec in config.data["tiers"].items():
        model = spec.get("model")
        if model is None:
            problem(f"tiers.{tier}.model", "missing model id")
            continue
        try:
            found = config.tier_of(str(model))
        except UnknownModelError as exc:
            problem(f"tiers.{tier}.model", str(exc))
            continue
        if found != tier:
            problem(f"tiers.{tier}.model", f"{model!r} normalises to tier {found!r}, not {tier!r}")
    triggers = config.data["handoffs"]["auto_triggers"]
    for name, spec in triggers.items():
        for key in ("from_model", "to_model"):
            if key in spec:
                tier_ref(f"handoffs.auto_triggers.{name}.{key}", spec[key], roles_ok=True)
        role = spec.get("to_specialist")
        if role is not None and role not in config.data["roles"]:
            hint = did_you_mean(role, list(config.data["roles"]))
            problem(f"handoffs.auto_triggers.{name}.to_specialist", f"unknown role {role!r}{hint}")
    spawn = config.data["runtime"]["spawn"]
    if not spawn or not spawn[0]:
        problem("runtime.spawn", "the spawn command needs at least a program name")
    for key in ("spawn", "resume"):  # an empty resume is allowed: the spawn template restarts then
        for index, arg in enumerate(config.data["runtime"][key]):
            for name in re.findall(r"\{([^{}]*)\}", arg):
                if name not in SPAWN_PLACEHOLDERS:
                    problem(
                        f"runtime.{key}[{index}]",
                        f"unknown placeholder {{{name}}}{did_you_mean(name, sorted(SPAWN_PLACEHOLDERS))}; "
                        f"known: {', '.join('{' + p + '}' for p in sorted(SPAWN_PLACEHOLDERS))}",
                    )
    known = price_table().prices
    for model, entry in config.data["cost"]["prices"].items():
        missing = [key for key in ("input", "output") if key not in entry and model not in known]
        if missing:
            problem(
                f"cost.prices.{model}", f"{model!r} is not in the built-in table, so it needs {' and '.join(missing)}"
            )
    for index, pattern in enumerate(config.data["tests"]["patterns"]):
        try:
            re.compile(pattern)
        except re.error as exc:
            problem(f"tests.patterns[{index}]", f"invalid regular expression: {exc}")
    return problems
