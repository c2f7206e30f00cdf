from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cloisterctl.ledger import segments, statefile
from cloisterctl.ledger.events import make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import beads_repo, ledger_events, run

EXTRA_TASKS = [
    json.dumps(
        {
            "_type": "issue",
            "id": "myapp-ep1",
            "title": "Add a /api/v1/invoices endpoint with pagination and tests",
            "description": "New handler in src/api/invoices.py, tests in tests/api/test_invoices.py.",
            "status": "open",
            "priority": 2,
            "issue_type": "feature",
        }
    ),
    json.dumps(
        {
            "_type": "issue",
            "id": "myapp-arch",
            "title": "Plan the architecture for multi-region deployment",
            "description": "Design doc: data residency, failover, replication.",
            "status": "open",
            "priority": 1,
            "issue_type": "task",
            "labels": ["architecture"],
        }
    ),
    json.dumps(
        {
            "_type": "issue",
            "id": "myapp-typo2",
            "title": "Fix typo in the install guide",
            "status": "open",
            "issue_type": "chore",
            "metadata": {"complexity": "complex"},
        }
    ),
]


@pytest.fixture
def tasks_ws(workspace: Path) -> Path:
    beads_repo(workspace, *EXTRA_TASKS)
    return workspace


def route_json(ws: Path, *args: str) -> dict[str, object]:
    result = run(ws, "route", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_done_when_routes(tasks_ws: Path) -> None:
    typo = route_json(tasks_ws, "myapp-9k1x.1")
    assert (typo["tier"], typo["model"]) == ("haiku", "claude-haiku-4-5-20251001")
    feature = route_json(tasks_ws, "myapp-ep1")
    assert feature["tier"] == "sonnet"
    # its words, files and type are weak evidence: the prior level (medium), and the reasons say so
    assert feature["complexity"]["source"] == "weak"
    assert any("weak evidence only" in reason for reason in feature["reasons"])
    plan = route_json(tasks_ws, "myapp-arch")
    assert plan["tier"] == "opus"
    explicit = route_json(tasks_ws, "myapp-typo2")  # a typo by its words, but metadata says complex
    assert (explicit["tier"], explicit["complexity"]) == (
        "sonnet",
        {"level": "complex", "source": "metadata", "confidence": 1.0},
    )
    text = run(tasks_ws, "route", "myapp-9k1x.1").output
    assert text.splitlines()[0] == "myapp-9k1x.1 -> haiku (claude-haiku-4-5-20251001) by complexity_routing.trivial"
    assert "weak evidence, not counted: title mentions 'readme', 'typo' -> trivial" in text
    assert "label 'docs'" in text


def test_route_record_writes_the_ledger_and_state_md(tasks_ws: Path) -> None:
    ws = Workspace(tasks_ws)
    result = run(tasks_ws, "route", "myapp-ep1", "--record")
    assert result.exit_code == 0, result.output
    assert "recorded in the ledger (.cloister/ledger/) and STATE.md" in result.output
    events = [e for e in ledger_events(ws.root) if e["type"] == "route"]
    assert len(events) == 1
    assert events[0]["task"] == "myapp-ep1" and events[0]["rule"] == "complexity_routing.medium"
    block = statefile.read(ws.state_md).cloister
    assert block["tier"] == "sonnet"
    assert block["model"] == "claude-sonnet-4-6"
    assert block["task"] == "myapp-ep1"
    assert block["complexity"] == {"level": "medium", "source": "weak"}
    assert block["last_decision"] == "route: myapp-ep1 -> sonnet (complexity_routing.medium)"
    assert json.loads(run(tasks_ws, "status", "--json").output)["state_md"] == "in sync"


def test_a_downgrade_from_a_running_session_records_its_economics(tasks_ws: Path) -> None:
    ws = Workspace(tasks_ws)
    t = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    segments.append_segments(
        ws,
        [
            make_event(
                "session", "repo", t, session="s-1", model="claude-opus-4-5-20251101", tier="opus", source="spawn"
            ),
            make_event("cost", "repo", t, session="s-1", usd=1.0, context_tokens=100_000),
        ],
    )
    data = route_json(tasks_ws, "myapp-9k1x.1", "--record")
    assert data["tier"] == "haiku"
    economics = data["economics"]
    assert isinstance(economics, dict)
    assert economics["context_tokens"] == 100_000
    assert economics["switch"]["break_even_turns"] == 1.25
    recorded = [e for e in ledger_events(ws.root) if e["type"] == "route"][0]
    assert recorded["economics"]["handoff_pays"] is True


def test_unknown_task_is_an_error(tasks_ws: Path) -> None:
    result = run(tasks_ws, "route", "nope")
    assert result.exit_code == 1
    assert result.output == "cloisterctl: error: unknown task 'nope' (not in .beads/issues.jsonl)\n"


def test_no_tracker_is_an_error(workspace: Path) -> None:
    result = run(workspace, "classify", "--all")
    assert result.exit_code == 1
    assert "no beads tracker here" in result.output


def test_complexity_set_without_bd_writes_the_override_file(tasks_ws: Path) -> None:
    result = run(tasks_ws, "complexity", "set", "myapp-ep1", "expert")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "myapp-ep1: complexity expert (.cloister/complexity.yaml)"
    overrides = yaml.safe_load((tasks_ws / ".cloister" / "complexity.yaml").read_text())
    assert overrides == {"myapp-ep1": "expert"}
    got = json.loads(run(tasks_ws, "complexity", "get", "myapp-ep1", "--json").output)
    assert (got["level"], got["source"]) == ("expert", "override")
    assert route_json(tasks_ws, "myapp-ep1")["tier"] == "opus"
    # The task's own metadata outranks the override file, and set says so.
    result = run(tasks_ws, "complexity", "set", "myapp-typo2", "trivial")
    assert "note: the task's own metadata says complex" in result.output
    assert json.loads(run(tasks_ws, "complexity", "get", "myapp-typo2", "--json").output)["level"] == "complex"
    events = [e for e in ledger_events(tasks_ws) if e["type"] == "complexity"]
    assert [(e["task"], e["level"], e["via"]) for e in events] == [
        ("myapp-ep1", "expert", "override"),
        ("myapp-typo2", "trivial", "override"),
    ]


def test_complexity_set_with_bd_uses_metadata_and_the_label_mirror(tasks_ws: Path, bd_on_path: Path) -> None:  # noqa: F811
    result = run(tasks_ws, "complexity", "set", "myapp-a3f2", "complex", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["via"] == "bd"
    stored = {
        json.loads(line)["id"]: json.loads(line)
        for line in (tasks_ws / ".beads" / "issues.jsonl").read_text().splitlines()
        if '"memory"' not in line
    }
    assert stored["myapp-a3f2"]["metadata"]["complexity"] == "complex"
    assert "complexity:complex" in stored["myapp-a3f2"]["labels"]
    assert not (tasks_ws / ".cloister" / "complexity.yaml").exists()
    run(tasks_ws, "complexity", "set", "myapp-a3f2", "simple")
    labels = [
        json.loads(line)
        for line in (tasks_ws / ".beads" / "issues.jsonl").read_text().splitlines()
        if "myapp-a3f2" in line
    ][0]["labels"]
    assert [label for label in labels if label.startswith("complexity:")] == ["complexity:simple"]


def test_classify_all(tasks_ws: Path) -> None:
    result = run(tasks_ws, "classify", "--all", "--json")
    assert result.exit_code == 0, result.output
    levels = {item["task"]: item["level"] for item in json.loads(result.output)}
    assert levels["myapp-9k1x"] == "expert" and levels["myapp-9k1x.1"] == "trivial"
    assert run(tasks_ws, "classify").exit_code == 2
    assert run(tasks_ws, "classify", "myapp-ep1", "--all").exit_code == 2


def test_whatif_matches_the_hand_calculation(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "whatif",
        "--from",
        "claude-opus-4-5-20251101",
        "--to",
        "claude-haiku-4-5-20251001",
        "--context",
        "100000",
        "--output-per-turn",
        "1000",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["switch"]["break_even_turns"] == 1.25
    assert data["switch"]["premium_usd"] == pytest.approx(0.075)
    assert data["stay"]["total_usd"] == pytest.approx(20 * 0.075)
    text = run(tmp_path, "whatif", "--from", "opus", "--to", "haiku", "--context", "100000").output
    assert "switch mid-session" in text and "verdict:" in text


def test_whatif_unknown_model(tmp_path: Path) -> None:
    result = run(tmp_path, "whatif", "--from", "gpt-4o", "--to", "haiku", "--context", "1")
    assert result.exit_code == 1
    assert result.output == "cloisterctl: error: no price for model 'gpt-4o'; add it under cost.prices in the config\n"


@pytest.mark.parametrize(
    ("given", "model"),
    [
        ("claude-opus-4-5", "claude-opus-4-5-20251101"),
        ("opus-4.5", "claude-opus-4-5-20251101"),
        ("haiku-4.5", "claude-haiku-4-5-20251001"),
        ("claude-sonnet-4", "claude-sonnet-4-20250514"),
    ],
)
def test_whatif_takes_models_as_people_write_them(tmp_path: Path, given: str, model: str) -> None:
    data = json.loads(run(tmp_path, "whatif", "--from", given, "--to", "haiku", "--context", "100K", "--json").output)
    assert data["from_model"] == model and data["context_tokens"] == 100_000


def test_whatif_from_the_readme(tmp_path: Path) -> None:
    """README: opus-4.5 -> haiku-4.5, 100K warm, 1K output a turn: premium $0.075, break-even 1.25 turns."""
    args = ["whatif", "--from", "opus-4.5", "--to", "haiku-4.5", "--context", "100K", "--output-per-turn", "1K"]
    data = json.loads(run(tmp_path, *args, "--json").output)
    assert data["switch"]["premium_usd"] == pytest.approx(0.075) and data["switch"]["break_even_turns"] == 1.25
    assert run(tmp_path, "whatif", "--from", "opus", "--to", "haiku", "--context", "1.5M").exit_code == 0
    bad = run(tmp_path, "whatif", "--from", "opus", "--to", "haiku", "--context", "lots")
    assert bad.exit_code == 2 and "'lots' is not a token count (e.g. 100000, 100K, 1.5M)" in bad.output
