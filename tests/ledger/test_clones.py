"""Each clone decides for its own agent: when two clones decided on the same task before they saw
each other's ledger, the merged ledger keeps both decisions, each its own clone's, and the other's
is history (``ledger.ownership``): it changes nothing here and fires nothing again.
(Two decisions of one cause for one agent, as 0.1.0 could write from two clones, still fold to
one: ``tests/ledger/test_fold.py``.)"""

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
    """This clone's agent plans on opus; the plan closed as this clone's beads hook saw it; this
    clone's tick decides on it."""
    ws = Workspace(clone)
    agent = snapshot(ws).state.agent  # the clone's own (its work tree's name: the init event is the first clone's)
    assert agent == clone.name
    route = make_event("route", agent, at(f"2026-12-01T09:{minute:02d}:00Z"), task="bd-1", tier="opus",
                       model="claude-opus-4-7")  # fmt: skip
    segments.append_segments(ws, [route])
    closed = make_event("task", agent, at(f"2026-12-01T10:{minute:02d}:00Z"), task="bd-1", status="closed",
                        event="close", labels=["planning"], title="Plan the cache layer")  # fmt: skip
    segments.append_segments(ws, [closed])
    report = json.loads(run(clone, "tick", "--json").output)[0]
    [decision] = report["decisions"]
    git(clone, "add", ".cloister/ledger")
    git(clone, "commit", "-q", "-m", f"{clone.name}'s ledger")
    git(clone, "checkout", "--", "STATE.md")  # git-native STATE.md merging is another issue's
    return str(decision["id"])


def test_two_clones_deciding_on_one_task_keep_their_own_decisions(tmp_path: Path, workspace: Path) -> None:
    (workspace / ".beads").mkdir()
    (workspace / ".beads" / "issues.jsonl").write_text(PLAN)
    (workspace / ".cloister" / "config.yaml").write_text("tick:\n  commit: false\n")
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
    for clone, own, theirs in ((a, first, second), (b, second, first)):
        forget(Workspace(clone))
        state = snapshot(Workspace(clone)).state
        assert list(state.decisions) == [own]  # the other clone's is history
        assert state.duplicates == {}
        assert state.tier == "sonnet"  # moved once, by its own decision
        assert theirs in [entry.get("decision", {}).get("id") for entry in state.teammates.values()]
        assert json.loads(run(clone, "tick", "--json").output)[0]["decisions"] == []  # nothing fires again
