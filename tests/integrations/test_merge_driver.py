"""integrations.merge_driver with real git: the merge driver under merge, rebase, cherry-pick and stash
pop; its registration; and the repair of markers in a clone without it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cloisterctl.ledger import statefile
from testing.helpers import cli, git

SONNET = "claude-sonnet-4-5-20250929"


# Usage is bookkeeping: with tick.commit on it waits for cloisterctl's next commit. These tests
# need it in the history at once, so they take the tick.commit-off road the README describes: the
# command writes the ledger and STATE.md in the tree, and the user's own commit carries them.
COMMIT_OFF = {"CLOISTER_TICK_COMMIT": "0"}


def usage(ws: Path, tokens: int) -> None:
    """Recorded usage: a ledger line and STATE.md's cost change, committed by the user."""
    cli(ws, "usage", "add", "--model", SONNET, "--input", str(tokens), "--output", "0", env=COMMIT_OFF)
    git(ws, "add", "STATE.md", ".cloister")
    git(ws, "commit", "-q", "-m", f"usage {tokens}")


def edit_body(ws: Path, line: str) -> None:
    path = ws / "STATE.md"
    path.write_text(path.read_text() + line + "\n")
    git(ws, "commit", "-q", "-am", f"notes: {line}")


def block_total(ws: Path) -> float:
    return float(statefile.read(ws / "STATE.md").cloister["cost"]["total_usd"])


def test_init_registers_the_driver_and_install_git_does_it_for_a_fresh_clone(workspace: Path, tmp_path: Path) -> None:
    assert "STATE.md merge=cloister-state" in (workspace / ".gitattributes").read_text()
    driver = git(workspace, "config", "--get", "merge.cloister-state.driver")
    assert driver.startswith("command -v cloisterctl") and "/" not in driver.split("%P")[0].replace("/dev/null", "")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(workspace), str(clone))
    assert subprocess.run(["git", "config", "--get", "merge.cloister-state.driver"], cwd=clone).returncode == 1
    assert '".git/config merge.cloister-state"' in cli(clone, "install", "git", "--json").stdout
    assert git(clone, "config", "--get", "merge.cloister-state.driver") == driver


@pytest.mark.parametrize("how", ["merge", "rebase", "cherry-pick"])
def test_the_driver_merges_the_body_and_never_conflicts_on_the_block(workspace: Path, how: str) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister")
    git(workspace, "checkout", "-q", "-b", "side")
    usage(workspace, 100_000)
    edit_body(workspace, "a note from side")
    git(workspace, "checkout", "-q", "main")
    usage(workspace, 200_000)
    if how == "merge":
        done = subprocess.run(["git", "merge", "--no-edit", "side"], cwd=workspace, capture_output=True, text=True)
    elif how == "rebase":
        git(workspace, "checkout", "-q", "side")
        done = subprocess.run(["git", "rebase", "main"], cwd=workspace, capture_output=True, text=True)
    else:
        done = subprocess.run(["git", "cherry-pick", "side~1"], cwd=workspace, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (workspace / "STATE.md").read_text()
    assert "<<<<<<<" not in text
    assert ("a note from side" in text) == (how != "cherry-pick")  # side~1 is the usage commit
    cli(workspace, "tick", env=COMMIT_OFF)  # the block, rebuilt from the merged ledger...
    git(workspace, "commit", "-q", "-am", "the merged block")  # ...carried by the user's commit
    assert git(workspace, "status", "--porcelain") == ""
    assert block_total(workspace) == pytest.approx(0.9)  # both sides' usage


def test_a_real_body_conflict_is_left_for_the_user_and_the_block_is_not_in_it(workspace: Path) -> None:
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister")
    git(workspace, "checkout", "-q", "-b", "side")
    usage(workspace, 100_000)
    edit_body(workspace, "side's last line")
    git(workspace, "checkout", "-q", "main")
    usage(workspace, 200_000)
    edit_body(workspace, "main's last line")
    done = subprocess.run(["git", "merge", "--no-edit", "side"], cwd=workspace, capture_output=True, text=True)
    assert done.returncode != 0 and "Merge conflict in STATE.md" in done.stdout
    doc = (workspace / "STATE.md").read_text()
    front, body = doc.split("\n---\n", 1)
    assert "<<<<<<<" not in front and "<<<<<<<" in body  # the block parses; the body is the user's
    status = cli(workspace, "status")
    assert "merge conflict markers in the body, left for you" in status.stdout + status.stderr


def test_stash_pop_without_the_driver_is_repaired_by_status(workspace: Path) -> None:
    git(workspace, "config", "--remove-section", "merge.cloister-state")  # as a fresh clone has it
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister")
    path = workspace / "STATE.md"
    path.write_text(path.read_text().replace("handoffs: 0", "handoffs: 7"))  # a local edit of the block...
    git(workspace, "stash", "-q")
    usage(workspace, 100_000)  # ...while cloisterctl commits a new one
    popped = subprocess.run(["git", "stash", "pop"], cwd=workspace, capture_output=True, text=True)
    assert popped.returncode != 0 and "<<<<<<<" in path.read_text(), popped.stdout
    status = cli(workspace, "status")
    assert "rebuilt from the ledger" in status.stdout + status.stderr
    text = path.read_text()
    assert "<<<<<<<" not in text and "handoffs: 0" in text and block_total(workspace) == pytest.approx(0.3)
