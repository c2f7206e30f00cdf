"""cost.reports: periods (ISO weeks, months), dates, grouping and the per-model breakdown."""

from __future__ import annotations

import pytest

from cloisterctl.cost.groupings import grouping_named, week_of
from cloisterctl.cost.reports import group, in_period, parse_date
from cloisterctl.cost.tally import Cell, CellKey
from cloisterctl.errors import CostError


def cell(
    day: str,
    model: str = "claude-sonnet-4-5",
    usd: float = 1.0,
    *,
    input: int = 0,
    output: int = 0,
    cache_write_5m: int = 0,
    cache_read: int = 0,
) -> Cell:
    return Cell(
        CellKey(
            project="-p", session="s1", agent="agent", task="t1", model=model, tier="sonnet", day=day, subagent=None
        ),
        requests=1,
        usd=usd,
        input=input,
        output=output,
        cache_write_5m=cache_write_5m,
        cache_read=cache_read,
    )


@pytest.mark.parametrize(
    ("day", "week"),
    [
        ("2026-11-02", "2026-W45"),  # a Monday
        ("2026-11-08", "2026-W45"),  # the Sunday of the same week
        ("2026-11-09", "2026-W46"),
        ("2025-12-29", "2026-W01"),  # the ISO year starts in the calendar year before
        ("2026-12-31", "2026-W53"),
        ("2027-01-03", "2026-W53"),  # and ends in the calendar year after
        ("2027-01-04", "2027-W01"),
    ],
)
def test_weeks_are_iso_8601_weeks(day: str, week: str) -> None:
    assert week_of(day) == week
    first, last = period_bounds(week, "week")
    assert first <= day <= last and week_of(first) == week_of(last) == week


def period_bounds(key: str, by: str) -> tuple[str, str]:
    bounds = grouping_named(by).bounds
    return (key, key) if bounds is None else bounds(key)


def test_period_bounds() -> None:
    assert period_bounds("2026-W45", "week") == ("2026-11-02", "2026-11-08")
    assert period_bounds("2026-W53", "week") == ("2026-12-28", "2027-01-03")
    assert period_bounds("2026-02", "month") == ("2026-02-01", "2026-02-28")
    assert period_bounds("2028-02", "month") == ("2028-02-01", "2028-02-29")
    assert period_bounds("2026-12", "month") == ("2026-12-01", "2026-12-31")
    assert period_bounds("2026-11-05", "day") == ("2026-11-05", "2026-11-05")


def test_dates_are_taken_in_both_forms_and_anything_else_is_refused() -> None:
    assert parse_date("2026-11-01") == parse_date("20261101") == "2026-11-01"
    assert parse_date(None) is None
    for bad in ("yesterday", "2026-13-01", "20261301", "2026-1-01", "2026/11/01", "2026-11-010", "١٢٣٤٥٦٧٨"):
        with pytest.raises(CostError, match="--until"):
            parse_date(bad, "--until")


def test_a_period_includes_both_of_its_days() -> None:
    cells = [cell(day) for day in ("2026-10-31", "2026-11-01", "2026-11-15", "2026-11-30", "2026-12-01")]
    assert [c.key.day for c in in_period(cells, "2026-11-01", "2026-11-30")] == [
        "2026-11-01",
        "2026-11-15",
        "2026-11-30",
    ]
    assert [c.key.day for c in in_period(cells, None, "2026-10-31")] == ["2026-10-31"]
    assert [c.key.day for c in in_period(cells, "2026-12-01", None)] == ["2026-12-01"]
    assert in_period(cells, "2026-11-02", "2026-11-01") == []


def test_periods_are_in_time_order_and_say_their_days() -> None:
    cells = [cell("2027-01-02", usd=5), cell("2026-12-28", usd=1), cell("2026-11-30", usd=9), cell("2026-12-01")]
    weeks = group(cells, "week")
    assert [(r["key"], r["from"], r["to"], r["usd"]) for r in weeks] == [
        ("2026-W49", "2026-11-30", "2026-12-06", 10.0),
        ("2026-W53", "2026-12-28", "2027-01-03", 6.0),
    ]
    months = group(cells, "month")
    assert [(r["key"], r["from"], r["to"], r["usd"]) for r in months] == [
        ("2026-11", "2026-11-01", "2026-11-30", 9.0),
        ("2026-12", "2026-12-01", "2026-12-31", 2.0),
        ("2027-01", "2027-01-01", "2027-01-31", 5.0),
    ]
    assert [r["key"] for r in group(cells, "day")] == ["2026-11-30", "2026-12-01", "2026-12-28", "2027-01-02"]
    assert [r["key"] for r in group(cells, "model")] == ["claude-sonnet-4-5"]
    assert "from" not in group(cells, "day")[0]


def test_the_breakdown_splits_each_row_by_model_and_adds_up_to_it() -> None:
    cells = [
        cell("2026-11-01", "claude-opus-4-5", 3.0, input=10, cache_read=90),
        cell("2026-11-01", "claude-haiku-4-5", 0.5, input=50, cache_write_5m=50),
        cell("2026-11-01", "claude-opus-4-5", 1.0, input=5, output=7),
        cell("2026-11-02", "claude-haiku-4-5", 0.25),
    ]
    rows = group(cells, "day", breakdown=True)
    first = rows[0]
    assert [(m["key"], m["usd"], m["requests"]) for m in first["models"]] == [
        ("claude-opus-4-5", 4.0, 2),
        ("claude-haiku-4-5", 0.5, 1),
    ]
    assert first["models"][0]["cache_hit_rate"] == round(90 / 105, 4)
    for name in ("input", "output", "cache_write_5m", "cache_read"):
        assert sum(m["tokens"][name] for m in first["models"]) == first["tokens"][name]
    assert sum(m["usd"] for m in first["models"]) == first["usd"] == 4.5
    assert [m["key"] for m in rows[1]["models"]] == ["claude-haiku-4-5"]
    assert "models" not in group(cells, "day")[0]


def test_an_unknown_grouping_is_an_error() -> None:
    with pytest.raises(CostError, match="colour"):
        group([cell("2026-11-01")], "colour")
