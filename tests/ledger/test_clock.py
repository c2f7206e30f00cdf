"""The clock cannot corrupt a workspace: a pinned clock (CLOISTER_NOW) is for looking and never
records; a context's clock is strictly increasing and events made at one moment get distinct
timestamps in order, so a handoff driven by a clock that stands still still runs its steps once,
in order; nothing dated past the real clock (plus the skew) reaches the committed ledger."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloisterctl.agents.control import manual_handoff
from cloisterctl.errors import CloisterError, LedgerError
from cloisterctl.ledger import segments, statefile
from cloisterctl.ledger.clock import pinned
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import format_ts, make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import cli, events, handoff_events, ledger_bytes, ledger_events, standin_config, write_config


def test_a_pinned_clock_looks_but_never_records(agent_ws: Path, tmux_socket: str) -> None:
    quiet = "handoffs:\n  auto_triggers:\n    stuck:\n      thresholds: {haiku_to_sonnet_minutes: 10}\n"
    write_config(agent_ws, standin_config(quiet=True) + quiet)
    cli(agent_ws, "spawn", "--tier", "haiku")
    before = ledger_bytes(agent_ws)
    later = {"CLOISTER_NOW": format_ts(datetime.now(UTC) + timedelta(minutes=30))}
    # Looking: what would be decided half an hour from now.
    report = json.loads(cli(agent_ws, "tick", "--dry-run", "--json", env=later).stdout)[0]
    assert [(d["trigger"], d["to_tier"]) for d in report["decisions"]] == [("stuck", "sonnet")]
    assert cli(agent_ws, "status", env=later).returncode == 0
    # Recording: refused, before a byte is written.
    for args in (["tick"], ["handoff", "repo", "--to", "sonnet", "--reason", "x"], ["stop", "repo"]):
        refused = cli(agent_ws, *args, env=later, check=False)
        assert refused.returncode == 1, args
        assert "CLOISTER_NOW is set: a pinned clock is for looking" in refused.stderr
    assert ledger_bytes(agent_ws) == before


def test_events_made_at_one_moment_keep_their_order(workspace: Path) -> None:
    ws = Workspace(workspace)
    fixed = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    ctx = Context.for_workspace(ws, clock=lambda: fixed)
    first = [make_event("task", "repo", ctx.clock(), task=f"t-{n}", status="open") for n in range(3)]
    ctx.append(first)
    draft = ctx.draft()
    now = ctx.clock()
    draft.add([make_event("task", "repo", now, task="t-3"), make_event("task", "repo", now, task="t-4")])
    draft.add([make_event("task", "repo", now, task="t-5")])
    draft.write()
    ctx.append([make_event("task", "repo", ctx.clock(), task="t-6")])
    written = [e for e in ledger_events(workspace) if e["type"] == "task"]
    assert [e["task"] for e in written] == [f"t-{n}" for n in range(7)]
    stamps = [e["ts"] for e in written]
    assert stamps == sorted(stamps) and len(set(stamps)) == 7  # distinct, increasing, in the order made


def test_the_clock_never_runs_behind_what_is_folded(workspace: Path) -> None:
    ws = Workspace(workspace)
    ahead = datetime.now(UTC) + timedelta(minutes=5)  # a clone whose clock runs ahead, within the skew
    segments.append_segments(ws, [make_event("task", "repo", ahead, task="t-1")])
    ctx = Context.for_workspace(ws)
    ctx.state  # noqa: B018 - read the fold
    assert ctx.clock() > ahead


def test_nothing_dated_past_the_real_clock_reaches_the_ledger(workspace: Path) -> None:
    ws = Workspace(workspace)
    before = ledger_bytes(workspace)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    ctx = Context.for_workspace(ws, clock=lambda: tomorrow)
    with pytest.raises(LedgerError, match="refusing to record an event dated .* later than the real clock allows"):
        ctx.append([make_event("task", "repo", ctx.clock(), task="t-1")])
    assert ledger_bytes(workspace) == before


def test_a_pin_that_is_no_time_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOISTER_NOW", "yesterday")
    with pytest.raises(CloisterError, match="CLOISTER_NOW='yesterday' is not an ISO 8601 time"):
        pinned()


def test_a_handoff_under_a_clock_that_stands_still_runs_each_step_once(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    started = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    deadline = time.monotonic() + 20
    while not list((tmp_path / "claude" / "projects").glob(f"*/{started['session']}.jsonl")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    still = datetime.now(UTC)
    ctx = Context.for_workspace(Workspace(agent_ws), clock=lambda: still)
    result = manual_handoff(ctx, "haiku", "cheaper", wait=True)
    assert result["handoff"]["step"] == "completed", result
    steps = handoff_events(agent_ws)
    assert steps == [("requested", "done")] + [
        (step, phase)
        for step in ("save_requested", "idle", "captured", "stopped", "spawned", "completed")
        for phase in ("begin", "done")
    ]
    stamps = [e["ts"] for e in events(agent_ws, "handoff")]
    assert len(set(stamps)) == len(stamps)
    block = statefile.read(agent_ws / "STATE.md").cloister
    assert (block["tier"], block["model"], block["handoffs"]) == ("haiku", "claude-haiku-4-5-20251001", 1)


def _route(ws: Workspace, clock: datetime, task: str) -> dict[str, object]:
    """Record a route to ``task`` as a command does, with its own clock, in a process that has
    folded nothing yet, and refresh STATE.md."""
    ctx = Context.for_workspace(ws, clock=lambda: clock)
    event = make_event("route", "repo", ctx.clock(), task=task, tier="haiku", model="claude-haiku-4-5", rule="r")
    ctx.append([event])
    ctx.publish()
    return event


def test_a_clock_stepped_back_never_dates_an_event_before_the_last_one_written(workspace: Path) -> None:
    from cloisterctl.ledger import store

    ws = Workspace(workspace)
    now = datetime.now(UTC)
    first = _route(ws, now + timedelta(minutes=5), "bd-1")  # then the clock steps back five minutes
    store.forget(ws)
    second = _route(ws, now, "bd-2")
    assert second["ts"] > first["ts"]
    # The hooks' fast writer folds nothing: it takes the floor from .cloister/local too.
    hook = cli(workspace, "hook", "git", "post-commit")
    assert hook.returncode == 0, hook.stderr
    [activity] = [e for e in segments.read_events(ws.signals_path).events if e["type"] == "activity"]
    assert activity["ts"] > second["ts"]
    status = json.loads(cli(workspace, "status", "--json").stdout)
    assert status["task"] == "bd-2" == statefile.read(ws.state_md).front_matter["cloister"]["task"]
