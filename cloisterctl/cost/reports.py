"""Cost reports: cells grouped by a dimension or a period and summed, the cache hit rate, and the
JSON of ``cloisterctl cost``. Pure.

Periods are of UTC days: ``day`` (``YYYY-MM-DD``), ``week`` (the ISO 8601 week, Monday to Sunday,
``YYYY-Www``) and ``month`` (``YYYY-MM``); their rows are in time order, every other grouping's by
cost. ``--breakdown`` adds each row's per-model sub-rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cloisterctl.cost.tally import _SUMS, NONE, Cell, Tally, hit_rate
from cloisterctl.errors import CostError
from cloisterctl.models.prices import PriceTable


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


PERIODS = ("day", "week", "month")
# What ``cloisterctl cost --by`` takes: the cells' own dimensions and the periods of their days.
GROUPINGS = ("agent", "model", "tier", "task", "session", "day", "week", "month", "project", "subagent")


def week_of(day: str) -> str:
    """The ISO 8601 week of a ``YYYY-MM-DD`` day: ``YYYY-Www``. Weeks start on Monday and the year
    is the ISO year (2025-12-29 is in 2026-W01, 2027-01-03 in 2026-W53)."""
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def period_bounds(key: str, by: str) -> tuple[str, str]:
    """The first and last day of a period row (``week``: Monday and Sunday; ``month``: 1st and last)."""
    if by == "week":
        year, week = key.split("-W")
        first = date.fromisocalendar(int(year), int(week), 1)
        return first.isoformat(), (first + timedelta(days=6)).isoformat()
    if by == "month":
        first = date.fromisoformat(f"{key}-01")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first.isoformat(), (following - timedelta(days=1)).isoformat()
    return key, key


def _key_function(by: str) -> Any:
    if by == "week":
        weeks: dict[str, str] = {}  # a day's week, computed once per day

        def week(cell: Cell) -> str:
            found = weeks.get(cell.day)
            if found is None:
                found = weeks[cell.day] = week_of(cell.day)
            return found

        return week
    if by == "month":
        return lambda cell: cell.day[:7]
    return lambda cell: cell.value(by)


def group(cells: Iterable[Cell], by: str, *, breakdown: bool = False) -> list[dict[str, Any]]:
    """Rows of summed cells, one per value of ``by``: periods in time order, anything else by cost.
    A period row says its first and last day (``from``, ``to``); with ``breakdown`` every row
    has its per-model sub-rows under ``models`` (by cost)."""
    if by not in GROUPINGS:
        raise CostError(f"cannot group cost by {by!r}; use one of {', '.join(GROUPINGS)}")
    key_of = _key_function(by)
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(key_of(cell), []).append(cell)
    rows = []
    for key, members in groups.items():
        row: dict[str, Any] = {"key": key}
        if by in ("week", "month"):
            row["from"], row["to"] = period_bounds(key, by)
        row.update(_sum(members))
        if breakdown:
            row["models"] = group(members, "model")
        rows.append(row)
    if by in PERIODS:
        rows.sort(key=lambda row: row["key"])
    else:
        rows.sort(key=lambda row: (-row["usd"], row["key"]))
    return rows


def parse_date(text: str | None, option: str = "--since") -> str | None:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` -> ``YYYY-MM-DD``."""
    if text is None:
        return None
    digits = text.replace("-", "") if len(text) == 10 and text[4] == text[7] == "-" else text
    try:
        if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
            raise ValueError(text)
        return datetime.strptime(digits, "%Y%m%d").strftime("%Y-%m-%d")
    except ValueError:
        raise CostError(f"{option} {text!r}: expected a date as YYYY-MM-DD or YYYYMMDD") from None


def in_period(cells: Iterable[Cell], since: str | None, until: str | None) -> list[Cell]:
    """The cells of the UTC days from ``since`` to ``until``, both included (None: open)."""
    return [cell for cell in cells if (since is None or cell.day >= since) and (until is None or cell.day <= until)]


@dataclass
class CostData:
    """Everything a report or the dashboard shows, for one scope and period."""

    problems: list[str]  # what was wrong with the ledger
    tally: Tally
    cells: list[Cell]  # transcripts and usage events, filtered by --since
    covered_usage_events: int
    all_projects: bool
    since: str | None
    until: str | None = None


def report(data: CostData, by: str, prices: PriceTable, *, breakdown: bool = False) -> dict[str, Any]:
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
        "until": data.until,
        "breakdown": breakdown,
        "rows": group(data.cells, by, breakdown=breakdown),
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


def money(value: float) -> str:
    """A USD amount as people read it: four decimals under $100, cents above."""
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"
