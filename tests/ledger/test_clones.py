"""A cause fires once across clones: when two clones decided the same cause before they saw each
other's ledger, the merged ledger folds to one decision (the first by (ts, id)) in both."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.ledger import segments
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.store import forget, snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import at, git, run

PLAN = (
    '{"id":"bd-1","title":"Plan the cache layer","status":"closed","labels":["planning"]}\n'
    # What the plan unblocks: with no ready task after it the agent would go idle, not move.
    '{"id":"bd-2","title":"Build the cache layer","status":"open",'
    '"dependencies":[{"issue_id":"bd-2","depends_on_id":"bd-1","type":"blocks"}]}\n'
)


def _clone(remote: Path, path: Path) -> Path:
    git(path.parent, "clone", "-q", str(remote), str(path))
    git(path, "config", "user.name", path.name)
    git(path, "config", "user.email", f"{path.name}@example.com")
    return path


def _decide(clone: Path, minute: int) -> str:
    """The plan closed as this clone's beads hook saw it; this clone's tick decides on it."""
    ws = Workspace(clone)
    closed = make_event("task", "repo", at(f"2026-12-01T10:{minute:02d}:00Z"), task="bd-1", status="closed",
                        event="close", labels=["planning"], title="Plan the cache layer")  # fmt: skip
    segments.append_segments(ws, [closed])
    report = json.loads(run(clone, "tick", "--json").output)[0]
    [decision] = report["decisions"]
    git(clone, "add", ".cloister/ledger")
    git(clone, "commit", "-q", "-m", f"{clone.name}'s ledger")
    git(clone, "checkout", "--", "STATE.md")  # git-native STATE.md merging is another issue's
    return str(decision["id"])


def test_two_clones_deciding_one_cause_fold_to_one_decision(tmp_path: Path, workspace: Path) -> None:
    (workspace / ".beads").mkdir()
    (workspace / ".beads" / "issues.jsonl").write_text(PLAN)
    (workspace / ".cloister" / "config.yaml").write_text("tick:\n  commit: false\n")
    ws = Workspace(workspace)
    route = make_event("route", "repo", at("2026-12-01T09:00:00Z"), task="bd-1", tier="opus", model="claude-opus-4-7")
    segments.append_segments(ws, [route])
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "planning on opus")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(workspace), str(remote))
    a = _clone(remote, tmp_path / "a")
    b = _clone(remote, tmp_path / "b")
    first = _decide(a, 1)
    second = _decide(b, 2)
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-rebase", "origin", "main")
    git(b, "push", "-q", "origin", "main")
    git(a, "pull", "-q", "--no-rebase", "origin", "main")
    for clone in (a, b):
        forget(Workspace(clone))
        state = snapshot(Workspace(clone)).state
        assert list(state.decisions) == [first]  # the earlier one stands
        assert state.duplicates == {second: "planning_complete:bd-1"}
        assert state.tier == "sonnet"  # moved once, by the decision that stands
        status = run(clone, "status")
        assert f"note: decision {second} repeats planning_complete:bd-1" in status.output
        assert json.loads(run(clone, "tick", "--json").output)[0]["decisions"] == []  # nothing fires again
