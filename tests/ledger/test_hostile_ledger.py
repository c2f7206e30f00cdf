"""One bad ledger line cannot break a command: it is reported once with its line number and skipped
by every reader. The ledger is committed and union-merged from other clones, so such a line may
arrive from anywhere, every minute."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.ledger import segments
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.store import snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import DATA, at, git, run

BAD_LEDGER = DATA / "bad" / "ledger-wrong-shapes.jsonl"


def _with_bad_lines(workspace: Path) -> tuple[Path, int, int]:
    """The workspace's ledger with every wrong-shaped line appended; (path, first bad line, count)."""
    path = Workspace(workspace).ledger_files()[-1]  # this month's segment
    before = len(path.read_text().splitlines())
    bad = BAD_LEDGER.read_text()
    path.write_text(path.read_text() + bad)
    return path, before + 1, len(bad.splitlines())


def test_status_prints_the_state_and_one_warning_per_bad_line(workspace: Path) -> None:
    path, first, count = _with_bad_lines(workspace)
    result = run(workspace, "status")
    assert result.exit_code == 0, result.output
    assert "agent" in result.output and "repo (" in result.output  # the state is there
    name = path.relative_to(workspace).as_posix()
    warnings = [line for line in result.output.splitlines() if line.startswith(f"warning: {name}:")]
    assert len(warnings) == count
    assert [int(w.split(":")[2]) for w in warnings] == list(range(first, first + count))
    assert "Traceback" not in result.output
    as_json = json.loads(run(workspace, "status", "--json").output)
    assert len([p for p in as_json["problems"] if p.startswith(f"{name}:")]) == count


def test_each_wrong_shape_names_what_is_wrong(workspace: Path) -> None:
    path, first, _count = _with_bad_lines(workspace)
    problems = segments.read_events(path, label="L", horizon="2100-01-01T00:00:00.000000Z").problems
    text = "\n".join(problems)
    assert f"L:{first}: task event: field 'task' has the wrong shape ({{'a': 1}}) (skipped)" in text
    assert "cost event: field 'usd' has the wrong shape ('lots')" in text
    assert "'ts' is not a UTC time like 2026-12-01T10:00:00.000000Z: 'yesterday'" in text
    assert "handoff event: field 'handoff' has the wrong shape (None)" in text
    assert "cost event: field 'usd' has the wrong shape (1.8e+25)" in text
    assert "usage event: field 'tokens' has the wrong shape" in text  # 10**30 tokens
    assert "'agent' must be a string" in text
    assert "handoff event: field 'from_session' has the wrong shape ({'path': '../..'})" in text
    assert "dated 9999-01-01T00:00:00.000000Z, in the future (ignored until then)" in text
    assert "not valid JSON (skipped)" in text and "not a ledger event (needs string id, ts, type)" in text


def test_tick_keeps_working_every_time_and_never_rewrites_the_ledger(workspace: Path) -> None:
    path, _first, _count = _with_bad_lines(workspace)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "a merge brought bad lines")
    before = path.read_bytes()
    for _ in range(2):
        result = run(workspace, "tick", "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)[0]
        assert report["skipped"] is None
    assert path.read_bytes().startswith(before)  # appended to, never rewritten


def test_an_event_from_the_far_future_does_not_pin_the_state(workspace: Path) -> None:
    ws = Workspace(workspace)
    far = make_event("route", "repo", at("9999-01-01T00:00:00Z"), task="bd-9", tier="opus", model="claude-opus-4-7")
    now = make_event("route", "repo", at("2026-12-01T10:00:00Z"), task="bd-1", tier="haiku", model="claude-haiku-4-5")
    segments.append_segments(ws, [far, now])
    state = snapshot(ws).state
    assert (state.task, state.tier) == ("bd-1", "haiku")
    assert any("in the future (ignored until then)" in p for p in snapshot(ws).problems)


def test_json_nested_too_deep_is_one_reported_line(workspace: Path) -> None:
    ws = Workspace(workspace)
    deep = "[" * 100_000 + "]" * 100_000
    with ws.ledger_files()[-1].open("a") as handle:
        handle.write(deep + "\n")
    result = run(workspace, "status")
    assert result.exit_code == 0
    assert "JSON nested too deeply (skipped)" in result.output


def test_the_signal_spool_is_held_to_the_same_schema(workspace: Path) -> None:
    ws = Workspace(workspace)
    ws.signals_path.parent.mkdir(parents=True, exist_ok=True)
    ws.signals_path.write_text('{"id":"s1","ts":"2026-12-01T10:00:00.000000Z","type":"activity","session":7}\n')
    result = run(workspace, "status")
    assert result.exit_code == 0
    assert ".cloister/local/signals.jsonl:1: activity event: field 'session' has the wrong shape (7)" in result.output
