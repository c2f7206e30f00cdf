"""The agent's own state (idle, exits, the brief still to be carried out, the cost-bleed guard's
progress) survives every way a fold is kept: the fold cache on disk and the committed checkpoint
of the closed months give the same state as folding every event."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloisterctl.ledger import checkpoints, segments, store
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import DEAD, WorkspaceState, fold
from cloisterctl.workspace.layout import Workspace
from testing.helpers import ledger_events


def _agent_state(state: WorkspaceState) -> dict[str, Any]:
    fields = ("status", "session", "task", "idle", "exited", "spawned", "brief_pending", "flags")
    return {
        **{name: getattr(state, name) for name in fields},
        "progress": (state.progress_at, state.progress_micro_usd, state.spent_since_progress),
        "last": state.last_key,
    }


def test_the_fold_cache_and_a_checkpoint_keep_the_agents_state(workspace: Path) -> None:
    ws = Workspace(workspace)
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = month - timedelta(days=10)

    def at(base: datetime, seconds: int, type_: str, **fields: Any) -> dict[str, Any]:
        return make_event(type_, "repo", base + timedelta(seconds=seconds), **fields)

    spawn = {"tier": "opus", "model": "claude-opus-4-7", "source": "spawn"}
    closed = [
        at(last_month, 0, "session", session="s1", task="t-1", **spawn),
        at(last_month, 1, "cost", session="s1", usd=2.0),
        at(last_month, 2, "activity", source="git", hook="post-commit", commit="abc"),
        at(last_month, 3, "exit", session="s1", exit_code=3, output=["boom"]),
    ]
    current = [
        at(month, 1, "session", session="s2", task="t-2", **spawn),
        at(month, 2, "cost", session="s2", usd=1.5),
        at(month, 3, "decision", trigger="bleed", cause="bleed:x", kind="flag", status="flagged", reason="spent"),
        at(month, 4, "decision", trigger="task_closed", cause="c", kind="idle", status="applied", reason="none ready"),
        at(month, 5, "exit", session="s2"),
    ]
    segments.append_segments(ws, [*closed, *current])
    expected = _agent_state(fold(ledger_events(workspace), agent="repo"))
    assert expected["status"] == DEAD and expected["idle"] is not None and expected["brief_pending"]
    assert set(expected["exited"]) == {"s1", "s2"} and set(expected["flags"]) == {"bleed"}

    assert _agent_state(store.snapshot(ws, store_cache=True).state) == expected  # a full fold, kept on disk
    store.forget(ws)
    assert _agent_state(store.snapshot(ws).state) == expected  # read back from the cache file

    files, valid = checkpoints.current(ws, store.current_month())
    assert files and not valid
    checkpoints.write(ws, store.checkpoint_of(ws, files))
    store.forget(ws)
    (ws.cache_dir / store.CACHE_FILE).unlink()
    written = checkpoints.load_valid(ws, functools.partial(store.refold_checkpoint, ws)).checkpoint
    assert written is not None  # the closed month's state, decoded from the committed file:
    assert _agent_state(written.state) == _agent_state(fold(closed, agent="repo"))
    assert written.state.exited == {"s1": closed[3]["ts"]} and written.state.progress_at == closed[2]["ts"]
    assert _agent_state(store.snapshot(ws).state) == expected  # that state and this month's events
