"""What ``cost --by`` groups by: ``GROUPINGS``, the one list, which the command line's choices, the
reports and the dashboard read. Pure, and light (the stdlib's dates alone): `cost` builds its
options from it before anything heavy is imported, so a run its memo answers stays fast.

Each grouping reads one ``CellKey`` field (``cost.tally``); the periods read the UTC day: ``day``
(``YYYY-MM-DD``), ``week`` (the ISO 8601 week, Monday to Sunday, ``YYYY-Www``) and ``month``
(``YYYY-MM``). Adding a grouping: a ``CellKey`` field, set where cells are made, and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from cloisterctl.errors import CostError


def week_of(day: str) -> str:
    """The ISO 8601 week of a ``YYYY-MM-DD`` day: ``YYYY-Www``. Weeks start on Monday and the year
    is the ISO year (2025-12-29 is in 2026-W01, 2027-01-03 in 2026-W53)."""
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _day(day: str) -> str:
    return day


def _month_of(day: str) -> str:
    return day[:7]


def _week_bounds(key: str) -> tuple[str, str]:
    year, week = key.split("-W")
    first = date.fromisocalendar(int(year), int(week), 1)
    return first.isoformat(), (first + timedelta(days=6)).isoformat()


def _month_bounds(key: str) -> tuple[str, str]:
    first = date.fromisoformat(f"{key}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.isoformat(), (following - timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Grouping:
    """What a row of ``cost --by NAME`` is: the cells with one value of ``key_field`` (a field of
    ``CellKey``), or for a period of days, the cells whose day is in one period (``period``: a
    day -> its period's key; ``bounds``: a period's first and last day, for periods longer than a
    day)."""

    name: str
    key_field: str
    period: Callable[[str], str] | None = None
    bounds: Callable[[str], tuple[str, str]] | None = None


GROUPINGS = (
    Grouping("agent", "agent"),
    Grouping("model", "model"),
    Grouping("tier", "tier"),
    Grouping("task", "task"),
    Grouping("session", "session"),
    Grouping("day", "day", period=_day),
    Grouping("week", "day", period=week_of, bounds=_week_bounds),
    Grouping("month", "day", period=_month_of, bounds=_month_bounds),
    Grouping("project", "project"),
    Grouping("subagent", "subagent"),
)
GROUPING_NAMES = tuple(grouping.name for grouping in GROUPINGS)  # what ``cost --by`` takes
_BY_NAME = {grouping.name: grouping for grouping in GROUPINGS}


def grouping_named(name: str) -> Grouping:
    """The grouping ``cost --by NAME`` means (a CostError naming them all for any other NAME)."""
    found = _BY_NAME.get(name)
    if found is None:
        raise CostError(f"cannot group cost by {name!r}; use one of {', '.join(GROUPING_NAMES)}")
    return found
