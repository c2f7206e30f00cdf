"""`claude -p --output-format json` (and ``stream-json``) results: what a run used, per model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloisterctl.errors import UsageError
from cloisterctl.models.prices import Tokens


@dataclass(frozen=True)
class ModelUse:
    """One model's tokens in a ``claude -p`` result's ``modelUsage``."""

    model: str
    tokens: Tokens
    reported_usd: float | None


@dataclass(frozen=True)
class ClaudeResult:
    session: str | None
    total_cost_usd: float | None
    models: list[ModelUse]


def _result_object(text: str, name: str) -> dict[str, Any]:
    """The ``"type": "result"`` object: the whole text (``--output-format json``) or its last such
    line (``stream-json``)."""
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        whole = None
    if isinstance(whole, dict) and whole.get("type", "result") == "result":
        return whole
    if isinstance(whole, list):  # some versions print the whole conversation as one array
        candidates = [item for item in whole if isinstance(item, dict) and item.get("type") == "result"]
        if candidates:
            return candidates[-1]
    found: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines() if whole is None else [], start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            raise UsageError(f"{name}:{number}: not valid JSON") from None
        if isinstance(item, dict) and item.get("type") == "result":
            found = item
    if found is None:
        raise UsageError(f"{name}: no result object (expected the output of claude -p --output-format json)")
    return found


def _tokens(entry: Mapping[str, Any], key: str, name: str) -> int:
    value = entry.get(key, 0)
    if type(value) is not int or value < 0:
        raise UsageError(f"{name}: {key} is not a token count: {value!r}")
    return value


def parse_claude_result(text: str, name: str) -> ClaudeResult:
    """What a ``claude -p --output-format json`` (or ``stream-json``) run used, per model, from its
    result's ``modelUsage`` (the split of cache writes by TTL is taken from ``usage.cache_creation``
    when one model did all the work; otherwise writes count as 5-minute writes)."""
    result = _result_object(text, name)
    model_usage = result.get("modelUsage")
    if result.get("type") not in (None, "result") or not isinstance(model_usage, dict) or not model_usage:
        raise UsageError(f"{name}: no modelUsage in the result (expected claude -p --output-format json)")
    overall = result.get("usage")
    split: Any = overall.get("cache_creation") if isinstance(overall, dict) else None
    one_hour_total = split.get("ephemeral_1h_input_tokens") if isinstance(split, dict) else None
    models: list[ModelUse] = []
    for model, entry in model_usage.items():
        if not isinstance(entry, dict):
            raise UsageError(f"{name}: modelUsage.{model} is not an object")
        label = f"{name}: modelUsage.{model}"
        written = _tokens(entry, "cacheCreationInputTokens", label)
        one_hour = 0
        if len(model_usage) == 1 and type(one_hour_total) is int:
            one_hour = max(0, min(written, one_hour_total))
        reported = entry.get("costUSD")
        models.append(
            ModelUse(
                str(model),
                Tokens(
                    _tokens(entry, "inputTokens", label),
                    _tokens(entry, "outputTokens", label),
                    written - one_hour,
                    one_hour,
                    _tokens(entry, "cacheReadInputTokens", label),
                ),
                float(reported) if isinstance(reported, int | float) and not isinstance(reported, bool) else None,
            )
        )
    session = result.get("session_id")
    total = result.get("total_cost_usd")
    return ClaudeResult(
        session if isinstance(session, str) and session else None,
        float(total) if isinstance(total, int | float) and not isinstance(total, bool) else None,
        models,
    )
