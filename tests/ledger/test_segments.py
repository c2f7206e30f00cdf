from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloisterctl.errors import LockTimeout
from cloisterctl.ledger import segments
from cloisterctl.ledger.events import encode, format_ts, make_event, parse_ts
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.projection import front_matter
from cloisterctl.ledger.store import snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import git, ledger_bytes, ledger_events, run

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_events_have_the_required_fields_and_utc_times() -> None:
    event = make_event("route", "a1", T0 + timedelta(microseconds=5), task="bd-1")
    assert event["ts"] == "2026-11-22T09:00:00.000005Z"
    assert set(event) == {"id", "ts", "type", "agent", "task"}
    assert parse_ts(event["ts"]) == T0 + timedelta(microseconds=5)
    with pytest.raises(ValueError):
        format_ts(datetime(2026, 1, 1))


def test_corrupt_lines_are_reported_with_their_number_and_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    lock = tmp_path / "ledger.lock"
    good = make_event("init", "a", T0)
    text = encode(good) + "\n{not json\n" + '["a list"]\n' + '{"id": "x", "ts": 5, "type": "t"}\n' + '{"id": "half'
    path.write_text(text)
    result = segments.read_events(path, label=".cloister/ledger.jsonl")
    assert [e["id"] for e in result.events] == [good["id"]]
    assert result.problems == [
        ".cloister/ledger.jsonl:2: not valid JSON (skipped)",
        ".cloister/ledger.jsonl:3: not a ledger event (needs string id, ts, type) (skipped)",
        ".cloister/ledger.jsonl:4: not a ledger event (needs string id, ts, type) (skipped)",
        ".cloister/ledger.jsonl:5: incomplete last line (skipped)",
    ]
    later = make_event("route", "a", T0 + timedelta(seconds=1), tier="haiku")
    segments.append(path, lock, [later])
    after = path.read_text()
    # The torn line is kept as it was and the new event starts on a line of its own.
    assert after == text + "\n" + encode(later) + "\n"
    reread = segments.read_events(path)
    assert [e["id"] for e in reread.events] == [good["id"], later["id"]]
    assert len(reread.problems) == 4


def _writer(args: tuple[str, int, int]) -> None:
    root, worker, count = args
    ws = Workspace(Path(root))
    for n in range(count):
        event = make_event("activity", f"w{worker}", datetime.now(UTC), source="test", n=n, pad="x" * (n * 37 % 3000))
        segments.append(ws.ledger_path, ws.lock_path, [event], timeout=30)


def test_many_concurrent_writer_processes_lose_no_line(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    workers, per_worker = 8, 150
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_writer, [(str(tmp_path), w, per_worker) for w in range(workers)])
    result = segments.read_events(ws.ledger_path)
    assert result.problems == []
    assert len(result.events) == workers * per_worker
    seen = {(e["agent"], e["n"]) for e in result.events}
    assert seen == {(f"w{w}", n) for w in range(workers) for n in range(per_worker)}


def test_a_held_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.local_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); l.acquire();"
            " print('held', flush=True); time.sleep(30)",
            str(ws.lock_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(
            LockTimeout, match=r"ledger.lock: the ledger is locked by another cloisterctl process \(waited 0.3s\)"
        ):
            segments.append(ws.ledger_path, ws.lock_path, [make_event("init", "a", T0)], timeout=0.3)
        assert time.monotonic() - started < 5
        assert not ws.ledger_path.exists()
    finally:
        holder.kill()
        holder.wait()


def _branch_events(agent: str, start: datetime, kinds: list[tuple[str, dict[str, object]]]) -> list[dict[str, object]]:
    return [make_event(kind, agent, start + timedelta(minutes=i), **fields) for i, (kind, fields) in enumerate(kinds)]


def test_union_merge_of_two_branches_folds_like_a_linear_history(workspace: Path) -> None:
    ws = Workspace(workspace)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister init")
    base = ledger_events(workspace)

    main_events = _branch_events(
        "repo",
        T0,
        [
            (
                "route",
                {
                    "task": "bd-1",
                    "tier": "opus",
                    "model": "claude-opus-4-7",
                    "rule": "role",
                    "complexity": {"level": "expert", "source": "explicit"},
                },
            ),
            ("test_run", {"passed": False, "command": "pytest"}),
            (
                "decision",
                {
                    "trigger": "planning_complete",
                    "cause": "planning_complete:bd-1",
                    "task": "bd-1",
                    "from_tier": "opus",
                    "to_tier": "sonnet",
                    "kind": "downgrade",
                    "reason": "plan closed",
                    "status": "applied",
                },
            ),
        ],
    )
    side_events = _branch_events(
        "repo",
        T0 + timedelta(seconds=30),
        [
            ("task", {"task": "bd-1", "status": "closed", "title": "Plan"}),
            ("test_run", {"passed": False, "command": "pytest"}),
            ("session", {"session": "s-2", "model": "claude-sonnet-4-6", "tier": "sonnet"}),
        ],
    )
    git(workspace, "checkout", "-q", "-b", "side")
    segments.append_segments(ws, side_events)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "side events")
    git(workspace, "checkout", "-q", "main")
    segments.append_segments(ws, main_events)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "main events")
    git(workspace, "merge", "-q", "--no-edit", "side")  # raises on a conflict (segments merge=union)

    merged_events = ledger_events(workspace)
    assert [p for path in ws.ledger_files() for p in segments.read_events(path).problems] == []
    assert len(merged_events) == len(base) + 6
    linear = base + sorted(main_events + side_events, key=lambda e: str(e["ts"]))
    merged_state = fold(merged_events, agent="repo")
    linear_state = fold(linear, agent="repo")
    assert merged_state == linear_state
    assert front_matter(merged_state) == front_matter(linear_state)
    assert merged_state.tier == "sonnet" and merged_state.task == "bd-1"
    assert merged_state.test_failures_in_a_row == 0  # the session start moved the tier; the streak restarts
    # The same merge in the other direction gives the same state.
    git(workspace, "checkout", "-q", "side")
    git(workspace, "merge", "-q", "--no-edit", "main")
    assert fold(ledger_events(workspace), agent="repo") == linear_state


def test_duplicate_ids_from_a_merge_count_once() -> None:
    event = make_event("test_run", "a", T0, passed=False)
    state = fold([event, dict(event), make_event("test_run", "a", T0 + timedelta(seconds=1), passed=False)], "a")
    assert state.test_failures_in_a_row == 2


def test_status_reports_corrupt_ledger_lines_without_touching_the_file(workspace: Path) -> None:
    ws = Workspace(workspace)
    [segment] = ws.ledger_files()  # init's event is its first line
    with segment.open("a") as handle:
        handle.write("garbage\n")
    before = ledger_bytes(ws.root)
    result = run(workspace, "status", "--json")
    assert result.exit_code == 0
    name = segment.relative_to(workspace).as_posix()
    assert json.loads(result.output)["problems"] == [f"{name}:2: not valid JSON (skipped)"]
    assert ledger_bytes(ws.root) == before
    assert snapshot(ws).state.agent == "repo"
