from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cloisterctl.ledger import segments, statefile
from cloisterctl.ledger.events import make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import events, run


def test_flags_list_and_clear(workspace: Path) -> None:
    ws = Workspace(workspace)
    t = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    segments.append_segments(
        ws,
        [
            make_event("session", "repo", t, session="s1", tier="opus", model="claude-opus-4-7", source="spawn"),
            make_event(
                "decision", "repo", t + timedelta(seconds=1), trigger="stuck", cause="s", kind="flag", status="flagged"
            ),
            make_event(
                "decision",
                "repo",
                t + timedelta(seconds=2),
                trigger="test_failure",
                cause="f",
                kind="flag",
                status="flagged",
            ),
        ],
    )
    listed = json.loads(run(workspace, "flags", "list", "--json").output)
    assert sorted(listed["flags"]) == ["stuck", "test_failure"]
    missing = run(workspace, "flags", "clear", "repo", "bleed")
    assert (
        missing.exit_code == 1 and "agent repo has no flag 'bleed' (its flags: stuck, test_failure)" in missing.output
    )
    wrong = run(workspace, "flags", "clear", "someone-else")
    assert wrong.exit_code == 1 and "this workspace's agent is 'repo'" in wrong.output
    one = json.loads(
        run(workspace, "flags", "clear", "repo", "stuck", "--reason", "looked: it is fine", "--json").output
    )
    assert one["cleared"] == ["stuck"] and list(one["flags"]) == ["test_failure"]
    assert statefile.read(workspace / "STATE.md").cloister["flags"] == {"test_failure": "2026-11-22T10:00:02.000000Z"}
    assert run(workspace, "flags", "clear", "repo").output.strip() == "cleared test_failure"
    assert "flags" not in statefile.read(workspace / "STATE.md").cloister
    [first, second] = events(workspace, "flag_cleared")
    assert (first["flags"], first["reason"], second["flags"]) == (["stuck"], "looked: it is fine", ["test_failure"])
    assert run(workspace, "flags", "clear", "repo").output.strip() == "repo has no flags"
    assert len(events(workspace, "flag_cleared")) == 2
