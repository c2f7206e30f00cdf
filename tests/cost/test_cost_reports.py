"""`cloisterctl cost` reports: by day, ISO week and month, --since/--until, --breakdown, --all from
anywhere; and the figures against ccusage's own daily, weekly and monthly reports on the same
transcripts, to the cent (no request here exceeds 200K input tokens)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from testing.ccusage import ccusage_binary, ccusage_report
from testing.helpers import run
from testing.transcripts import assistant, usage_of, write_lines

MODELS = (
    "claude-opus-4-5-20251101",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-6",
    "claude-opus-4-6",
)
START = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # a month's end, and then an ISO year's end
CCUSAGE = ccusage_binary()
needs_ccusage = pytest.mark.skipif(CCUSAGE is None, reason="ccusage is not installed (scripts/setup.sh)")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_transcripts(config_dir: Path, seed: int = 15) -> int:
    """Sessions in three projects from late November to mid January: responses around midnight
    UTC, streaming snapshots, 1-hour cache writes, fast mode, subagents. Every request's input
    side stays below 200K. Returns the number of responses."""
    rng = random.Random(seed)
    responses = 0
    for number in range(40):
        project = ("-home-dev-proj", "-home-dev-my-repo-v2", "-srv-build-agent-01")[number % 3]
        session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        # Start at a random hour of a random day; every fourth session straddles a midnight.
        moment = START + timedelta(days=rng.randrange(0, 48), hours=rng.randrange(0, 24))
        if number % 4 == 0:
            moment = moment.replace(hour=23, minute=58)
        lines: list[str] = []
        sub: list[str] = []
        for turn in range(rng.randrange(3, 14)):
            moment += timedelta(seconds=rng.randrange(20, 90))
            model = rng.choice(MODELS)
            write = rng.randrange(0, 5_000)
            one_hour = write if rng.random() < 0.2 else 0
            tokens = usage_of(rng.randrange(1, 80), rng.randrange(20, 3_000), write - one_hour, one_hour)
            tokens["cache_read_input_tokens"] = rng.randrange(0, 150_000)
            if model == "claude-opus-4-6" and rng.random() < 0.3:
                tokens["speed"] = "fast"
            message, request = f"msg_{session[:8]}_{turn}", f"req_{session[:8]}_{turn}"
            if rng.random() < 0.4:  # a streaming snapshot first, in the same second
                snapshot = {**tokens, "output_tokens": rng.randrange(1, 5)}
                lines.append(assistant(session, message, request, model, stamp(moment), snapshot))
            lines.append(
                assistant(session, message, request, model, stamp(moment + timedelta(milliseconds=400)), tokens)
            )
            responses += 1
            if rng.random() < 0.15:  # a subagent's own response, in its own file
                helper = usage_of(rng.randrange(1, 50), rng.randrange(10, 900), read=rng.randrange(0, 40_000))
                sub.append(
                    assistant(
                        session, f"{message}_sub", f"{request}_sub", MODELS[2], stamp(moment), helper, sidechain=True
                    )
                )
                responses += 1
        write_lines(config_dir / "projects" / project / f"{session}.jsonl", lines)
        if sub:
            write_lines(config_dir / "projects" / project / session / "subagents" / "agent-a1b2c3d4.jsonl", sub)
    return responses


def cost_json(where: Path, *args: str) -> dict[str, Any]:
    result = run(where, "cost", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


@pytest.fixture
def transcripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config_dir = tmp_path / "claude"
    assert write_transcripts(config_dir) > 100
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    return config_dir


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """A directory in no git repository: `cost --all` runs there."""
    path = tmp_path / "not-a-repo"
    path.mkdir()
    return path


# ------------------------------------------------------------------------------------ against ccusage


def cents(value: float) -> int:
    return round(value * 100)


def their_tokens(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return (row["inputTokens"], row["outputTokens"], row["cacheCreationTokens"], row["cacheReadTokens"])


def our_tokens(row: dict[str, Any]) -> tuple[int, int, int, int]:
    tokens = row["tokens"]
    return (
        tokens["input"],
        tokens["output"],
        tokens["cache_write_5m"] + tokens["cache_write_1h"],
        tokens["cache_read"],
    )


def merged_fast_mode(breakdowns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ccusage's model sub-rows, its ``MODEL-fast`` rows (fast mode) added to the model's own: a
    model's fast-mode requests stay in that model's row here."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in breakdowns:
        name = entry["modelName"].removesuffix("-fast")
        into = merged.setdefault(
            name, dict.fromkeys(("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "cost"), 0)
        )
        for field in into:
            into[field] += entry[field]
    return merged


def assert_same_rows(ours: dict[str, Any], theirs: list[dict[str, Any]], their_key: str, our_key: str = "key") -> None:
    """Every row (and every model's sub-row) has the same tokens, and the same cost to the cent."""
    mine = {row[our_key]: row for row in ours["rows"]}
    other = {row[their_key]: row for row in theirs}
    assert sorted(mine) == sorted(other)
    for key, row in mine.items():
        them = other[key]
        assert our_tokens(row) == their_tokens(them), key
        assert cents(row["usd"]) == cents(them["totalCost"]), (key, row["usd"], them["totalCost"])
        read, total = them["cacheReadTokens"], sum(their_tokens(them)) - them["outputTokens"]
        assert row["cache_hit_rate"] == round(read / total, 4)
        models = {model["key"]: model for model in row["models"]}
        breakdown = merged_fast_mode(them["modelBreakdowns"])
        assert sorted(models) == sorted(breakdown), key
        for name, model in models.items():
            assert our_tokens(model) == their_tokens(breakdown[name]), (key, name)
            assert cents(model["usd"]) == cents(breakdown[name]["cost"]), (key, name)


@needs_ccusage
def test_daily_weekly_and_monthly_reports_agree_with_ccusage_to_the_cent(
    transcripts: Path, nowhere: Path, tmp_path: Path
) -> None:
    assert CCUSAGE is not None
    home = tmp_path / "empty-home"
    home.mkdir()
    daily = cost_json(nowhere, "--all", "--by", "day", "--breakdown")
    theirs = ccusage_report(CCUSAGE, transcripts, home, "daily")
    assert len(daily["rows"]) > 25
    assert_same_rows(daily, theirs["daily"], "date")
    assert cents(daily["total_usd"]) == cents(theirs["totals"]["totalCost"])

    weekly = cost_json(nowhere, "--all", "--by", "week", "--breakdown")
    assert any(row["key"] == "2026-W53" and row["to"] == "2027-01-03" for row in weekly["rows"])
    their_weeks = ccusage_report(CCUSAGE, transcripts, home, "weekly", "--start-of-week", "monday")
    assert_same_rows(weekly, their_weeks["weekly"], "week", our_key="from")

    monthly = cost_json(nowhere, "--all", "--by", "month", "--breakdown")
    assert [row["key"] for row in monthly["rows"]] == ["2026-11", "2026-12", "2027-01"]
    assert_same_rows(monthly, ccusage_report(CCUSAGE, transcripts, home, "monthly")["monthly"], "month")
    assert daily["total_usd"] == weekly["total_usd"] == monthly["total_usd"]


@needs_ccusage
def test_since_and_until_cut_the_same_days_as_ccusage(transcripts: Path, nowhere: Path, tmp_path: Path) -> None:
    assert CCUSAGE is not None
    home = tmp_path / "empty-home"
    home.mkdir()
    ours = cost_json(nowhere, "--all", "--by", "day", "--breakdown", "--since", "2026-12-01", "--until", "20261231")
    assert (ours["since"], ours["until"]) == ("2026-12-01", "2026-12-31")
    assert all("2026-12-01" <= row["key"] <= "2026-12-31" for row in ours["rows"])
    theirs = ccusage_report(CCUSAGE, transcripts, home, "daily", "--since", "20261201", "--until", "2026-12-31")
    assert_same_rows(ours, theirs["daily"], "date")
    assert cents(ours["total_usd"]) == cents(theirs["totals"]["totalCost"])
    sessions = cost_json(nowhere, "--all", "--by", "session", "--breakdown")
    # `ccusage claude session` (the unified `ccusage session` calls the field "period").
    their_sessions = ccusage_report(CCUSAGE, transcripts, home, "session")["sessions"]
    assert_same_rows(sessions, their_sessions, "sessionId")


# ------------------------------------------------------------------------------------ the command


def test_rows_add_up_to_the_total_in_every_grouping_and_the_table_shows_the_breakdown(
    transcripts: Path, workspace: Path
) -> None:
    own = transcripts / "projects" / project_dir_name(workspace)
    (transcripts / "projects" / "-home-dev-proj").rename(own)  # this workspace's own sessions
    whole = cost_json(workspace)
    assert whole["total_usd"] > 0 and whole["until"] is None and whole["breakdown"] is False
    for by in ("agent", "model", "tier", "task", "session", "day", "week", "month", "project"):
        data = cost_json(workspace, "--by", by, "--breakdown")
        assert list(data)[0] == "total_usd" and data["by"] == by and data["breakdown"] is True
        assert sum(row["usd"] for row in data["rows"]) == pytest.approx(whole["total_usd"], abs=1e-8)
        assert data["total_usd"] == whole["total_usd"]
        for row in data["rows"]:
            assert sum(model["usd"] for model in row["models"]) == pytest.approx(row["usd"], abs=1e-8)
            assert sum(model["requests"] for model in row["models"]) == row["requests"]
    table = run(workspace, "cost", "--by", "month", "--breakdown", "--since", "20261201").output
    lines = table.splitlines()
    assert lines[0].endswith("since 2026-12-01")
    month_rows = [i for i, line in enumerate(lines) if line.startswith("2026-12") or line.startswith("2027-01")]
    assert month_rows and lines[month_rows[0] + 1].startswith("  - claude-")
    assert "2026-11" not in table
    plain = run(workspace, "cost", "--by", "week").output
    assert "  - claude-" not in plain and "2026-W53" in plain


def test_periods_are_utc_days_whatever_the_local_timezone(
    transcripts: Path, nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    utc = cost_json(nowhere, "--all", "--by", "day")
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    assert cost_json(nowhere, "--all", "--by", "day")["rows"] == utc["rows"]


def test_until_before_since_is_an_empty_report_and_a_bad_date_names_its_option(
    transcripts: Path, nowhere: Path
) -> None:
    empty = cost_json(nowhere, "--all", "--since", "2026-12-02", "--until", "2026-12-01")
    assert empty["rows"] == [] and empty["total_usd"] == 0
    bad = run(nowhere, "cost", "--all", "--until", "31/12/2026")
    assert bad.exit_code == 1 and "--until '31/12/2026': expected a date as YYYY-MM-DD or YYYYMMDD" in bad.output
    assert run(nowhere, "cost", "--all", "--by", "fortnight").exit_code == 2
    assert not list(nowhere.iterdir())
    helped = " ".join(run(nowhere, "cost", "--help").output.split())
    assert "ISO 8601" in helped and "--until" in helped and "--breakdown" in helped


def test_the_dashboard_takes_until_too(transcripts: Path, workspace: Path, tmp_path: Path) -> None:
    page = tmp_path / "cost.html"
    full = run(workspace, "cost", "--all", "--html", str(page), "--json")
    cut = run(workspace, "cost", "--all", "--html", str(page), "--until", "2026-11-30", "--json")
    assert full.exit_code == cut.exit_code == 0
    assert 0 < json.loads(cut.output)["total_usd"] < json.loads(full.output)["total_usd"]
    november = cost_json(workspace, "--all", "--until", "2026-11-30")
    assert json.loads(cut.output)["total_usd"] == pytest.approx(november["total_usd"], abs=1e-4)
