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

    assert spool.promote(ws) == []  # the leftover first: its line is in the ledger already
    assert [e["id"] for e in spool.promote(ws)] == [later["id"]]
    ids = [e["id"] for e in ledger_events(workspace) if e["type"] == "task"]
    assert ids.count(task["id"]) == 1  # not appended again ...
    assert set(snapshot(ws).state.tasks) >= {"bd-2", "bd-3"}  # ... one event to every reader
    assert [e["id"] for e in ordered(snapshot(ws).events) if e["type"] == "task"] == [task["id"], later["id"]]


# One hook process: runs `cloisterctl hook claude` SessionStart for sessions NAME-0 .. NAME-(COUNT-1).
HOOKS = """
import json, subprocess, sys
name, count = sys.argv[1], int(sys.argv[2])
for n in range(count):
    payload = {"hook_event_name": "SessionStart", "source": "startup", "session_id": f"{name}-{n}"}
    done = subprocess.run([sys.executable, "-m", "cloisterctl", "hook", "claude"], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=60)
    if done.returncode:
        sys.exit(f"hook failed: {done.stderr}")
"""

# One promoting process: commands of KIND until the file STOP exists, each promoting the spool
# (``usage add``: its commit point; ``promote``: the bare promotion, back to back, as often as it can).
PROMOTERS = """
import os, subprocess, sys
from pathlib import Path
kind, name, stop = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "promote":
    from cloisterctl.ledger import spool
    from cloisterctl.workspace.layout import find_workspace
    ws = find_workspace(Path.cwd())
n = 0
while not os.path.exists(stop):
    n += 1
    if kind == "promote":
        spool.promote(ws)
        continue
    args = ["usage", "add", "--model", "claude-haiku-4-5", "--input", "10", "--output", "1", "--id", f"{name}-{n}"]
    done = subprocess.run([sys.executable, "-m", "cloisterctl", *args], capture_output=True, text=True, timeout=120)
    if done.returncode:
        sys.exit(f"{args[0]} failed ({done.returncode}): {done.stdout} {done.stderr}")
"""


def test_racing_hooks_and_promoting_commands_lose_and_repeat_nothing(workspace: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from testing.helpers import git

    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "init")
    stop = tmp_path / "stop"
    promoters = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTERS, kind, f"p{n}", str(stop)],
            cwd=workspace,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, kind in enumerate(["promote", "promote", "promote", "usage", "usage"])
    ]
    hooks = [
        subprocess.Popen([sys.executable, "-c", HOOKS, f"h{n}", "5"], cwd=workspace, stderr=subprocess.PIPE, text=True)
        for n in range(8)
    ]
    failures = [process.communicate(timeout=300)[1] for process in hooks if process.wait(timeout=300)]
    stop.touch()
    failures += [process.communicate(timeout=300)[1] for process in promoters if process.wait(timeout=300)]
    assert failures == []
    spool.promote(Workspace(workspace))  # what the hooks wrote after the last promotion
    expected = {f"h{n}-{i}" for n in range(8) for i in range(5)}
    started = [e["session"] for e in ledger_events(workspace) if e["type"] == "session" and e["session"] in expected]
    left = Workspace(workspace).signals_path.read_text() if Workspace(workspace).signals_path.exists() else ""
    assert sorted(started) == sorted(expected), left  # each exactly once
    assert not (Workspace(workspace).local_dir / spool.WORK_NAME).exists()
