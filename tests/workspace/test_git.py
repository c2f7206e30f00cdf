"""Every git call goes through ``workspace.git``: the real git binary, in real repositories, with the
caller's environment (a hook's GIT_* variables) passed through, and one-line errors when git is
missing, the directory is no repository, or a command fails."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cloisterctl.errors import ToolError
from cloisterctl.workspace import git
from testing.helpers import git as run_git


def test_a_clean_repository_reads_as_clean(repo: Path) -> None:
    found = git.state(repo)
    assert (found.branch, found.dirty) == ("main", [])
    assert found.head == run_git(repo, "rev-parse", "--short", "HEAD").strip()
    assert found.recent_commits == [f"{found.head} initial"]
    assert git.git_dir(repo) == repo / ".git"  # the trailing newline is not part of the path


def test_a_directory_that_is_no_repository_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # wherever tmp is, look no higher
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ToolError) as raised:
        git.state(plain)
    assert str(raised.value) == f"{plain}: not a git repository"


def test_a_missing_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ToolError) as raised:
        git.git_dir(tmp_path / "gone")
    assert str(raised.value) == f"{tmp_path / 'gone'}: no such directory"


def test_without_git_on_path_every_call_says_git_is_not_installed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for call in (
        lambda: git.state(repo),
        lambda: git.worktrees(repo),
        lambda: git.merge_file(repo / "README.md", repo / "README.md", repo / "README.md", ["a", "b", "c"], 7),
    ):
        with pytest.raises(ToolError) as raised:
            call()
        assert str(raised.value) == "git is not installed (no `git` on PATH)"


def test_a_failing_command_names_itself_and_git_s_error_line(repo: Path) -> None:
    with pytest.raises(ToolError) as raised:
        git.state(repo, base="no-such-branch")
    message = str(raised.value)
    assert message.startswith("`git diff --stat no-such-branch HEAD` failed: fatal: ")
    assert "no-such-branch" in message.partition("failed: ")[2] and "\n" not in message


def test_the_first_error_line_is_told_not_the_hints_after_it(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    run_git(repo, "checkout", "-q", "-b", "other")
    run_git(repo, "commit", "-q", "-am", "other")
    run_git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("mine\n")  # a local change a checkout would overwrite
    with pytest.raises(ToolError) as raised:
        git._run(repo, "checkout", "other")
    assert str(raised.value) == (
        "`git checkout other` failed: error: Your local changes to the following files would be "
        "overwritten by checkout:"
    )


def test_a_hook_s_index_file_is_the_index_used(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a hook git names a temporary index in GIT_INDEX_FILE: status must read that one."""
    other_index = tmp_path / "index.other"
    monkeypatch.setenv("GIT_INDEX_FILE", str(other_index))
    run_git(repo, "read-tree", "--empty")  # README.md is not in this index
    assert git.state(repo).dirty == ["README.md", "README.md"]  # deleted from the index, untracked
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert git.state(repo).dirty == []


def test_a_hook_s_git_dir_is_the_repository_used(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    run_git(other, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert git.git_dir(repo) == other / ".git"


def test_own_commits_carry_the_self_marker_and_identity_to_git_s_hooks(repo: Path) -> None:
    seen = repo / ".git" / "seen"
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text(f'#!/bin/sh\necho "$CLOISTER_SELF_COMMIT $GIT_AUTHOR_NAME" > {seen}\n')
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    (repo / "notes.md").write_text("one\n")
    (repo / "README.md").write_text("staged by the user, not ours\n")
    run_git(repo, "add", "README.md")
    head = git.commit_paths(repo, ["notes.md"], "cloister: notes", "cloisterctl", "cloisterctl@localhost")
    assert head == run_git(repo, "rev-parse", "--short", "HEAD").strip()
    assert seen.read_text() == "1 cloisterctl\n"
    assert run_git(repo, "show", "--name-only", "--format=%an", "HEAD").split() == ["cloisterctl", "notes.md"]
    assert run_git(repo, "diff", "--cached", "--name-only").split() == ["README.md"]  # still staged
    assert git.commit_paths(repo, ["notes.md"], "again", "cloisterctl", "cloisterctl@localhost") is None
    assert os.environ.get(git.SELF_ENV) is None  # set for git only, never in our own process
