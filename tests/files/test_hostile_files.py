"""Committed symlinks and special files cannot hang a command or send a write out of the clone.

Each tracked input (the config, STATE.md, the beads export, complexity.yaml, a ledger segment) as a
symlink to /dev/zero or as a FIFO: `status`, `tick`, `route` and the pre-commit `hook check` answer
within their timeout, with a line naming the file, never exit 3, start no handoff and write nothing
outside the clone. A segment or the checkpoints directory symlinked outside: nothing is appended
or written there. (Symlinks and FIFOs are machine-specific, so they are made here, not kept in
tests/data/bad/.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from testing.helpers import events, git, run, tree_digest, write_tasks

TIMEOUT = 30  # seconds; reading /dev/zero would fill memory long before
INPUTS = [
    ".cloister/config.yaml",
    "STATE.md",
    ".beads/issues.jsonl",
    ".cloister/complexity.yaml",
    "SEGMENT",
]
COMMANDS = [["status"], ["tick"], ["route", "bd-1"], ["hook", "check"]]


def _segment() -> str:
    return f".cloister/ledger/{datetime.now(UTC):%Y-%m}.jsonl"


def _answer(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cloisterctl", *args] if args[0] == "hook" else [
        sys.executable, "-m", "cloisterctl", "-C", str(ws), *args
    ]  # fmt: skip
    return subprocess.run(argv, cwd=ws, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture
def clone(workspace: Path, tmp_path: Path) -> Path:
    write_tasks(workspace, [{"id": "bd-1", "title": "Fix typo", "status": "open"}])
    run(workspace, "route", "bd-1", "--record")  # a segment with an event in it
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "work")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "theirs.jsonl").write_text('{"id":"x","title":"their secret task"}\n')
    return workspace


def _replace(ws: Path, name: str, make: str) -> Path:
    path = ws / (_segment() if name == "SEGMENT" else name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    if make == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    return path


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("make", ["dev-zero", "fifo"])
@pytest.mark.parametrize("name", INPUTS)
def test_a_special_file_is_one_line_never_a_hang(clone: Path, tmp_path: Path, name: str, make: str) -> None:
    path = _replace(clone, name, make)
    outside = tree_digest(tmp_path / "outside")
    shown = path.name
    said: list[str] = []
    for command in COMMANDS:
        result = _answer(clone, *command)  # raises TimeoutExpired on a hang
        assert result.returncode in (0, 1), (command, result.stderr)
        said += [line for line in (result.stdout + result.stderr).splitlines() if shown in line]
    assert said and all(len(line) < 400 for line in said), name  # named, in a line
    assert tree_digest(tmp_path / "outside") == outside
    assert (path.is_symlink() and os.readlink(path) == "/dev/zero") or (not path.is_symlink())
    if name != "SEGMENT":
        assert not events(clone, "handoff")


def test_a_segment_symlinked_outside_is_neither_read_nor_appended_to(clone: Path, tmp_path: Path) -> None:
    theirs = tmp_path / "outside" / "theirs.jsonl"
    before = theirs.read_bytes()
    segment = clone / _segment()
    segment.unlink()
    segment.symlink_to(theirs)
    result = _answer(clone, "route", "bd-1", "--record")
    assert result.returncode == 1 and f"{segment.name}: a symlink; not followed" in result.stderr
    assert theirs.read_bytes() == before
    status = _answer(clone, "status")
    assert f"{segment.name}: a symlink; not followed" in status.stdout + status.stderr


def test_a_checkpoints_directory_symlinked_outside_gets_nothing(clone: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    # A closed month, so a tick would write a checkpoint for it.
    old = clone / ".cloister" / "ledger" / "2020-01.jsonl"
    old.write_text('{"id":"e1","ts":"2020-01-05T00:00:00.000000Z","type":"init","agent":"repo","workspace":"repo"}\n')
    checkpoints = clone / ".cloister" / "ledger" / "checkpoints"
    if checkpoints.exists():
        for child in checkpoints.iterdir():
            child.unlink()
        checkpoints.rmdir()
    checkpoints.symlink_to(outside)
    before = tree_digest(outside)
    for command in (["tick"], ["status"]):
        result = _answer(clone, *command)
        assert result.returncode != 3, result.stderr
    assert tree_digest(outside) == before and sorted(os.listdir(outside)) == ["theirs.jsonl"]


def test_a_beads_export_symlinked_to_another_project_is_not_read(clone: Path, tmp_path: Path) -> None:
    export = clone / ".beads" / "issues.jsonl"
    export.unlink()
    export.symlink_to(tmp_path / "outside" / "theirs.jsonl")
    result = _answer(clone, "route", "x")
    assert result.returncode == 1 and ".beads/issues.jsonl: a symlink; not followed" in result.stderr
    assert "their secret task" not in _answer(clone, "status", "--json").stdout


def test_state_md_may_link_inside_the_work_tree_but_not_out_of_it(clone: Path, tmp_path: Path) -> None:
    state = clone / "STATE.md"
    (clone / "docs").mkdir()
    (clone / "docs" / "state.md").write_bytes(state.read_bytes())
    state.unlink()
    state.symlink_to("docs/state.md")
    assert _answer(clone, "route", "bd-1", "--record").returncode == 0  # written through, as documented
    assert state.is_symlink() and "cloister:" in (clone / "docs" / "state.md").read_text()
    theirs = tmp_path / "outside" / "notes.md"
    theirs.write_text("---\ncloister: {}\n---\nmine\n")
    state.unlink()
    state.symlink_to(theirs)
    result = _answer(clone, "route", "bd-1", "--record")
    assert result.returncode == 1 and "outside the work tree; not followed" in result.stderr
    assert theirs.read_text() == "---\ncloister: {}\n---\nmine\n"


def test_a_gitattributes_symlinked_outside_is_not_written_through(repo: Path, tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("their file\n")
    (repo / ".gitattributes").symlink_to(theirs)
    result = _answer(repo, "init")
    assert result.returncode == 1 and ".gitattributes: a symlink; not followed" in result.stderr
    assert theirs.read_text() == "their file\n"


def test_a_claude_agents_directory_symlinked_outside_gets_no_definitions(clone: Path, tmp_path: Path) -> None:
    mine = tmp_path / "outside" / "my-agents"
    mine.mkdir()
    (clone / ".claude").mkdir(exist_ok=True)
    (clone / ".claude" / "agents").symlink_to(mine)
    result = _answer(clone, "install", "subagents")
    assert result.returncode == 1 and ".claude/agents: a symlink; not followed" in result.stderr
    assert list(mine.iterdir()) == []
    assert _answer(clone, "tick").returncode in (0, 1) and list(mine.iterdir()) == []
