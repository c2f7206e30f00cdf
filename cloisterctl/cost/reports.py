"""Cost reports: cells grouped (``cost.groupings``) and summed, the cache hit rate, and the JSON of
``cloisterctl cost``. Pure. Period rows are in time order, every other grouping's by cost.
``--breakdown`` adds each row's per-model sub-rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from typing import Any

from cloisterctl.cost.groupings import Grouping, grouping_named
from cloisterctl.cost.tally import NONE, Cell, Tally, hit_rate
from cloisterctl.errors import CostError
from cloisterctl.models.prices import PriceTable


def _sum(cells: Iterable[Cell]) -> dict[str, Any]:
    requests = fresh = output = write_5m = write_1h = read = long_context = unpriced = 0
    money = 0.0
    for cell in cells:
        requests += cell.requests
        money += cell.usd
        fresh += cell.input
        output += cell.output
        write_5m += cell.cache_write_5m
        write_1h += cell.cache_write_1h
        read += cell.cache_read
        long_context += cell.long_context
        unpriced += cell.unpriced
    return {
        "requests": requests,
        "usd": round(money, 9),  # reports keep sub-micro-dollar precision; the ledger rounds to 1e-6
        "tokens": {
            "input": fresh,
            "output": output,
            "cache_write_5m": write_5m,
            "cache_write_1h": write_1h,
            "cache_read": read,
        },
        "cache_hit_rate": _rounded_rate(fresh, write_5m + write_1h, read),
        "long_context_requests": long_context,
        "unpriced_requests": unpriced,
    }


def _rounded_rate(fresh: int, cache_write: int, cache_read: int) -> float | None:
    rate = hit_rate(fresh, cache_write, cache_read)
    return None if rate is None else round(rate, 4)


def _row_key_function(grouping: Grouping) -> Callable[[Cell], str]:
    """Cell -> the key of its row."""
    value_of = attrgetter(f"key.{grouping.key_field}")
    period = grouping.period
    if period is None:

        def value(cell: Cell) -> str:
            found = value_of(cell)
            return NONE if found is None else str(found)

        return value
    periods: dict[str, str] = {}  # a day's period, computed once per day

    def period_value(cell: Cell) -> str:
        day = value_of(cell)
        found = periods.get(day)
        if found is None:
            found = periods[day] = period(day)
        return found

    return period_value


def group(cells: Iterable[Cell], by: str, *, breakdown: bool = False) -> list[dict[str, Any]]:
    """Rows of summed cells, one per value of ``by``: periods in time order, anything else by cost.
    A period row longer than a day says its first and last day (``from``, ``to``); with
    ``breakdown`` every row has its per-model sub-rows under ``models`` (by cost)."""
    grouping = grouping_named(by)
    row_key = _row_key_function(grouping)
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(row_key(cell), []).append(cell)
    rows = []
    for key, members in groups.items():
        row: dict[str, Any] = {"key": key}
        if grouping.bounds is not None:
            row["from"], row["to"] = grouping.bounds(key)
        row.update(_sum(members))
        if breakdown:
            row["models"] = group(members, "model")
        rows.append(row)
    if grouping.period is not None:
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
    return [
        cell for cell in cells if (since is None or cell.key.day >= since) and (until is None or cell.key.day <= until)
    ]


@dataclass
class CostData:
    """What a scope's cost is made of: the transcripts' tally and the cells of the ledger's usage
    events, with the scope and period a report shows (for a refresh: every day)."""

    tally: Tally
    usage_cells: list[Cell]  # the usage events' (other runtimes, claude -p results)
    covered_usage_events: int = 0  # usage events left out: their session's transcript is read
    problems: list[str] = field(default_factory=list)  # what was wrong with the ledger
    all_projects: bool = False
    since: str | None = None
    until: str | None = None

    @cached_property
    def cells(self) -> list[Cell]:
        """Every cell of the period, the transcripts' and the usage events'."""
        return in_period(self.tally.cells + self.usage_cells, self.since, self.until)


def report(data: CostData, by: str, prices: PriceTable, *, breakdown: bool = False) -> dict[str, Any]:
    """The JSON of ``cloisterctl cost``; ``total_usd`` at the top."""
    cells = data.cells
    totals = _sum(cells)
    by_tier = {row["key"]: row["cache_hit_rate"] for row in group(cells, "tier")}
    sessions_seen = {cell.key.session for cell in cells}
    by_session = {row["key"]: row["cache_hit_rate"] for row in group(cells, "session") if row["key"] != NONE}
    switches = [
        {"session": session, "agent": info.agent, "models": info.main_models}
        for session, info in sorted(data.tally.sessions.items())
        if info.switched and session in sessions_seen
    ]
    unpriced: dict[str, int] = {}
    for cell in cells:
        if cell.unpriced:
            unpriced[cell.key.model] = unpriced.get(cell.key.model, 0) + cell.unpriced
    return {
        "total_usd": totals["usd"],
        "scope": "all projects" if data.all_projects else "workspace",
        "by": by,
        "since": data.since,
        "until": data.until,
        "breakdown": breakdown,
        "rows": group(cells, by, breakdown=breakdown),
        "totals": totals,
        "cache_hit_rate": {"total": totals["cache_hit_rate"], "by_tier": by_tier, "by_session": by_session},
        "mid_session_switches": switches,
        "unpriced_models": dict(sorted(unpriced.items())),
        "covered_usage_events": data.covered_usage_events,
        "sessions": len(sessions_seen - {NONE}),
        "files": data.tally.files,
        "bytes_read": data.tally.bytes_read,
        # The shipped table, by its name in the package (never a machine path), and its date.
        "prices": {"file": prices.file, "as_of": prices.as_of, "source": prices.source},
        "problems": data.problems + data.tally.problems,
    }


def money(value: float) -> str:
    """A USD amount as people read it: four decimals under $100, cents above."""
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"
