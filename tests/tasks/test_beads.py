from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloisterctl.errors import TaskError, ToolError
from cloisterctl.tasks.beads import BdTracker, JsonlTracker, open_tracker
from cloisterctl.tasks.graph import blocked_ids, index, ready
from cloisterctl.tasks.records import task_from_json
from testing.helpers import STANDINS, beads_repo

STANDIN_BD = STANDINS / "bd"


def test_all_three_line_shapes_are_read_and_memories_skipped(tmp_path: Path) -> None:
    tracker = JsonlTracker(beads_repo(tmp_path) / ".beads" / "issues.jsonl", ".beads/issues.jsonl")
    tasks = tracker.all_tasks()
    assert set(tasks) == {"myapp-a3f2", "myapp-9k1x", "myapp-9k1x.1", "bd-fhh", "bd-0vu3q"}
    oauth = tasks["myapp-a3f2"]
    assert oauth.estimated_minutes == 120
    assert oauth.metadata["execution_suggested_model"] == "haiku"
    assert oauth.labels == ("auth", "small")
    assert [(d.depends_on, d.type) for d in oauth.dependencies] == [("myapp-9k1x", "blocks")]
    assert tasks["myapp-9k1x.1"].parent == "myapp-9k1x"
    assert tasks["bd-0vu3q"].status == "open" and tasks["bd-0vu3q"].issue_type == "bug"
    assert tasks["bd-fhh"].is_closed


def test_readiness_follows_the_blocking_dependency_types() -> None:
    def issue(i: str, status: str = "open", deps: tuple[tuple[str, str], ...] = ()) -> dict[str, object]:
        return {
            "id": i,
            "title": i,
            "status": status,
            "dependencies": [{"issue_id": i, "depends_on_id": t, "type": k} for t, k in deps],
        }

    tasks = index(
        task_from_json(d)
        for d in [
            issue("open-blocker"),
            issue("closed-blocker", "closed"),
            issue("blocked", deps=(("open-blocker", "blocks"),)),
            issue("waits", deps=(("open-blocker", "waits-for"),)),
            issue("conditional", deps=(("open-blocker", "conditional-blocks"),)),
            issue("free", deps=(("closed-blocker", "blocks"),)),
            issue("related-only", deps=(("open-blocker", "related"),)),
            issue("child-of-open-parent", deps=(("open-blocker", "parent-child"),)),
            issue("child-of-blocked-parent", deps=(("blocked", "parent-child"),)),
            issue("grandchild", deps=(("child-of-blocked-parent", "parent-child"),)),
            issue("missing-target", deps=(("bd-wisp-gone", "blocks"),)),
            issue("in-progress", "in_progress"),
        ]
    )
    assert blocked_ids(tasks) == {"blocked", "waits", "conditional", "child-of-blocked-parent", "grandchild"}
    assert [t.id for t in ready(tasks)] == [
        "child-of-open-parent",
        "free",
        "missing-target",
        "open-blocker",
        "related-only",
    ]


def test_fixture_readiness(tmp_path: Path) -> None:
    tracker = JsonlTracker(beads_repo(tmp_path) / ".beads" / "issues.jsonl")
    assert [t.id for t in ready(tracker.all_tasks())] == ["bd-0vu3q", "myapp-a3f2", "myapp-9k1x.1"]


def test_a_corrupt_line_names_file_and_line(tmp_path: Path) -> None:
    root = beads_repo(tmp_path, '{"_type":"issue","id":"x-1","title":"ok","status":"open"}', "{oops")
    tracker = JsonlTracker(root / ".beads" / "issues.jsonl", ".beads/issues.jsonl")
    with pytest.raises(TaskError, match=r"^\.beads/issues\.jsonl:8: not valid JSON$"):
        tracker.all_tasks()


def test_a_missing_tracker_is_a_clear_error(tmp_path: Path) -> None:
    tracker = open_tracker(tmp_path, command="bd-not-installed-anywhere")
    with pytest.raises(TaskError, match=r"\.beads/issues\.jsonl: no beads tracker here"):
        tracker.all_tasks()
    with pytest.raises(ToolError, match="`bd-not-installed-anywhere` is not on PATH"):
        open_tracker(tmp_path, command="bd-not-installed-anywhere", use_cli="always")


def test_unknown_task(tmp_path: Path) -> None:
    tracker = JsonlTracker(beads_repo(tmp_path) / ".beads" / "issues.jsonl", ".beads/issues.jsonl")
    with pytest.raises(TaskError, match=r"unknown task 'nope' \(not in \.beads/issues\.jsonl\)"):
        tracker.show("nope")


