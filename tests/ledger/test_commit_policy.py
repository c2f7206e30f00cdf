"""ledger.commit and ledger.bookkeeping: a scripted session of work makes a handful of commits,
each saying what happened; bookkeeping (cost, test runs, activity, task changes) never makes one
of its own and rides the next; nothing is committed twice; the tree stays clean throughout."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cloisterctl.ledger import statefile
from cloisterctl.ledger.bookkeeping import is_bookkeeping
from cloisterctl.ledger.commit import commit_message
from cloisterctl.ledger.events import make_event
from testing.helpers import TASKS, at, cli, git, ledger_events, spooled_events, tick_json, write_tasks

NOW = at("2026-12-01T10:00:00Z")


def _own_subjects(ws: Path) -> list[str]:
    return git(ws, "log", "--author=cloisterctl", "--format=%s").splitlines()[::-1]


def _clean(ws: Path) -> bool:
    return git(ws, "status", "--porcelain", "--untracked-files=no") == ""


def test_what_makes_a_commit_of_its_own() -> None:
    def event(kind: str, **fields: object) -> dict[str, object]:
        return make_event(kind, "bob", NOW, **fields)

    for kind in ("cost", "budget", "usage", "activity", "test_run", "task", "brief"):
        assert is_bookkeeping([event(kind)]), kind
    assert is_bookkeeping([event("handoff", handoff="h1", step="captured", status="done")])
    assert not is_bookkeeping([event("handoff", handoff="h1", step="completed", status="done")])
    # A verification's start rides along; its verdict is news.
    assert is_bookkeeping([event("verification", task="t", result="pending", source="tick")])
    assert not is_bookkeeping([event("verification", task="t", result="fail", source="tick")])
    assert is_bookkeeping([event("session", session="s", event="start", source="hook")])
    stop = event("session", session="s", event="end", source="spawn", how="exit text")
    assert not is_bookkeeping([stop]) and commit_message([stop]) == "cloister: stop bob"
    # A handoff's own session change is its step's, not a stop by hand.
    assert is_bookkeeping([event("handoff", handoff="h1", step="stopped", status="done"), stop])
    route = event("route", task="e-1", tier="haiku")
    start = event("session", session="s", event="start", source="spawn", task="e-1", tier="haiku")
    assert commit_message([route]) == "cloister: route e-1 -> haiku"
    assert commit_message([route, start]) == "cloister: spawn bob on e-1 (haiku)"  # not the route again


def test_a_day_of_work_is_a_handful_of_commits_that_say_what_happened(agent_ws: Path, tmux_socket: str) -> None:
    ws = agent_ws
    write_tasks(ws, TASKS)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "tasks")
    agent = json.loads(cli(ws, "status", "--json").stdout)["agent"]

    cli(ws, "route", "app-2", "--record")
    spawned = json.loads(cli(ws, "spawn", "app-2", "--json").stdout)
    for _ in range(4):  # the agent works: transcripts grow, cost moves, ticks record it
        time.sleep(0.7)
        tick_json(ws)
        assert _clean(ws)
    for code in (0, 0):
        assert cli(ws, "test", "--", sys.executable, "-c", f"raise SystemExit({code})").returncode == 0
    (ws / "work.txt").write_text("the user's own work\n")
    git(ws, "add", "work.txt")
    git(ws, "commit", "-q", "-m", "user work")
    tick_json(ws)
    assert _clean(ws)
    waiting = {e["type"] for e in spooled_events(ws)}
    assert {"cost", "test_run"} <= waiting  # bookkeeping waits in the spool, folded by every reader
    view = json.loads(cli(ws, "status", "--json").stdout)
    assert view["cost"]["total_usd"] > 0
    assert view["state_md"] == "in sync (cost as of cloisterctl's last commit)"

    cli(ws, "stop", agent)

    tier = spawned["tier"]
    assert _own_subjects(ws) == [
        f"cloister: route app-2 -> {tier}",
        f"cloister: spawn {agent} on app-2 ({tier})",
        f"cloister: stop {agent}",
    ]
    assert _clean(ws)
    # The bookkeeping rode the stop's commit: in the ledger now, out of the spool, in STATE.md.
    committed = {e["type"] for e in ledger_events(ws)}
    assert {"cost", "test_run"} <= committed
    assert not {e["type"] for e in spooled_events(ws)} & {"cost", "test_run", "task", "session"}
    stopped = git(ws, "show", "--stat", "--format=", "HEAD")
    assert "STATE.md" in stopped and ".cloister/ledger/" in stopped
    assert statefile.read(ws / "STATE.md").cloister["cost"]["total_usd"] > 0
    assert json.loads(cli(ws, "tick", "--json").stdout)[0]["commit"] is None  # nothing twice
