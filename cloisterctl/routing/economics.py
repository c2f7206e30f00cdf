"""When does a tier change pay for itself? Pure; the numbers `whatif` prints and decisions record.

Prompt caches are per model, so moving work to another model re-reads its context at the new
model's cache-write price. With warm context ``C`` on the old model, ``o`` output tokens per turn,
old cache-read price ``r_old``, new cache-write price ``w_new`` (5-minute or 1-hour TTL), output
prices ``out_old`` / ``out_new``, and a handoff packet of ``H`` tokens:

- **stay**: every turn costs ``C*r_old + o*out_old``.
- **mid-session switch** (what a model switch inside one session costs; cloisterctl never does it):
  a one-time premium ``C*(w_new - r_old)``, then ``C*r_new + o*out_new`` per turn.
- **fresh session from a handoff packet**: it starts from ``F = H + S`` tokens, the packet plus the
  agent's own start-up context ``S`` (Claude Code's system prompt and tool definitions), so a
  one-time premium ``F*w_new - C*r_old``, then ``F*r_new + o*out_new`` per turn.

Each option saves ``stay_per_turn - option_per_turn`` per turn and breaks even after
``premium / saving`` turns (0 when the premium is not positive; never when it saves nothing).
Over ``T`` expected turns an option costs ``premium + T*option_per_turn``.

Example (DESIGN §6): opus-4.5 -> haiku-4.5, C = 100K, o = 1K, 5-minute writes: premium
100K*(1.25-0.50)/1M = $0.075, saving 100K*(0.50-0.10)/1M + 1K*(25-5)/1M = $0.06 a turn,
break-even 1.25 turns. Context growth and re-reading files after a fresh start are not modelled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cloisterctl.config.settings import WhatifDefaults
from cloisterctl.models.prices import PER_MILLION, Price, Rates, Tokens


@dataclass(frozen=True)
class Option:
    name: str
    premium_usd: float
    per_turn_usd: float
    saving_per_turn_usd: float
    break_even_turns: float | None
    total_usd: float
    saving_usd: float

    def pays_within(self, turns: int) -> bool:
        return self.break_even_turns is not None and self.break_even_turns <= turns and self.saving_usd > 0


@dataclass(frozen=True)
class WhatIf:
    from_model: str
    to_model: str
    context_tokens: int
    output_per_turn: int
    turns: int
    handoff_tokens: int
    overhead_tokens: int
    cache_ttl: str
    stay: Option
    switch: Option
    fresh: Option

    @property
    def handoff_pays(self) -> bool:
        return self.fresh.pays_within(self.turns)

    @property
    def verdict(self) -> str:
        fresh = self.fresh
        if self.handoff_pays:
            when = "at once" if fresh.break_even_turns == 0 else f"after {fresh.break_even_turns:.2f} turns"
            return (
                f"hand off to {self.to_model} with a packet of {self.handoff_tokens:,} tokens: it pays {when} "
                f"and saves ${fresh.saving_usd:.4f} over {self.turns} turns"
            )
        if fresh.break_even_turns is None:
            return f"stay on {self.from_model}: {self.to_model} would not be cheaper per turn"
        return (
            f"stay on {self.from_model}: a handoff breaks even only after {fresh.break_even_turns:.2f} turns, "
            f"more than the {self.turns} expected"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["handoff_pays"] = self.handoff_pays
        data["verdict"] = self.verdict
        return data


def _usd(tokens: int, rate: float) -> float:
    return tokens * rate / PER_MILLION


def _option(name: str, premium: float, per_turn: float, stay_per_turn: float, turns: int) -> Option:
    saving = stay_per_turn - per_turn
    if saving <= 0:
        break_even = None
    elif premium <= 0:
        break_even = 0.0
    else:
        break_even = premium / saving
    total = premium + turns * per_turn
    return Option(
        name=name,
        premium_usd=round(premium, 10),
        per_turn_usd=round(per_turn, 10),
        saving_per_turn_usd=round(saving, 10),
        break_even_turns=None if break_even is None else round(break_even, 4),
        total_usd=round(total, 10),
        saving_usd=round(turns * stay_per_turn - total, 10),
    )


def _write_rate(rates: Rates, cache_ttl: str) -> float:
    return rates.cache_write_1h if cache_ttl == "1h" else rates.cache_write_5m


def whatif(
    from_price: Price,
    to_price: Price,
    *,
    context_tokens: int,
    output_per_turn: int,
    turns: int,
    handoff_tokens: int,
    overhead_tokens: int = 0,
    cache_ttl: str = "5m",
) -> WhatIf:
    """Stay, switch mid-session, or start fresh from a packet: costs and break-evens."""
    old = from_price.rates_for(Tokens(cache_read=context_tokens))
    new_warm = to_price.rates_for(Tokens(cache_read=context_tokens))
    fresh_context = handoff_tokens + overhead_tokens
    new_fresh = to_price.rates_for(Tokens(cache_read=fresh_context))
    stay_per_turn = _usd(context_tokens, old.cache_read) + _usd(output_per_turn, old.output)
    stay = _option("stay", 0.0, stay_per_turn, stay_per_turn, turns)
    switch = _option(
        "switch",
        _usd(context_tokens, _write_rate(new_warm, cache_ttl)) - _usd(context_tokens, old.cache_read),
        _usd(context_tokens, new_warm.cache_read) + _usd(output_per_turn, new_warm.output),
        stay_per_turn,
        turns,
    )
    fresh = _option(
        "fresh",
        _usd(fresh_context, _write_rate(new_fresh, cache_ttl)) - _usd(context_tokens, old.cache_read),
        _usd(fresh_context, new_fresh.cache_read) + _usd(output_per_turn, new_fresh.output),
        stay_per_turn,
        turns,
    )
    return WhatIf(
        from_model=from_price.model,
        to_model=to_price.model,
        context_tokens=context_tokens,
        output_per_turn=output_per_turn,
        turns=turns,
        handoff_tokens=handoff_tokens,
        overhead_tokens=overhead_tokens,
        cache_ttl=cache_ttl,
        stay=stay,
        switch=switch,
        fresh=fresh,
    )


def downgrade_whatif(
    from_price: Price,
    to_price: Price,
    context_tokens: int,
    defaults: WhatifDefaults,
    *,
    handoff_tokens: int | None = None,
) -> WhatIf:
    """``whatif`` with the configured assumptions: what every downgrade decision records."""
    return whatif(
        from_price,
        to_price,
        context_tokens=context_tokens,
        output_per_turn=defaults.output_per_turn,
        turns=defaults.turns,
        handoff_tokens=defaults.handoff_tokens if handoff_tokens is None else handoff_tokens,
        overhead_tokens=defaults.overhead_tokens,
        cache_ttl=defaults.cache_ttl,
    )


def warm_context(context: int | None, default: int) -> int:
    """A running session's warm context: from its latest cost checkpoint, else the configured guess."""
    return context if isinstance(context, int) and not isinstance(context, bool) and context > 0 else default
