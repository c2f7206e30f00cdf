"""A committed checkpoint comes from whoever pushed it: it is believed only once this machine has
refolded what it covers and found the same bytes. A forged state with valid segment hashes is
reported and changes neither the state nor the cost; a header naming a file outside the ledger is
reported and ignored; a checkpoint is never written through a symlink."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cloisterctl.ledger import checkpoints, segments, store
from cloisterctl.ledger.events import make_event
from cloisterctl.workspace.layout import Workspace
from testing.helpers import DATA, cli, git, tree_digest

FORGED_HEADER = DATA / "bad" / "checkpoint-header-outside.json"


def _closed_month_costing_4_50(ws: Workspace) -> None:
    """$4.50 of usage in last month's segment, and activity in this month's."""
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = make_event(
        "usage",
        "repo",
        month - timedelta(days=10),
        model="claude-sonnet-4-5",
        tokens={"input": 1000, "output": 100},
        requests=1,
        usd=4.5,
        session="s1",
    )
    activity = make_event("activity", "repo", month + timedelta(seconds=1), source="git", hook="post-commit")
    segments.append_segments(ws, [used, activity])


def _forge(path: Path) -> None:
    """Rewrite the checkpoint's state to say $501.50 ($503.50 and -$2.00 of usage), keeping its
    header: every segment hash in it is still right."""
    header, body = path.read_bytes().split(b"\n", 1)
    data = json.loads(body)
    [usage] = data["state"]["cold_state"]["usage_events"]
    usage["usd"] = 503.5
    data["state"]["cold_state"]["usage_events"].append({**usage, "id": "f" * 16, "usd": -2.0})
    data["state"]["cost_totals"]["micro_usd"] += 497_000_000  # with this month's $4.50: $501.50
    path.write_bytes(header + b"\n" + json.dumps(data).encode())


def _status(root: Path) -> dict[str, object]:
    found: dict[str, object] = json.loads(cli(root, "status", "--json").stdout)
    return found


def test_a_forged_checkpoint_with_valid_segment_hashes_changes_neither_state_nor_cost(
    workspace: Path, tmp_path: Path
) -> None:
    ws = Workspace(workspace)
    _closed_month_costing_4_50(ws)
    cli(workspace, "tick")
    [written] = ws.checkpoints_dir.glob("*.json")
    # A teammate's push that rewrote this workspace's own checkpoint (another place's is never read:
    # checkpoints are keyed by agent, clone and worktree), pulled here.
    _forge(written)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "a teammate's push")
    clone = workspace
    outside = tree_digest(tmp_path)

    status = _status(clone)
    assert status["cost"]["total_usd"] == 4.5  # type: ignore[index]
    assert json.loads(cli(clone, "cost", "--json").stdout)["total_usd"] == 4.5
    label = f".cloister/ledger/checkpoints/{written.name}"
    [report] = [p for p in status["problems"] if label in p]  # type: ignore[attr-defined]
    assert "does not match a refold of the segments it covers" in report
    assert "501.5" not in cli(clone, "status").stdout + cli(clone, "cost").stdout

    again = _status(clone)  # the verdict is remembered here: reported again, still not believed
    assert again["cost"]["total_usd"] == 4.5 and again["problems"] == status["problems"]  # type: ignore[index]

    forged = (clone / label).read_bytes()
    cli(clone, "tick")  # replaces it with the checkpoint of what the segments hold (under its own name)
    [honest] = Workspace(clone).checkpoints_dir.glob("*.json")
    assert honest.read_bytes() != forged
    [usage] = json.loads(honest.read_bytes().split(b"\n", 1)[1])["state"]["cold_state"]["usage_events"]
    assert usage["usd"] == 4.5
    assert json.loads(cli(clone, "cost", "--json").stdout)["total_usd"] == 4.5
    assert _status(clone)["cost"]["total_usd"] == 4.5  # type: ignore[index]
    assert not any(label in p for p in _status(clone)["problems"])  # type: ignore[attr-defined]
    changed = {path for path, digest in tree_digest(tmp_path).items() if outside.get(path) != digest}
    assert all(Path(tmp_path, path).is_relative_to(workspace) for path in changed), changed  # only the clone
    assert _status(clone)["handoffs"] == 0


def test_an_honest_checkpoint_is_verified_once_then_believed(workspace: Path, tmp_path: Path) -> None:
    ws = Workspace(workspace)
    _closed_month_costing_4_50(ws)
    cli(workspace, "tick")
    clone, cws = workspace, ws
    # As on a machine that did not write it: nothing remembered, no fold cache.
    (cws.cache_dir / checkpoints.VERIFIED_FILE).unlink()
    (cws.cache_dir / store.CACHE_FILE).unlink()
    assert _status(clone)["problems"] == []
    verdicts = json.loads((cws.cache_dir / checkpoints.VERIFIED_FILE).read_bytes())
    assert list(verdicts.values()) == [True]
    [path] = cws.checkpoints_dir.glob("*.json")
    loaded = checkpoints.load_valid(cws, lambda header: (_ for _ in ()).throw(AssertionError("refolded again")))
    assert loaded.checkpoint is not None and loaded.checkpoint.state.cold.usage_events[0]["usd"] == 4.5
    assert path.name.startswith(loaded.checkpoint.through)


def test_a_checkpoint_naming_a_file_outside_the_ledger_is_reported_and_ignored(workspace: Path) -> None:
    ws = Workspace(workspace)
    _closed_month_costing_4_50(ws)
    cli(workspace, "tick")
    [honest] = ws.checkpoints_dir.glob("*.json")
    header = json.loads(FORGED_HEADER.read_bytes().split(b"\n", 1)[0])
    header["version"] = json.loads(honest.read_bytes().split(b"\n", 1)[0])["version"]  # this code's
    header["through"] = "9998-12"  # sorts first: read before the honest one
    planted = ws.checkpoints_dir / "9998-12-planted.json"
    planted.write_bytes(json.dumps(header).encode() + b"\n" + FORGED_HEADER.read_bytes().split(b"\n", 1)[1])
    (ws.cache_dir / store.CACHE_FILE).unlink()  # so that the next reader folds from the checkpoints
    passwd = Path("/etc/passwd").read_bytes()

    for command in (("status", "--json"), ("tick", "--json")):
        result = cli(workspace, *command, check=False)
        assert result.returncode == 0, result.stderr
        assert "not in the subpath" not in result.stdout + result.stderr
    status = _status(workspace)
    assert status["cost"]["total_usd"] == 4.5  # type: ignore[index]
    assert (status["handoffs"], status["handoff_in_flight"]) == (0, None)
    assert any(
        "9998-12-planted.json: lists '/etc/passwd', not a file of this ledger (ignored)" in p
        for p in status["problems"]  # type: ignore[attr-defined]
    )
    assert Path("/etc/passwd").read_bytes() == passwd


def test_a_checkpoint_is_never_written_through_a_symlinked_directory(workspace: Path, tmp_path: Path) -> None:
    ws = Workspace(workspace)
    _closed_month_costing_4_50(ws)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ws.checkpoints_dir.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, ws.checkpoints_dir)

    result = cli(workspace, "tick", "--json", check=False)
    assert result.returncode == 0, result.stderr
    assert list(elsewhere.iterdir()) == []
    assert "checkpoints: is a symlink; not writing a checkpoint through it" in result.stdout + result.stderr
