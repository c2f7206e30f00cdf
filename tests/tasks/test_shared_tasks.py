"""Tasks are read from one place for all worktrees of a repository: without `bd`, the main
checkout's `.beads/issues.jsonl` (a linked worktree's own copy is as old as its branch)."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.tasks.beads import jsonl_path, open_tracker
from testing.helpers import git


def _tasks(root: Path, status: str) -> None:
    (root / ".beads").mkdir(exist_ok=True)
    line = {"_type": "issue", "id": "t-1", "title": "Plan", "status": status, "issue_type": "task"}
    (root / ".beads" / "issues.jsonl").write_text(json.dumps(line) + "\n")


def test_a_linked_worktree_reads_the_main_checkouts_tasks(repo: Path, tmp_path: Path) -> None:
    _tasks(repo, "open")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tasks")
    docs = tmp_path / "docs"
    git(repo, "worktree", "add", "-q", str(docs), "-b", "docs")
    _tasks(repo, "closed")  # closed in the main checkout since the worktree was made
    assert (docs / ".beads" / "issues.jsonl").read_text().count('"open"') == 1  # its own copy is stale
    assert jsonl_path(docs) == repo / ".beads" / "issues.jsonl"
    assert open_tracker(docs, use_cli="never").all_tasks()["t-1"].status == "closed"
    assert open_tracker(repo, use_cli="never").all_tasks()["t-1"].status == "closed"


def test_without_a_main_checkout_copy_the_worktree_reads_its_own(repo: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    git(repo, "worktree", "add", "-q", str(docs), "-b", "docs")
    _tasks(docs, "open")
    assert jsonl_path(docs) == docs / ".beads" / "issues.jsonl"
    assert open_tracker(docs, use_cli="never").all_tasks()["t-1"].status == "open"
