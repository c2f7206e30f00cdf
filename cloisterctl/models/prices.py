"""The price table (data, with its date and source, overridable in config) and the cost of a request.

Rates are USD per million tokens. Cache writes cost 1.25x input (5-minute TTL) or 2x input (1-hour
TTL) and cache reads 0.1x input unless a model's entry says otherwise. Models with long-context
rates use them for the *whole* request when its input side (input + cache writes + cache reads)
exceeds the threshold. Models with fast-mode rates (``usage.speed == "fast"``) use them for a fast
request.

A model id is priced by the table entry it names (``PriceTable.resolve``): the id as written, or
with the wrappers providers and Claude Code put around it taken off (``anthropic/``,
``bedrock/``, ``us.``/``global.anthropic.``, ``-v1:0``, ``@20251101``, ``[1m]``:
``models.tiers.normalise_model_id``), its date, a ``-latest`` or ``-0`` alias suffix, ``.`` for
``-``, or without ``claude-``. A model that names no entry has no price: callers count it at $0
and say so (``cost --json`` ``unpriced_models``; the fold's ``CostTotals.unpriced``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from cloisterctl.models.tiers import normalise_model_id

PER_MILLION = 1_000_000
# The price table as the package ships it: the name cited (relative to the package's parent
# directory, never a machine path) wherever a price's source is shown.
PRICE_FILE = "cloisterctl/models/prices.json"


@dataclass(frozen=True)
class Tokens:
    """Token counts of one request, or a sum of requests (what a ``usage`` event records)."""

    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def input_side(self) -> int:
        """Everything the model read: what decides long-context pricing."""
        return self.input + self.cache_write + self.cache_read

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Rates:
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    def cost(self, tokens: Tokens) -> float:
        return (
            tokens.input * self.input
            + tokens.output * self.output
            + tokens.cache_write_5m * self.cache_write_5m
            + tokens.cache_write_1h * self.cache_write_1h
            + tokens.cache_read * self.cache_read
        ) / PER_MILLION


@dataclass(frozen=True)
class Price:
    model: str
    base: Rates
    long_context: Rates | None = None
    long_context_threshold: int = 200_000
    fast: Rates | None = None

    def rates_for(self, tokens: Tokens, *, fast: bool = False) -> Rates:
        if fast and self.fast is not None:
            return self.fast
        if self.long_context is not None and tokens.input_side > self.long_context_threshold:
            return self.long_context
        return self.base

    def cost(self, tokens: Tokens, *, fast: bool = False) -> float:
        """USD for one request (long-context rates apply per request, so don't pass sums here)."""
        return self.rates_for(tokens, fast=fast).cost(tokens)


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    source: str
    prices: Mapping[str, Price]
    file: str = PRICE_FILE  # the shipped table (relative to the package's parent directory)

    def resolve(self, model: str) -> str | None:
        """The table id ``model`` names: the exact id, its normalised form (``[1m]``, provider
        prefixes and version suffixes off), then one id in the table it names without its date, a
        ``-latest`` or ``-0`` alias suffix, ``claude-`` or with ``.`` for ``-`` (``claude-opus-4-5``,
        ``opus-4.5``, ``claude-opus-4-5@20251101`` for ``claude-opus-4-5-20251101``;
        ``claude-opus-4-7-20260416`` for ``claude-opus-4-7``); None when it names none."""
        if model in self.prices:
            return model
        bare = normalise_model_id(model)
        if bare in self.prices:
            return bare
        for spelling in _spellings(bare):
            alias = _alias_of(spelling, self.prices)
            if alias:
                return alias
        return None

    def lookup(self, model: str) -> Price | None:
        """The price of ``model`` (``resolve``); None when unknown."""
        found = self.resolve(model)
        return None if found is None else self.prices[found]

    def cost(self, model: str, tokens: Tokens, *, fast: bool = False) -> float | None:
        price = self.lookup(model)
        return None if price is None else price.cost(tokens, fast=fast)


def _undated(model_id: str) -> str:
    """``model_id`` without a ``-YYYYMMDD`` suffix (no ``re``: this module loads on lean paths)."""
    head, dash, tail = model_id.rpartition("-")
    return head if dash and len(tail) == 8 and tail.isascii() and tail.isdigit() else model_id


def _spellings(bare: str) -> list[str]:
    """``bare`` and what it names with a date, ``-latest`` or a ``-0`` alias suffix taken off
    (``claude-3-5-haiku-latest``, ``claude-opus-4-0``: the API's aliases of a dated id)."""
    found = [bare, _undated(bare)]
    for suffix in ("-latest", "-0"):
        if bare.endswith(suffix):
            found.append(bare.removesuffix(suffix))
    return list(dict.fromkeys(found))


def _alias_of(model: str, prices: Mapping[str, Price]) -> str | None:
    """The one table id that ``model`` names without its date (and with ``.`` for ``-`` or without
    the ``claude-`` prefix, as people write them); None when it names none, or several."""
    name = model.replace(".", "-")
    if not name.startswith("claude-"):
        name = "claude-" + name
    if name in prices:
        return name
    matches = [known for known in prices if _undated(known) == name]
    return matches[0] if len(matches) == 1 else None


def _rates(entry: Mapping[str, Any], multipliers: Mapping[str, float], fallback: Rates | None = None) -> Rates:
    def pick(key: str, default: float | None) -> float:
        if key in entry:
            return float(entry[key])
        if default is None:
            raise KeyError(key)
        return default

    base_input = pick("input", fallback.input if fallback else None)
    return Rates(
        input=base_input,
        output=pick("output", fallback.output if fallback else None),
        # Rounded so 0.1 x 6 is 0.6, not 0.6000000000000001.
        cache_write_5m=pick("cache_write_5m", round(base_input * multipliers["cache_write_5m"], 9)),
        cache_write_1h=pick("cache_write_1h", round(base_input * multipliers["cache_write_1h"], 9)),
        cache_read=pick("cache_read", round(base_input * multipliers["cache_read"], 9)),
    )


def _price(model: str, entry: Mapping[str, Any], multipliers: Mapping[str, float]) -> Price:
    base = _rates(entry, multipliers)
    long_entry = entry.get("long_context")
    fast_entry = entry.get("fast")
    return Price(
        model,
        base,
        _rates(long_entry, multipliers, fallback=base) if long_entry else None,
        int(long_entry.get("threshold_tokens", 200_000)) if long_entry else 200_000,
        _rates(fast_entry, multipliers, fallback=base) if fast_entry else None,
    )


@cache
def _builtin() -> dict[str, Any]:
    # Beside this module (a path, not importlib.resources: its import costs more than the read).
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "prices.json"), encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def price_table(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> PriceTable:
    """The built-in table with config ``cost.prices`` entries laid over it (a partial entry keeps
    the built-in values it does not set)."""
    data = _builtin()
    multipliers = data["multipliers"]
    entries: dict[str, dict[str, Any]] = {model: dict(entry) for model, entry in data["models"].items()}
    for model, entry in (overrides or {}).items():
        merged = {**entries.get(model, {}), **entry}
        for nested in ("long_context", "fast"):
            if nested in entry and nested in entries.get(model, {}):
                merged[nested] = {**entries[model][nested], **entry[nested]}
        entries[model] = merged
    prices = {model: _price(model, entry, multipliers) for model, entry in entries.items() if "input" in entry}
    source = f"{PRICE_FILE} ({data['as_of']}): {data['source']}" + (" + cost.prices in config" if overrides else "")
    return PriceTable(str(data["as_of"]), source, prices)