def test_bd_cli_contract(tmp_path: Path, bd_on_path: Path) -> None:
    root = beads_repo(tmp_path / "ws")
    tracker = open_tracker(root)
    assert isinstance(tracker, BdTracker)
    assert set(tracker.all_tasks()) == {"myapp-a3f2", "myapp-9k1x", "myapp-9k1x.1", "bd-fhh", "bd-0vu3q"}
    assert [t.id for t in ready(tracker.all_tasks())] == ["bd-0vu3q", "myapp-a3f2", "myapp-9k1x.1"]
    assert tracker.show("myapp-9k1x").metadata == {"complexity": "expert"}
    with pytest.raises(TaskError, match=r"unknown task 'nope'.*issue not found: nope \(not_found\)"):
        tracker.show("nope")
    tracker.write_metadata("myapp-a3f2", "complexity", "complex", ["complexity:complex"], ["complexity:simple"])
    calls = [json.loads(line) for line in bd_on_path.read_text().splitlines()]
    assert calls[:2] == [["list", "--all", "-n", "0", "--json"], ["show", "--json", "--", "myapp-9k1x"]]
    assert calls[-1] == [
        "update",
        "--set-metadata",
        "complexity=complex",
        "--remove-label",
        "complexity:simple",
        "--add-label",
        "complexity:complex",
        "--json",
        "--",
        "myapp-a3f2",
    ]
    updated = tracker.show("myapp-a3f2")
    assert updated.metadata["complexity"] == "complex" and "complexity:complex" in updated.labels


def test_a_task_id_never_reaches_bd_as_a_flag(tmp_path: Path, bd_on_path: Path) -> None:
    root = beads_repo(tmp_path / "ws")
    tracker = open_tracker(root)
    for bad in ("--status=closed", "-x", "a\nb", "../x"):
        with pytest.raises(TaskError, match="is not a safe name"):
            tracker.show(bad)
        with pytest.raises(TaskError, match="is not a safe name"):
            tracker.write_metadata(bad, "complexity", "simple", [], [])
    assert not bd_on_path.exists()  # bd was never called with one
    tracker.show("myapp-a3f2")
    assert [json.loads(line) for line in bd_on_path.read_text().splitlines()] == [
        ["show", "--json", "--", "myapp-a3f2"]
    ]


def test_an_issue_with_an_unsafe_id_is_a_bad_line(tmp_path: Path) -> None:
    root = beads_repo(tmp_path / "ws")
    path = root / ".beads" / "issues.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, json.dumps({"id": "-rf", "title": "x", "status": "open"})]) + "\n")
    with pytest.raises(TaskError, match=rf"\.beads/issues\.jsonl:{len(lines) + 1}: issue id '-rf' is not a safe name"):
        JsonlTracker(path, ".beads/issues.jsonl").all_tasks()


def test_a_failing_bd_names_the_command(tmp_path: Path, bd_on_path: Path) -> None:
    tracker = open_tracker(tmp_path)  # no .beads here: the stand-in fails like bd does
    with pytest.raises(ToolError, match=r"`bd list --all -n 0 --json` failed \(exit 1\): no beads database found"):
        tracker.all_tasks()


def test_a_close_that_failed_verification_is_reopened_by_bd_or_in_the_export(tmp_path: Path, bd_on_path: Path) -> None:
    lines = [
        '{"id":"v-1","title":"One","status":"closed","closed_at":"2026-12-01T10:00:00Z"}',
        '{ "id": "v-2", "title": "Two, spaced as someone wrote it", "status": "closed" }',
    ]
    export = tmp_path / "jsonl" / ".beads" / "issues.jsonl"
    export.parent.mkdir(parents=True)
    export.write_text("\r\n".join(lines) + "\r\n")
    tracker = JsonlTracker(export, ".beads/issues.jsonl")
    assert tracker.all_tasks()["v-1"].is_closed
    tracker.reopen("v-1")
    first = json.loads(export.read_bytes().split(b"\r\n")[0])
    assert not tracker.all_tasks()["v-1"].is_closed and first["status"] == "open" and "closed_at" not in first
    assert export.read_bytes().endswith(f"\r\n{lines[1]}\r\n".encode())  # the other line, byte for byte
    with pytest.raises(TaskError, match="unknown task 'nope'"):
        tracker.reopen("nope")

    root = tmp_path / "bd"
    (root / ".beads").mkdir(parents=True)
    (root / ".beads" / "issues.jsonl").write_text(lines[0] + "\n")
    bd = open_tracker(root)
    assert isinstance(bd, BdTracker)
    bd.reopen("v-1")
    assert json.loads(bd_on_path.read_text().splitlines()[-1]) == ["update", "v-1", "--status", "open", "--json"]
    assert not bd.show("v-1").is_closed
