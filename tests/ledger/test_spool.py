"""ledger.spool: hooks' durable events move to the ledger, the rest of the spool is compacted, and
the fold reads the same before and after."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.ledger import spool
from cloisterctl.ledger.events import encode, make_event, ordered
from cloisterctl.ledger.store import snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import at, ledger_events


def spool_lines(ws: Workspace) -> list[str]:
    return ws.signals_path.read_text().splitlines() if ws.signals_path.exists() else []


def write_spool(ws: Workspace, lines: list[str]) -> None:
    ws.signals_path.parent.mkdir(parents=True, exist_ok=True)
    with ws.signals_path.open("a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def test_durable_events_move_to_their_months_segment_and_activity_is_compacted(workspace: Path) -> None:
    ws = Workspace(workspace)
    agent = ws.default_agent
    old_task = make_event("task", agent, at("2026-11-30T23:59:00Z"), task="bd-1", event="close", status="closed")
    task = make_event("task", agent, at("2026-12-01T08:00:00Z"), task="bd-2", event="update", status="in_progress")
    session = make_event("session", agent, at("2026-12-01T08:01:00Z"), session="s1", event="start", source="hook")
    runs = [
        make_event("test_run", agent, at(f"2026-12-01T08:0{i}:30Z"), passed=i == 3, source="agent-hook")
        for i in range(1, 4)
    ]
    activity = [
        make_event(
            "activity", agent, at(f"2026-12-01T08:{m:02d}:00Z"), source="agent", session="s1", hook="PostToolUse"
        )
        for m in range(10, 20)
    ]
    idle = make_event("idle", agent, at("2026-12-01T08:30:00Z"), session="s1", source="agent")
    future = make_event("task", agent, at("2999-01-01T00:00:00Z"), task="bd-9", event="update")
    write_spool(ws, [encode(e) for e in [old_task, task, session, *runs, *activity, idle, future]] + ["not json {"])
    before = snapshot(ws).state

    moved = spool.promote(ws)

    assert [e["id"] for e in moved] == [e["id"] for e in [old_task, task, session, *runs]]
    segments = {
        path.name: [json.loads(line)["id"] for line in path.read_text().splitlines()] for path in ws.ledger_files()
    }
    assert old_task["id"] in segments["2026-11.jsonl"] and task["id"] in segments["2026-12.jsonl"]
    kept = spool_lines(ws)
    assert [json.loads(line)["id"] for line in kept[:2]] == [activity[-1]["id"], idle["id"]]  # the latest of each
    assert kept[2:] == [encode(future), "not json {"]  # held back or unreadable: kept as they were
    assert not (ws.local_dir / spool.WORK_NAME).exists()
    after = snapshot(ws).state
    assert (after.tasks, after.session, after.test_failures_in_a_row, after.activity) == (
        before.tasks,
        before.session,
        before.test_failures_in_a_row,
        before.activity,
    )
    assert spool.promote(ws) == []  # nothing durable left: the spool is not touched again


def test_a_promotion_cut_short_is_finished_by_the_next_and_nothing_counts_twice(workspace: Path) -> None:
    ws = Workspace(workspace)
    agent = ws.default_agent
    task = make_event("task", agent, at("2026-12-01T08:00:00Z"), task="bd-2", event="close", status="closed")
    later = make_event("task", agent, at("2026-12-01T09:00:00Z"), task="bd-3", event="close", status="closed")
    # A crash after the rename, and after the ledger got the line: the work file is still there.
    work = ws.local_dir / spool.WORK_NAME
    work.parent.mkdir(parents=True, exist_ok=True)
    work.write_text(encode(task) + "\n")
    ws.segment_for(task["ts"]).parent.mkdir(parents=True, exist_ok=True)
    with ws.segment_for(task["ts"]).open("a") as handle:
        handle.write(encode(task) + "\n")
    write_spool(ws, [encode(later)])  # and a hook wrote on since

    assert [e["id"] for e in spool.promote(ws)] == [task["id"]]  # the leftover first
    assert [e["id"] for e in spool.promote(ws)] == [later["id"]]
    ids = [e["id"] for e in ledger_events(workspace) if e["type"] == "task"]
    assert ids.count(task["id"]) == 2  # on disk twice ...
    assert set(snapshot(ws).state.tasks) >= {"bd-2", "bd-3"}  # ... one event to every reader
    assert [e["id"] for e in ordered(snapshot(ws).events) if e["type"] == "task"] == [task["id"], later["id"]]
