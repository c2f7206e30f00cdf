"""The fold cache and the committed checkpoints are versioned by the code that folds: a change to a
reducer is never served a state the old code folded, and clones running different code keep their
own checkpoints without removing each other's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloisterctl.ledger import segments, store
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold_version import FOLD_MODULES, fold_version
from cloisterctl.workspace.layout import Workspace
from testing.codecopy import copy_cli, copy_eval, copy_python, edited_copy
from testing.helpers import REPO_ROOT, cli
from testing.imports import imported

# In the copy, the route reducer words its last decision differently: a state the original code
# folded still says "route:", one the copy folded says "routed:".
REDUCER_EDIT = ('state.last_decision = f"route: {', 'state.last_decision = f"routed: {')

# Run by either code: the state it reads (cache, checkpoint, segments) and a fold of every event.
COMPARE = """
import json, sys
from pathlib import Path
from cloisterctl.ledger import store
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.projection import front_matter
from cloisterctl.workspace.layout import Workspace
ws = Workspace(Path(sys.argv[1]))
events, _problems, _deferred = store.read_all(ws, store.horizon())
full, kept = fold(events, agent=ws.default_agent), store.snapshot(ws).state
print(json.dumps([[s.last_decision, front_matter(s)] for s in (kept, full)], default=str))
"""


def _cache(ws: Workspace) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws.cache_dir / store.CACHE_FILE).read_bytes())
    return data


def _checkpoints(ws: Workspace) -> dict[str, tuple[Any, int]]:
    """Each checkpoint file: its header's version, and when it was last written."""
    return {
        path.name: (json.loads(path.read_bytes().split(b"\n", 1)[0])["version"], path.stat().st_mtime_ns)
        for path in sorted(ws.checkpoints_dir.glob("*.json"))
    }


def test_the_fold_version_covers_every_module_the_fold_and_the_segment_reader_import() -> None:
    needed = imported("cloisterctl.ledger.fold", "cloisterctl.ledger.segments", within=("cloisterctl.ledger",))
    assert needed - set(FOLD_MODULES) == set()
    assert {"cloisterctl.ledger.reducers", "cloisterctl.ledger.state", "cloisterctl.ledger.schema"} <= needed


def test_a_changed_reducer_refolds_the_cache_the_old_code_left(workspace: Path, tmp_path: Path) -> None:
    ws = Workspace(workspace)
    route = make_event("route", "repo", datetime.now(UTC), task="bd-1", tier="haiku", model="m", rule="r")
    segments.append_segments(ws, [route])
    cli(workspace, "tick")
    assert _cache(ws)["version"] == fold_version()
    assert _cache(ws)["state"]["last_decision"].startswith("route: bd-1")

    copy = edited_copy(tmp_path / "copy", "ledger/reducers.py", *REDUCER_EDIT)
    copied_version = copy_eval(
        copy, "cloisterctl.ledger.fold_version.fold_version()", "cloisterctl.ledger.fold_version"
    )
    assert copied_version != fold_version()
    copy_cli(copy, workspace, "tick")
    # Not the old code's state: folded again by the new reducer, and kept under the new version.
    assert _cache(ws)["version"] == copied_version
    assert _cache(ws)["state"]["last_decision"].startswith("routed: bd-1")

    cli(workspace, "tick")  # and back: the original code does not take the copy's cache either
    assert _cache(ws)["version"] == fold_version()
    assert _cache(ws)["state"]["last_decision"].startswith("route: bd-1")


def _closed_and_current(ws: Workspace) -> None:
    """A route in last month's segment (closed: checkpointed) and activity in this month's."""
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = month - timedelta(days=10)
    route = make_event("route", "repo", last_month, task="bd-1", tier="haiku", model="m", rule="r")
    activity = make_event("activity", "repo", month + timedelta(seconds=1), source="git", hook="post-commit")
    segments.append_segments(ws, [route, activity])


def test_a_checkpoint_of_other_code_is_ignored_not_removed_and_no_clone_fights(workspace: Path, tmp_path: Path) -> None:
    ws = Workspace(workspace)
    _closed_and_current(ws)
    cli(workspace, "tick")
    [(original, (version, _))] = _checkpoints(ws).items()
    assert version == fold_version()
    copy = edited_copy(tmp_path / "copy", "ledger/reducers.py", *REDUCER_EDIT)

    # With no fold cache, each code reads the checkpoint, if it is its own, and the segments after it.
    (ws.cache_dir / store.CACHE_FILE).unlink()
    kept, full = json.loads(copy_python(copy, COMPARE, str(workspace)))
    assert kept == full and kept[0].startswith("routed: bd-1")  # the old code's checkpoint was not used
    kept, full = json.loads(copy_python(REPO_ROOT, COMPARE, str(workspace)))  # this code

    assert kept == full and kept[0].startswith("route: bd-1")
    assert list(_checkpoints(ws)) == [original]

    copy_cli(copy, workspace, "tick")  # writes its own checkpoint of the same month, beside the other
    written = _checkpoints(ws)
    assert len(written) == 2 and original in written
    assert {version for version, _ in written.values()} == {fold_version(), _cache(ws)["version"]}
    for _ in range(2):  # neither removes or rewrites the other's: no fight
        cli(workspace, "tick")
        copy_cli(copy, workspace, "tick")
    assert _checkpoints(ws) == written


def _plant(ws: Workspace, name: str, like: Path, version: object, through: str) -> Path:
    """A checkpoint file of another version (or of a release before versions were digests)."""
    header, body = like.read_bytes().split(b"\n", 1)
    data = {**json.loads(header), "version": version, "through": through}
    path = ws.checkpoints_dir / name
    path.write_bytes(json.dumps(data).encode() + b"\n" + body)
    return path


def test_a_checkpoint_of_other_code_goes_once_a_later_month_replaces_it(workspace: Path) -> None:
    ws = Workspace(workspace)
    _closed_and_current(ws)
    cli(workspace, "tick")
    [ours] = ws.checkpoints_dir.glob("*.json")
    through = json.loads(ours.read_bytes().split(b"\n", 1)[0])["through"]
    same_month = _plant(ws, f"{through}-other.json", ours, "0123456789abcdef", through)
    earlier = _plant(ws, "2000-01-other.json", ours, "0123456789abcdef", "2000-01")
    old_release = _plant(ws, "2000-02-old.json", ours, 5, "2000-02")
    ours.unlink()  # so that tick writes it again
    cli(workspace, "tick")
    assert ours.exists() and same_month.exists()  # another clone's current one stays
    assert not earlier.exists() and not old_release.exists()  # no code has a use for these
