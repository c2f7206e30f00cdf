from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.config.load import load_config
from cloisterctl.cost.attribution import Attribution
from cloisterctl.cost.cache_versions import rows_version, tally_version
from cloisterctl.cost.collect import refresh_cost
from cloisterctl.cost.report_memo import CostOptions, cost_memo_path
from cloisterctl.cost.running_tally import SUMS
from cloisterctl.cost.transcripts.ingest import PROGRESS_MIN_BYTES
from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.ledger import segments
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.store import snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import at, git, ledger_bytes, projected, run
from testing.helpers import events as all_ledger_events
from testing.terminal import on_a_terminal
from testing.transcripts import CLAUDE_RESULT, assistant, usage_of, user, write_lines

SONNET45 = "claude-sonnet-4-5-20250929"
HAIKU45 = "claude-haiku-4-5-20251001"
HAIKU35 = "claude-3-5-haiku-20241022"
OPUS46 = "claude-opus-4-6"
S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"
S3 = "33333333-3333-4333-8333-333333333333"
M = 1_000_000


def make_workspace(parent: Path, name: str) -> Path:
    root = parent / name
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    assert run(root, "init").exit_code == 0
    return root


def cost_json(root: Path, *args: str) -> dict[str, Any]:
    result = run(root, "cost", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def cloister_cost(root: Path) -> dict[str, Any]:
    cost: dict[str, Any] = projected(root)["cost"]
    return cost


def events_of(root: Path, type_: str) -> list[dict[str, Any]]:
    return [e for e in all_ledger_events(root) if e["type"] == type_]


def append_events(root: Path, *events: dict[str, Any]) -> None:
    ws = Workspace(root)
    segments.append_segments(ws, list(events))


# --------------------------------------------------------------------------------------------
# Every edge case, checked to the cent against figures worked out by hand
# --------------------------------------------------------------------------------------------

# $ per million: sonnet 4.5 in 3 / out 15 / write 5m 3.75 / write 1h 6 / read 0.30, and above 200K
# input side in 6 / out 22.50 / write 7.50 / read 0.60; haiku 4.5 in 1 / out 5; haiku 3.5 in 0.80 /
# out 4 / read 0.08; opus 4.6 in 5 / out 25 / read 0.50, fast in 30 / out 150 / write 37.50.
R1 = (10 * 3 + 400 * 15 + 1_000 * 3.75) / M  # two lines: the 2-token snapshot loses
R2 = (5 * 3 + 300 * 15 + 2_000 * 6 + 50_000 * 0.3) / M  # a 1-hour cache write
R3 = (1_000 * 6 + 1_000 * 22.5 + 99_000 * 7.5 + 100_001 * 0.6) / M  # input side 200,001: long context
R4 = (100 * 15 + 200_000 * 0.3) / M  # input side exactly 200,000: base rates
R5 = (100 * 1 + 50 * 5) / M  # haiku 4.5 in the same session: a mid-session switch
R6 = (5_000 * 3 + 5_000 * 15) / M  # half-written at first
R7 = (200 * 0.8 + 100 * 4 + 1_000 * 0.08) / M  # a subagent on haiku 3.5
R8 = (100 * 30 + 200 * 150 + 1_000 * 37.5) / M  # opus 4.6 fast mode
R9 = (100 * 5 + 200 * 25 + 10_000 * 0.5) / M
S3_COST = (1_000 * 3 + 1_000 * 15) / M  # sonnet 4.6, another project


def write_edge_case_transcripts(home: Path, project: str) -> tuple[Path, str]:
    """The transcripts of the edge-case test; returns the first session's file and the line that
    is half-written at its end."""
    a, b = home / ".claude-a", home / ".claude-b"
    s1 = a / "projects" / project / f"{S1}.jsonl"
    r6 = assistant(S1, "m6", "q6", SONNET45, "2026-11-01T10:07:00Z", usage_of(5_000, 5_000))
    write_lines(
        s1,
        [
            '{"type":"summary","summary":"Edge cases","leafUuid":"x"}',
            user(S1, "2026-11-01T10:00:00Z", output_size=30_000),
            assistant(S1, "m1", "q1", SONNET45, "2026-11-01T10:00:01Z", usage_of(10, 2, write_5m=1_000)),
            assistant(S1, "m1", "q1", SONNET45, "2026-11-01T10:00:02Z", usage_of(10, 400, write_5m=1_000)),
            user(S1, "2026-11-01T10:00:30Z", output_size=5_000),
            assistant(S1, "m2", "q2", SONNET45, "2026-11-01T10:01:00Z", usage_of(5, 300, write_1h=2_000, read=50_000)),
            # a sidechain replay of m2 under a new request id
            assistant(S1, "m2", "q2b", SONNET45, "2026-11-01T10:01:30Z", usage_of(5, 300, read=50_000), sidechain=True),
            assistant(S1, "mx", "qx", "<synthetic>", "2026-11-01T10:01:40Z", usage_of(0, 0)),
            assistant(S1, "me", "qe", SONNET45, "2026-11-01T10:01:50Z", usage_of(999, 999), isApiErrorMessage=True),
            '{"type":"assistant","message":{"id":"m?","usage":{"input_tokens":',
            assistant(S1, "m3", "q3", SONNET45, "2026-11-01T10:03:00Z", usage_of(1_000, 1_000, 99_000, read=100_001)),
            assistant(S1, "m4", "q4", SONNET45, "2026-11-01T10:04:00Z", usage_of(0, 100, read=200_000)),
            assistant(S1, "m5", "q5", HAIKU45, "2026-11-01T10:05:00Z", usage_of(100, 50)),
            r6[:80],
        ],
        newline_at_end=False,
    )
    write_lines(
        a / "projects" / project / S1 / "subagents" / "agent-a1b2c3.jsonl",
        [assistant(S1, "m7", "q7", HAIKU35, "2026-11-01T10:06:00Z", usage_of(200, 100, read=1_000), sidechain=True)],
    )
    write_lines(
        b / "projects" / project / f"{S2}.jsonl",
        [
            assistant(S2, "m8", "q8", OPUS46, "2026-11-02T09:00:00Z", usage_of(100, 200, 1_000, speed="fast")),
            assistant(S2, "m9", "q9", OPUS46, "2026-11-02T09:01:00Z", usage_of(100, 200, read=10_000)),
            assistant(S2, "mg", "qg", "gpt-4o", "2026-11-02T09:02:00Z", usage_of(1_000, 1_000)),
            # m1 copied into this session (a resume): the copy in the first file by path counts
            assistant(S2, "m1", "q1", SONNET45, "2026-11-01T10:00:02Z", usage_of(10, 400, write_5m=1_000)),
        ],
    )
    write_lines(
        a / "projects" / "-home-dev-other" / f"{S3}.jsonl",
        [assistant(S3, "m30", "q30", "claude-sonnet-4-6", "2026-11-02T12:00:00Z", usage_of(1_000, 1_000))],
    )
    return s1, r6


def test_cost_and_state_md_agree_with_hand_computed_totals_on_every_edge_case(
    tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(tmp_path, "my_repo.v2 x")  # dots, an underscore and a space in the path
    project = project_dir_name(root)
    assert project.endswith("-my-repo-v2-x")
    home = isolated_env
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{home / '.claude-a'}, {home / '.claude-b'}")
    s1_path, r6 = write_edge_case_transcripts(home, project)
    agent = "my_repo.v2-x"
    append_events(
        root,
        make_event("route", agent, at("2026-11-01T09:00:00Z"), task="bd-1", tier="sonnet", rule="test"),
        make_event("route", agent, at("2026-11-01T10:02:00Z"), task="bd-2", tier="sonnet", rule="test"),
        make_event("session", "helper", at("2026-11-02T08:59:00Z"), session=S2, source="hook", task="bd-9"),
    )

    data = cost_json(root)
    s1 = R1 + R2 + R3 + R4 + R5 + R7
    s2 = R8 + R9
    assert data["total_usd"] == pytest.approx(s1 + s2, abs=1e-9)
    assert round(data["total_usd"], 2) == 1.02
    by_model = {row["key"]: row for row in data["rows"]}
    assert by_model[SONNET45]["usd"] == pytest.approx(R1 + R2 + R3 + R4, abs=1e-9)
    assert by_model[HAIKU45]["usd"] == pytest.approx(R5, abs=1e-9)
    assert by_model[HAIKU35]["usd"] == pytest.approx(R7, abs=1e-9)
    assert by_model[OPUS46]["usd"] == pytest.approx(R8 + R9, abs=1e-9)
    assert (by_model["gpt-4o"]["usd"], by_model["gpt-4o"]["unpriced_requests"]) == (0, 1)
    assert data["unpriced_models"] == {"gpt-4o": 1}
    assert data["totals"]["requests"] == 9
    assert data["totals"]["tokens"] == {
        "input": 10 + 5 + 1_000 + 0 + 100 + 200 + 100 + 100 + 1_000,
        "output": 400 + 300 + 1_000 + 100 + 50 + 100 + 200 + 200 + 1_000,
        "cache_write_5m": 1_000 + 99_000 + 1_000,
        "cache_write_1h": 2_000,
        "cache_read": 50_000 + 100_001 + 200_000 + 1_000 + 10_000,
    }
    assert data["totals"]["long_context_requests"] == 1
    assert data["cache_hit_rate"]["total"] == round(361_001 / (2_515 + 103_000 + 361_001), 4)
    assert data["cache_hit_rate"]["by_tier"]["opus"] == round(10_000 / (200 + 1_000 + 10_000), 4)
    assert data["mid_session_switches"] == [
        {"session": S1, "agent": agent, "models": [SONNET45, HAIKU45]},
        {"session": S2, "agent": "helper", "models": [OPUS46, "gpt-4o"]},
    ]
    assert any(f"{S1}.jsonl: line 10: not valid JSON (skipped)" in problem for problem in data["problems"])

    def rows(by: str) -> dict[str, float]:
        return {row["key"]: row["usd"] for row in cost_json(root, "--by", by)["rows"]}

    assert rows("tier") == pytest.approx(
        {"sonnet": R1 + R2 + R3 + R4, "haiku": R5 + R7, "opus": R8 + R9, "other": 0.0}, abs=1e-9
    )
    assert rows("task") == pytest.approx({"bd-1": R1 + R2, "bd-2": R3 + R4 + R5 + R7, "bd-9": R8 + R9}, abs=1e-9)
    assert rows("agent") == pytest.approx({agent: s1, "helper": s2}, abs=1e-9)
    assert rows("session") == pytest.approx({S1: s1, S2: s2}, abs=1e-9)
    assert rows("day") == pytest.approx({"2026-11-01": s1, "2026-11-02": s2}, abs=1e-9)
    assert cost_json(root, "--since", "2026-11-02")["total_usd"] == pytest.approx(s2, abs=1e-9)
    everything = cost_json(root, "--all", "--by", "project")
    assert everything["total_usd"] == pytest.approx(s1 + s2 + S3_COST, abs=1e-9)
    assert {row["key"] for row in everything["rows"]} == {project, "-home-dev-other"}

    table = run(root, "cost").output
    assert "total" in table and "$1.0158" in table and "cache hit rate 77.4%" in table
    assert f"mid-session model switch: session {S1}" in table

    # --record: one checkpoint per session in the ledger, and STATE.md's cost block.
    assert run(root, "cost", "--record").exit_code == 0
    checkpoints = {e["session"]: e for e in events_of(root, "cost")}
    assert set(checkpoints) == {S1, S2}
    assert checkpoints[S1]["agent"] == agent and checkpoints[S2]["agent"] == "helper"
    assert checkpoints[S1]["usd"] == round(s1, 6) and checkpoints[S1]["requests"] == 6
    assert checkpoints[S1]["mid_session_switch"] is True
    assert checkpoints[S1]["tokens"] == {"input": 1_315, "output": 1_950, "cache_write": 102_000, "cache_read": 351_001}
    seen = {e["session"]: e for e in events_of(root, "session") if e.get("source") == "transcript"}
    assert set(seen) == {S1} and seen[S1]["event"] == "seen"  # S2 was already known from a hook
    block = cloister_cost(root)
    assert block["total_usd"] == round(s1 + s2, 4)
    assert block["by_tier"] == {
        "haiku": round(R5 + R7, 4),
        "opus": round(R8 + R9, 4),
        "other": 0.0,
        "sonnet": round(R1 + R2 + R3 + R4, 4),
    }
    assert block["mid_session_switches"] == 2
    assert block["cache_hit_rate"] == data["cache_hit_rate"]["total"]
    state_md = (root / "STATE.md").read_bytes()
    ledger_before = ledger_bytes(root)
    assert run(root, "cost", "--record").exit_code == 0  # nothing changed: nothing written
    assert (root / "STATE.md").read_bytes() == state_md
    assert ledger_bytes(root) == ledger_before

    # The half-written line is finished and a response appended: only S1 gets a new checkpoint.
    with s1_path.open("a") as handle:
        handle.write(r6[80:] + "\n")
    assert run(root, "cost", "--record").exit_code == 0
    assert len(events_of(root, "cost")) == 3
    assert cloister_cost(root)["total_usd"] == round(s1 + R6 + s2, 4)
    assert cost_json(root)["total_usd"] == pytest.approx(s1 + R6 + s2, abs=1e-9)


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------


def test_attribution_follows_session_events_and_task_windows() -> None:
    t = at("2026-11-01T10:00:00Z")
    events = [
        make_event("route", "a", at("2026-11-01T09:00:00Z"), task="bd-1"),
        make_event("handoff", "a", at("2026-11-01T11:00:00Z"), handoff="h1", step="spawned", task="bd-2"),
        make_event("handoff", "a", at("2026-11-01T11:30:00Z"), handoff="h1", step="completed"),
        make_event("session", "b", t, session="s-b", source="spawn"),
        make_event("session", "x", t, session="s-b", source="transcript"),  # a spawn record wins
        make_event("session", "a", t, session="s-t", source="hook", task="bd-7"),
    ]
    attribution = Attribution.from_state(fold(events, "a"), {"-ws"})
    assert attribution.agent_for("s-b", "-elsewhere") == "b"
    assert attribution.agent_for("s-new", "-ws") == "a"  # unknown session in this workspace's dir
    assert attribution.agent_for("s-new", "-elsewhere") is None
    assert attribution.task_for("a", "s1", "2026-11-01T08:59:59.999999Z") is None
    assert attribution.task_for("a", "s1", "2026-11-01T09:00:00.000000Z") == "bd-1"  # at or before
    assert attribution.task_for("a", "s1", "2026-11-01T10:59:59.000000Z") == "bd-1"
    assert attribution.task_for("a", "s1", "2026-11-01T12:00:00.000000Z") == "bd-2"
    assert attribution.task_for("a", "s-t", "2026-11-01T12:00:00.000000Z") == "bd-7"  # the session's own task
    assert attribution.task_for("b", "s-b", "2026-11-01T12:00:00.000000Z") is None


def test_a_session_started_elsewhere_is_found_by_its_id(workspace: Path, isolated_env: Path) -> None:
    elsewhere = isolated_env / ".claude" / "projects" / "-home-dev-somewhere-else"
    write_lines(
        elsewhere / "sess-x.jsonl", [assistant("sess-x", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))]
    )
    write_lines(
        elsewhere / "sess-y.jsonl", [assistant("sess-y", "m2", "q2", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))]
    )
    assert cost_json(workspace)["total_usd"] == 0
    append_events(
        workspace, make_event("session", "repo", at("2026-11-01T09:59:00Z"), session="sess-x", source="spawn")
    )
    data = cost_json(workspace, "--by", "session")
    assert [(row["key"], row["usd"]) for row in data["rows"]] == [("sess-x", 1.0)]


