"""The one list of groupings (``cost.groupings.GROUPINGS``): every grouping in it works end to end,
through `cloisterctl cost --by NAME` on a workspace with real-format transcripts (a session that
delegates to subagents, ``tests/data/fixtures/claude-code/subagents``) and a usage event of another
runtime; each reads a field of the cell key; and the command line offers exactly the list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest

from cloisterctl.cli.cost import cost_command
from cloisterctl.config.load import load_config
from cloisterctl.cost.groupings import GROUPING_NAMES, GROUPINGS
from cloisterctl.cost.tally import CellKey, usage_event
from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.ledger import segments
from cloisterctl.ledger.events import make_event
from cloisterctl.models.prices import Tokens
from cloisterctl.workspace.layout import Workspace
from testing.helpers import FIXTURES, at, run

SESSION = "7d1e0c52-4b8a-4f3e-9a61-2c5d8e0b7f14"
SOURCE = FIXTURES / "claude-code" / "subagents" / "projects" / "-home-dev-app"
SONNET, HAIKU = "claude-sonnet-4-6", "claude-haiku-4-5-20251001"
# The fixture's cost per subagent type (priced by hand in its README), all on 2026-11-20.
MAIN, TYPED, EXPLORE, UNTYPED = 0.059625, 0.0075005, 0.005362, 0.002653
SESSION_USD = MAIN + TYPED + EXPLORE + UNTYPED
# The usage event: 100K input and 10K output tokens of haiku 4.5 (1 / 5 per M) on 2026-10-30.
OTHER_USD = (100_000 * 1 + 10_000 * 5) / 1_000_000


def expected_rows(project: str) -> dict[str, dict[str, float]]:
    """Per grouping, its rows: key -> USD."""
    return {
        "agent": {"repo": SESSION_USD, "helper": OTHER_USD},
        "model": {SONNET: MAIN, HAIKU: TYPED + EXPLORE + UNTYPED + OTHER_USD},
        "tier": {"sonnet": MAIN, "haiku": TYPED + EXPLORE + UNTYPED + OTHER_USD},
        "task": {"bd-1": SESSION_USD, "bd-2": OTHER_USD},
        "session": {SESSION: SESSION_USD, "-": OTHER_USD},
        "day": {"2026-10-30": OTHER_USD, "2026-11-20": SESSION_USD},
        "week": {"2026-W44": OTHER_USD, "2026-W47": SESSION_USD},
        "month": {"2026-10": OTHER_USD, "2026-11": SESSION_USD},
        "project": {project: SESSION_USD, "-": OTHER_USD},
        "subagent": {"(main)": MAIN, "cloister-haiku": TYPED, "Explore": EXPLORE, "(unknown)": UNTYPED, "-": OTHER_USD},
    }


@pytest.fixture
def costed(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace with the fixture session in its project dir, the task it worked on (a route
    event), and a usage event of another agent on another task, month and week."""
    config_dir = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    shutil.copytree(SOURCE, config_dir / "projects" / project_dir_name(workspace))
    ws = Workspace(workspace)
    usage = usage_event(
        load_config(ws.config_path),
        HAIKU,
        Tokens(input=100_000, output=10_000),
        agent="helper",
        now=at("2026-10-30T10:00:00Z"),
        task="bd-2",
    )
    route = make_event("route", "repo", at("2026-11-20T08:00:00Z"), task="bd-1", tier="sonnet", rule="test")
    segments.append_segments(ws, [usage, route])
    return workspace


def test_every_grouping_works_end_to_end(costed: Path) -> None:
    expected = expected_rows(project_dir_name(costed))
    assert list(expected) == list(GROUPING_NAMES)  # a new grouping needs its rows here
    for name, rows in expected.items():
        result = run(costed, "cost", "--by", name, "--json")
        assert result.exit_code == 0, (name, result.output)
        data = json.loads(result.output)
        assert data["by"] == name and data["problems"] == []
        assert {row["key"]: row["usd"] for row in data["rows"]} == pytest.approx(rows, abs=1e-9), name
        assert data["total_usd"] == pytest.approx(SESSION_USD + OTHER_USD, abs=1e-9), name
        keys = [row["key"] for row in data["rows"]]
        if name in ("day", "week", "month"):
            assert keys == sorted(keys), name  # periods in time order
        else:
            assert [row["usd"] for row in data["rows"]] == sorted((row["usd"] for row in data["rows"]), reverse=True)
        if name in ("week", "month"):
            assert all(row["from"] <= row["to"] for row in data["rows"]), name
        text = run(costed, "cost", "--by", name)
        assert text.exit_code == 0 and text.output.splitlines()[1].split()[0] == name, text.output


def test_each_grouping_reads_a_field_of_the_cell_key() -> None:
    fields = set(CellKey.__struct_fields__)
    assert all(grouping.key_field in fields for grouping in GROUPINGS)
    assert len(set(GROUPING_NAMES)) == len(GROUPINGS)


def test_the_command_line_offers_exactly_the_groupings(workspace: Path) -> None:
    (by,) = [param for param in cost_command.params if param.name == "by"]
    assert isinstance(by.type, click.Choice) and tuple(by.type.choices) == GROUPING_NAMES
    refused = run(workspace, "cost", "--by", "colour")
    assert refused.exit_code == 2 and all(name in refused.output for name in GROUPING_NAMES)
