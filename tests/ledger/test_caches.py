"""Caches are data, never code: a crafted cache committed to a repository (or planted where the
caches live) runs nothing, and a corrupt one is rebuilt."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from cloisterctl.ledger import segments
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.store import forget, snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import at, git, run


class _Payload:
    """What an attacker pickles: loading it runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _crafted(marker: Path) -> bytes:
    return pickle.dumps(_Payload(marker))


def test_a_committed_pickle_cache_runs_nothing_in_a_teammates_clone(tmp_path: Path, workspace: Path) -> None:
    marker = tmp_path / "ran"
    (workspace / ".beads").mkdir()
    (workspace / ".beads" / "issues.jsonl").write_text('{"id":"bd-1","title":"Fix typo","status":"open"}\n')
    local = workspace / ".cloister" / "local"
    local.mkdir(parents=True, exist_ok=True)
    for name in ("fold.cache", "fold.json", "tasks.cache"):
        (local / name).write_bytes(_crafted(marker))
    git(workspace, "add", "-A")
    git(
        workspace, "add", "-f", ".cloister/local/fold.cache", ".cloister/local/fold.json", ".cloister/local/tasks.cache"
    )
    git(workspace, "commit", "-q", "-m", "helpful caches")
    clone = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(workspace), str(clone))
    assert (clone / ".cloister" / "local" / "fold.cache").exists()
    for command in (["status"], ["route", "bd-1"], ["classify", "--all"]):
        result = run(clone, *command)
        assert result.exit_code == 0, result.output
    for command in (["tick"],):  # what records refuses a tracked .cloister/local/
        result = run(clone, *command)
        assert result.exit_code == 1 and "git tracks machine-local state" in result.output, result.output
    assert not marker.exists()


def test_a_planted_cache_where_caches_live_runs_nothing_and_is_rebuilt(tmp_path: Path, workspace: Path) -> None:
    marker = tmp_path / "ran"
    ws = Workspace(workspace)
    event = make_event("route", "repo", at("2026-12-01T10:00:00Z"), task="bd-1", tier="haiku", model="m")
    segments.append_segments(ws, [event])
    assert run(workspace, "tick").exit_code == 0  # writes the real caches
    cache = ws.cache_dir / "fold.json"
    assert json.loads(cache.read_bytes())["state"]["task"] == "bd-1"
    cache.write_bytes(_crafted(marker))
    (ws.cache_dir / "tasks.cache").write_bytes(_crafted(marker))
    forget(ws)
    assert snapshot(ws).state.task == "bd-1"
    assert run(workspace, "status").exit_code == 0
    assert not marker.exists()


def test_a_cache_of_the_wrong_shape_is_refolded_not_trusted(workspace: Path) -> None:
    ws = Workspace(workspace)
    event = make_event("route", "repo", at("2026-12-01T10:00:00Z"), task="bd-2", tier="sonnet", model="m")
    segments.append_segments(ws, [event])
    assert run(workspace, "tick").exit_code == 0
    cache = ws.cache_dir / "fold.json"
    data = json.loads(cache.read_bytes())
    data["state"]["task"] = {"not": "a string"}  # a shape no fold produces
    cache.write_text(json.dumps(data))
    forget(ws)
    assert snapshot(ws).state.task == "bd-2"
    cache.write_text("[1, 2")  # truncated
    forget(ws)
    assert snapshot(ws).state.task == "bd-2"


def test_caches_are_outside_the_work_tree(workspace: Path, isolated_env: Path) -> None:
    ws = Workspace(workspace)
    assert run(workspace, "tick").exit_code == 0
    assert ws.cache_dir.is_relative_to(isolated_env / ".cache" / "cloisterctl")
    assert not ws.cache_dir.is_relative_to(workspace)
    assert (ws.cache_dir / "fold.json").exists()
