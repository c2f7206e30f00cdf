"""Tiers, complexity levels, and the one function that turns any model id into a tier. Stdlib only."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence

from cloisterctl.errors import UnknownModelError

# Cheapest first: the index is the escalation order.
TIERS: tuple[str, ...] = ("haiku", "sonnet", "opus")
# Ordered easiest first: the index is the level's rank.
LEVELS: tuple[str, ...] = ("trivial", "simple", "medium", "complex", "expert")

_PROVIDER_PREFIX = re.compile(r"^(?:.*/)?(?:[a-z0-9-]+\.)?(?:anthropic\.)", re.IGNORECASE)
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


def level_index(level: str) -> int:
    return LEVELS.index(level)


def tier_above(tier: str) -> str | None:
    """The next tier up, or None at the top."""
    rank = tier_rank(tier)
    return TIERS[rank + 1] if rank + 1 < len(TIERS) else None


def normalise_model_id(model: str) -> str:
    """Strip what providers and CLIs wrap around a model id.

    ``anthropic/claude-3-5-haiku`` (gateway prefix), ``us.anthropic.claude-sonnet-4-5-20250929-v1:0``
    (Bedrock region + version), ``claude-opus-4-5@20251101`` (Vertex), ``sonnet[1m]`` (Claude Code's
    context suffix) all come down to the bare id.
    """
    text = model.strip().lower()
    text = text.split("[", 1)[0]
    if "/" in text:
        text = text.rsplit("/", 1)[1]
    text = _PROVIDER_PREFIX.sub("", text)
    text = _VERSION_SUFFIX.sub("", text)
    text = text.split("@", 1)[0]
    return text


def tier_for_model(model: str, patterns: Mapping[str, Sequence[str]]) -> str | None:
    """The tier whose patterns match ``model``; None when no tier claims it.

    ``patterns`` maps tier -> fnmatch globs over the normalised id (config ``tiers.<tier>.patterns``).
    A bare tier name always maps to itself.
    """
    bare = normalise_model_id(model)
    if bare in TIERS:
        return bare
    matches = [
        tier for tier in TIERS if any(fnmatch.fnmatchcase(bare, glob.lower()) for glob in patterns.get(tier, ()))
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UnknownModelError(
            f"model {model!r} matches the patterns of several tiers ({', '.join(matches)}); "
            "make tiers.<tier>.patterns in the config unambiguous"
        )
    return None


def require_tier(model: str, patterns: Mapping[str, Sequence[str]]) -> str:
    """Like :func:`tier_for_model` but an unknown id is an error that says how to fix it."""
    tier = tier_for_model(model, patterns)
    if tier is None:
        raise UnknownModelError(
            f"unknown model {model!r}: it matches no tier; add a pattern under "
            "tiers.<tier>.patterns in .cloister/config.yaml"
        )
    return tier