def test_a_worktree_is_its_own_workspace(workspace: Path, isolated_env: Path) -> None:
    git(workspace, "commit", "-q", "--allow-empty", "-m", "base")
    tree = workspace.parent / "repo.worktrees" / "feature_x"
    git(workspace, "worktree", "add", "-q", str(tree))
    assert run(tree, "init").exit_code == 0
    projects = isolated_env / ".claude" / "projects"
    write_lines(
        projects / project_dir_name(workspace) / "main.jsonl",
        [assistant("main", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))],
    )
    write_lines(
        projects / project_dir_name(tree) / "wt.jsonl",
        [assistant("wt", "m2", "q2", HAIKU45, "2026-11-01T10:00:00Z", usage_of(2 * M, 0))],
    )
    assert cost_json(workspace)["total_usd"] == 1.0
    assert cost_json(tree)["total_usd"] == 2.0


def test_cost_all_runs_outside_a_workspace(tmp_path: Path, isolated_env: Path) -> None:
    projects = isolated_env / ".claude" / "projects"
    write_lines(
        projects / "-a" / "a.jsonl", [assistant("a", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))]
    )
    write_lines(
        projects / "-b" / "b.jsonl", [assistant("b", "m2", "q2", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))]
    )
    nowhere = tmp_path / "not-a-repo"
    nowhere.mkdir()
    result = run(nowhere, "cost", "--all", "--by", "project", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total_usd"] == 2.0 and data["workspace"] is None
    assert not list(nowhere.iterdir())  # nothing written where it ran
    assert run(nowhere, "cost").exit_code == 1  # without --all it needs a workspace, as before
    refused = run(nowhere, "cost", "--all", "--record")
    assert refused.exit_code == 1 and "--record writes to a workspace's ledger" in refused.output


# --------------------------------------------------------------------------------------------
# tick's entry point
# --------------------------------------------------------------------------------------------


def test_refresh_cost_is_idempotent_and_reads_nothing_when_nothing_is_new(workspace: Path, isolated_env: Path) -> None:
    ws = Workspace(workspace)
    config = load_config(ws.config_path)
    now = at("2026-11-03T00:00:00Z")
    assert (
        refresh_cost(Context.for_workspace(ws, config, clock=lambda: now)) is None
    )  # no transcripts, no usage: nothing to track
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "s.jsonl"
    write_lines(path, [assistant("s", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))])
    first = refresh_cost(Context.for_workspace(ws, config, clock=lambda: now))
    assert first is not None and first["appended"] == 2 and first["total_usd"] == first["cost"]["total_usd"] == 1.0
    assert first["bytes_read"] == path.stat().st_size
    second = refresh_cost(Context.for_workspace(ws, config, clock=lambda: now))
    assert second is not None and (second["appended"], second["bytes_read"]) == (0, 0)
    assert second["cost"] == first["cost"]
    # A new route changes attribution, not the total: one checkpoint puts the session's cost on
    # the task (what budgets.task_usd measures), and then nothing more is written.
    append_events(workspace, make_event("route", "repo", at("2026-11-01T09:00:00Z"), task="bd-1"))
    third = refresh_cost(Context.for_workspace(ws, config, clock=lambda: now))
    assert third is not None and third["appended"] == 1 and third["cost"] == first["cost"]
    checkpoint = snapshot(ws).state.cold.cost_checkpoints["s"]
    assert (checkpoint["usd"], checkpoint["by_task"], checkpoint["by_day"]) == (1.0, {"bd-1": 1.0}, {"2026-11-01": 1.0})
    fourth = refresh_cost(Context.for_workspace(ws, config, clock=lambda: now))
    assert fourth is not None and fourth["appended"] == 0


