"""Cost reports: cells grouped by a dimension and summed, the cache hit rate, and the JSON of
``cloisterctl cost``. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloisterctl.core.tally import _SUMS, DIMENSIONS, NONE, Cell, Tally, hit_rate
from cloisterctl.errors import CostError
from cloisterctl.model.prices import PriceTable


def _sum(cells: Iterable[Cell]) -> dict[str, Any]:
    totals = dict.fromkeys(_SUMS, 0)
    money = 0.0
    for cell in cells:
        money += cell.usd
        for name in _SUMS:
            if name != "usd":
                totals[name] += getattr(cell, name)
    return {
        "requests": totals["requests"],
        "usd": round(money, 9),  # reports keep sub-micro-dollar precision; the ledger rounds to 1e-6
        "tokens": {
            "input": totals["input"],
            "output": totals["output"],
            "cache_write_5m": totals["cache_write_5m"],
            "cache_write_1h": totals["cache_write_1h"],
            "cache_read": totals["cache_read"],
        },
        "cache_hit_rate": _rounded_rate(
            totals["input"], totals["cache_write_5m"] + totals["cache_write_1h"], totals["cache_read"]
        ),
        "long_context_requests": totals["long_context"],
        "unpriced_requests": totals["unpriced"],
    }


def _rounded_rate(fresh: int, cache_write: int, cache_read: int) -> float | None:
    rate = hit_rate(fresh, cache_write, cache_read)
    return None if rate is None else round(rate, 4)


def group(cells: Iterable[Cell], by: str) -> list[dict[str, Any]]:
    """Rows of summed cells, one per value of ``by``: days in date order, anything else by cost."""
    if by not in DIMENSIONS:
        raise CostError(f"cannot group cost by {by!r}; use one of {', '.join(DIMENSIONS)}")
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.value(by), []).append(cell)
    rows = [{"key": key, **_sum(members)} for key, members in groups.items()]
    if by == "day":
        rows.sort(key=lambda row: row["key"])
    else:
        rows.sort(key=lambda row: (-row["usd"], row["key"]))
    return rows


def parse_since(text: str | None) -> str | None:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` -> ``YYYY-MM-DD``."""
    if text is None:
        return None
    digits = text.replace("-", "")
    try:
        return datetime.strptime(digits, "%Y%m%d").strftime("%Y-%m-%d")
    except ValueError:
        raise CostError(f"--since {text!r}: expected a date as YYYY-MM-DD") from None


@dataclass
class CostData:
    """Everything a report or the dashboard shows, for one scope and period."""

    problems: list[str]  # what was wrong with the ledger
    tally: Tally
    cells: list[Cell]  # transcripts and usage events, filtered by --since
    covered_usage_events: int
    all_projects: bool
    since: str | None


def report(data: CostData, by: str, prices: PriceTable) -> dict[str, Any]:
    """The JSON of ``cloisterctl cost``; ``total_usd`` at the top."""
    totals = _sum(data.cells)
    by_tier = {row["key"]: row["cache_hit_rate"] for row in group(data.cells, "tier")}
    sessions_seen = {cell.session for cell in data.cells}
    by_session = {row["key"]: row["cache_hit_rate"] for row in group(data.cells, "session") if row["key"] != NONE}
    switches = [
        {"session": session, "agent": info.agent, "models": info.main_models}
        for session, info in sorted(data.tally.sessions.items())
        if info.switched and session in sessions_seen
    ]
    unpriced: dict[str, int] = {}
    for cell in data.cells:
        if cell.unpriced:
            unpriced[cell.model] = unpriced.get(cell.model, 0) + cell.unpriced
    return {
        "total_usd": totals["usd"],
        "scope": "all projects" if data.all_projects else "workspace",
        "by": by,
        "since": data.since,
        "rows": group(data.cells, by),
        "totals": totals,
        "cache_hit_rate": {"total": totals["cache_hit_rate"], "by_tier": by_tier, "by_session": by_session},
        "mid_session_switches": switches,
        "unpriced_models": dict(sorted(unpriced.items())),
        "covered_usage_events": data.covered_usage_events,
        "sessions": len(sessions_seen - {NONE}),
        "files": data.tally.files,
        "bytes_read": data.tally.bytes_read,
        "prices": {"as_of": prices.as_of, "source": prices.source},
        "problems": data.problems + data.tally.problems,
    }
