"""`cost --by subagent`: usage attributed per subagent type, from real-format transcripts
(``tests/data/fixtures/claude-code/subagents``: a session that delegates to `cloister-haiku` and
`Explore` through the Agent tool, each subagent's `agent-*.jsonl` beside its `agent-*.meta.json`,
and one subagent file of an older Claude Code without metadata). The session's own usage is
``(main)``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from testing.helpers import FIXTURES, run

SESSION = "7d1e0c52-4b8a-4f3e-9a61-2c5d8e0b7f14"
SOURCE = FIXTURES / "claude-code" / "subagents" / "projects" / "-home-dev-app"
# Priced by hand from the fixture (sonnet 4.6: 3 / 15 / 3.75 / 0.30; haiku 4.5: 1 / 5 / 1.25 / 0.10 per M).
EXPECTED = {"(main)": 0.059625, "cloister-haiku": 0.0075005, "Explore": 0.005362, "(unknown)": 0.002653}


@pytest.fixture
def transcripts(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    target = config / "projects" / project_dir_name(workspace)
    shutil.copytree(SOURCE, target)
    return target / SESSION / "subagents"


def _rows(ws: Path, *args: str) -> dict[str, float]:
    result = run(ws, "cost", "--by", "subagent", "--json", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    return {row["key"]: row["usd"] for row in data["rows"]}


def test_cost_by_subagent_type(workspace: Path, transcripts: Path) -> None:
    rows = _rows(workspace)
    assert rows.keys() == EXPECTED.keys()
    for key, usd in EXPECTED.items():
        assert rows[key] == pytest.approx(usd, abs=1e-9), key
    total = json.loads(run(workspace, "cost", "--json").output)["total_usd"]
    assert total == pytest.approx(sum(EXPECTED.values()), abs=1e-9)
    text = run(workspace, "cost", "--by", "subagent").output
    assert text.splitlines()[1].split()[0] == "subagent" and "(main)" in text and "cloister-haiku" in text
    breakdown = json.loads(run(workspace, "cost", "--by", "subagent", "--breakdown", "--json").output)
    explore = next(row for row in breakdown["rows"] if row["key"] == "Explore")
    assert [model["key"] for model in explore["models"]] == ["claude-haiku-4-5-20251001"]


def test_the_type_comes_with_the_metadata_even_when_it_is_written_late(workspace: Path, transcripts: Path) -> None:
    late = transcripts / "agent-a9b8c7d6e5f40312.jsonl"
    prompt = {
        "parentUuid": None,
        "isSidechain": True,
        "agentId": "a9b8c7d6e5f40312",
        "type": "user",
        "message": {"role": "user", "content": "Run the tests"},
        "uuid": "s4-001",
        "timestamp": "2026-11-20T09:03:00.000Z",
        "sessionId": SESSION,
    }
    late.write_text(json.dumps(prompt) + "\n")  # the subagent's prompt; no metadata yet
    assert "(unknown)" in _rows(workspace)
    (transcripts / "agent-a9b8c7d6e5f40312.meta.json").write_text(json.dumps({"agentType": "cloister-test-agent"}))
    first = next(
        line
        for line in (transcripts / "agent-a7e5c3a1f9b20486.jsonl").read_text().splitlines()
        if '"assistant"' in line
    )
    response = json.loads(first)
    response["agentId"], response["requestId"] = "a9b8c7d6e5f40312", "req_011CVm5aaa"
    response["message"]["id"] = "msg_01SubFourFirst000000001"
    with late.open("a") as handle:
        handle.write(json.dumps(response) + "\n")
    rows = _rows(workspace)
    assert rows["cloister-test-agent"] == pytest.approx(EXPECTED["(unknown)"], abs=1e-9)
    assert rows["(unknown)"] == pytest.approx(EXPECTED["(unknown)"], abs=1e-9)  # the older file's only