# --------------------------------------------------------------------------------------------
# Usage from other runtimes
# --------------------------------------------------------------------------------------------


def test_usage_add_counts_in_cost_and_state_md(workspace: Path) -> None:
    result = run(
        workspace,
        "usage",
        "add",
        "--model",
        "claude-sonnet-4-6",
        "--input",
        "1000",
        "--output",
        "2000",
        "--cache-read",
        "10000",
        "--cache-write-5m",
        "4000",
        "--cache-write-1h",
        "500",
        "--task",
        "bd-3",
    )
    assert result.exit_code == 0, result.output
    expected = (1_000 * 3 + 2_000 * 15 + 10_000 * 0.3 + 4_000 * 3.75 + 500 * 6) / M
    assert f"= ${expected:.4f} (table)" in result.output
    (event,) = events_of(workspace, "usage")
    assert event["tier"] == "sonnet" and event["task"] == "bd-3" and event["usd"] == round(expected, 6)
    data = cost_json(workspace, "--by", "task")
    assert data["total_usd"] == pytest.approx(expected, abs=1e-9)
    assert [(row["key"], row["requests"]) for row in data["rows"]] == [("bd-3", 1)]
    assert cloister_cost(workspace)["total_usd"] == round(expected, 4)
    (checkpoint,) = events_of(workspace, "cost")
    assert checkpoint["scope"] == "usage:repo" and "session" not in checkpoint
    other = run(workspace, "usage", "add", "--model", "gpt-4o", "--input", "1", "--output", "1", "--json")
    assert other.exit_code == 1
    assert "model 'gpt-4o' has no price: give --usd" in other.output
    given = run(
        workspace, "usage", "add", "--model", "gpt-4o", "--input", "1", "--output", "1", "--usd", "0.25", "--json"
    )
    assert json.loads(given.output)["total_usd"] == round(expected + 0.25, 4)
    tiers = {row["key"]: row["usd"] for row in cost_json(workspace, "--by", "tier")["rows"]}
    assert tiers == {"sonnet": round(expected, 6), "other": 0.25}


def test_claude_json_results_are_imported_once_and_yield_to_the_transcript(
    workspace: Path, tmp_path: Path, isolated_env: Path
) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(CLAUDE_RESULT))
    first = run(workspace, "usage", "import", str(saved), "--json")
    assert first.exit_code == 0, first.output
    # Priced with the table (base rates: request sizes are unknown), the 1-hour split from usage.
    expected = (12 * 3 + 800 * 15 + 2_000 * 3.75 + 1_000 * 6 + 20_000 * 0.3) / M
    assert json.loads(first.output)["total_usd"] == round(expected, 4)
    again = run(workspace, "usage", "import", "-", input=json.dumps(CLAUDE_RESULT))
    assert again.exit_code == 0 and "nothing new to record" in again.output
    assert len(events_of(workspace, "usage")) == 1
    assert cost_json(workspace)["total_usd"] == pytest.approx(expected, abs=1e-9)
    # The run's transcript turns up: its figures count, the imported result no longer does.
    session = str(CLAUDE_RESULT["session_id"])
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / f"{session}.jsonl"
    write_lines(path, [assistant(session, "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))])
    data = cost_json(workspace)
    assert data["total_usd"] == 1.0 and data["covered_usage_events"] == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"type":"system"}\n')
    failed = run(workspace, "usage", "import", str(bad))
    assert failed.exit_code == 1
    assert (
        failed.output
        == f"cloisterctl: error: {bad}: no result object (expected the output of claude -p --output-format json)\n"
    )


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def test_cost_options_and_mistakes(workspace: Path) -> None:
    assert run(workspace, "cost", "--help").exit_code == 0
    assert run(workspace, "usage", "--help").exit_code == 0
    assert run(workspace, "usage", "add", "--help").exit_code == 0
    assert run(workspace, "usage", "import", "--help").exit_code == 0
    empty = cost_json(workspace)
    assert empty["total_usd"] == 0 and empty["rows"] == [] and empty["cache_hit_rate"]["total"] is None
    bad = run(workspace, "cost", "--since", "yesterday")
    assert (
        bad.exit_code == 1
        and bad.output == "cloisterctl: error: --since 'yesterday': expected a date as YYYY-MM-DD or YYYYMMDD\n"
    )
    assert run(workspace, "cost", "--by", "colour").exit_code == 2
    assert run(workspace, "usage", "add", "--model", "x", "--input", "-1", "--output", "1").exit_code == 2


def test_a_long_scan_shows_a_progress_bar_on_a_terminal_only(workspace: Path, isolated_env: Path) -> None:
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "big.jsonl"
    big = user("big", "2026-11-01T10:00:00Z", output_size=PROGRESS_MIN_BYTES // 2 + 1)
    write_lines(path, [big, assistant("big", "m1", "q1", HAIKU45, "2026-11-01T10:00:01Z", usage_of(M, 0))])
    assert path.stat().st_size >= PROGRESS_MIN_BYTES
    env = {**os.environ, "HOME": str(isolated_env), "COLUMNS": "100"}
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "cost"], stdout=child, stderr=child, env=env
    )
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "reading transcripts" in text and "100%" in text and "$1.0000" in text
    # The same scan again reads nothing, and a pipe never gets a bar.
    (Workspace(workspace).cache_dir / "usage" / "workspace" / "manifest.json").unlink()
    piped = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "cost"], capture_output=True, text=True, env=env
    )
    assert piped.returncode == 0 and "reading transcripts" not in piped.stdout + piped.stderr
    # -q: no bar on a terminal either (the manifest is still gone: the memo answered the pipe).
    quiet = on_a_terminal(["-q", "-C", str(workspace), "cost"], env)
    assert "reading transcripts" not in quiet and "$1.0000" in quiet


def test_a_torn_corrupt_or_foreign_usage_cache_is_rebuilt_never_trusted(workspace: Path, isolated_env: Path) -> None:
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "s.jsonl"
    write_lines(path, [assistant("s", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))])
    assert cost_json(workspace)["total_usd"] == 1.0
    cache = Workspace(workspace).cache_dir / "usage" / "workspace"
    (shard,) = cache.glob("rows-*.json")
    with path.open("a") as handle:  # a second response, counted incrementally
        handle.write(assistant("s", "m2", "q2", HAIKU45, "2026-11-01T10:01:00Z", usage_of(2 * M, 0)) + "\n")
    assert cost_json(workspace)["total_usd"] == 3.0
    good = {name: (cache / name).read_bytes() for name in ("manifest.json", "tally.json", shard.name)}
    old_format = json.dumps({"version": 1, "files": {str(path): [1, 2, 3, 4, 5, 6]}})
    # Each would give another total if it were trusted.
    wrong_tally = good["tally.json"].replace(b"3000000", b"5000000")
    wrong_rows = good[shard.name].replace(b"2000000", b"4000000")
    assert wrong_tally != good["tally.json"] and wrong_rows != good[shard.name]
    breakages = [
        ("tally.json", b"{not json"),
        # Made by other code: the same shape, another version.
        ("tally.json", wrong_tally.replace(f'"version":"{tally_version()}"'.encode(), b'"version":"0123456789abcdef"')),
        ("tally.json", wrong_tally.replace(b'"generation":"', b'"generation":"x', 1)),  # of other rows
        ("tally.json", wrong_tally.replace(b'"sums":[', b'"sums":[7,', 1)),  # a cell of the wrong shape
        ("tally.json", wrong_tally.replace(b'"subagent":', b'"colour":"red","subagent":', 1)),  # a key of other fields
        (shard.name, b"[]"),
        (shard.name, wrong_rows.replace(b'"generation":"', b'"generation":"x', 1)),  # a torn save
        (shard.name, wrong_rows.replace(f'"version":"{rows_version()}"'.encode(), b'"version":"0123456789abcdef"')),
        ("manifest.json", old_format.encode()),
        ("manifest.json", b""),
    ]
    for name, data in breakages:
        (cache / name).write_bytes(data)
        if name == shard.name:
            (cache / "tally.json").unlink()  # so that the tally is made from the rows
        assert cost_json(workspace)["total_usd"] == 3.0, name
        for other, content in good.items():
            (cache / other).write_bytes(content)


def test_the_cache_names_every_cell_key_field_and_an_old_positional_one_is_rebuilt(
    workspace: Path, isolated_env: Path
) -> None:
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "s.jsonl"
    write_lines(path, [assistant("s", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))])
    assert cost_json(workspace)["total_usd"] == 1.0
    tally_file = Workspace(workspace).cache_dir / "usage" / "workspace" / "tally.json"
    saved = json.loads(tally_file.read_text())
    (cell,) = saved["cells"]
    assert cell["key"] == {
        "project": project_dir_name(workspace),
        "session": "s",
        "agent": "repo",
        "task": None,
        "model": HAIKU45,
        "tier": "haiku",
        "day": "2026-11-01",
        "subagent": "(main)",
    }
    assert len(cell["sums"]) == SUMS and cell["sums"][:2] == [1, M]
    # The cell as cache version 3 wrote it: its key by position, without the tier. Trusted, its
    # doubled sums would double the total.
    key = cell["key"]
    positional = [key[name] for name in ("project", "session", "agent", "task", "model", "day", "subagent")]
    tally_file.write_text(json.dumps({**saved, "cells": [[*positional, [n * 2 for n in cell["sums"]]]]}))
    Path(cost_memo_path(str(workspace), CostOptions())).unlink()  # else the memo answers, reading no cache
    again = cost_json(workspace)
    assert (again["total_usd"], again["bytes_read"]) == (1.0, 0)  # made again from the rows held
    assert json.loads(tally_file.read_text())["cells"] == [cell]


def test_the_first_cache_format_is_dropped_not_read(workspace: Path, isolated_env: Path) -> None:
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "s.jsonl"
    write_lines(path, [assistant("s", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))])
    usage = Workspace(workspace).cache_dir / "usage"
    usage.mkdir(parents=True)
    old = {
        "manifest.json": {"version": 1, "files": {str(path): [1, 2, 3, 4, 5, 6]}},
        "rows-0123456789abcdef.json": {"version": 1, "files": {}},
        "tally-workspace.json": {"fingerprint": "x", "cells": []},
    }
    for name, data in old.items():
        (usage / name).write_text(json.dumps(data))
    assert cost_json(workspace)["total_usd"] == 1.0
    assert [name for name in old if (usage / name).exists()] == []
