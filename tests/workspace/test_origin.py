"""The clone id is one per clone and shared by its worktrees; the worktree's name and private
directory are its own; neither is committed nor changed by a clone's content."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cloisterctl.errors import WorkspaceError
from cloisterctl.workspace import origin
from testing.helpers import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "start")
    return root


def test_one_id_per_clone_shared_by_its_worktrees(repo: Path, tmp_path: Path) -> None:
    first = origin.clone_id(str(repo))
    assert first == origin.clone_id(str(repo))  # made once
    assert (repo / ".git" / "cloister" / "clone-id").read_text().strip() == first
    git(repo, "worktree", "add", "-q", str(tmp_path / "docs"), "-b", "docs")
    assert origin.clone_id(str(tmp_path / "docs")) == first

    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(repo), str(other)], check=True)
    assert origin.clone_id(str(other)) != first  # a clone is a new machine's copy
    assert "clone-id" not in git(repo, "ls-files")


def test_worktree_names_and_private_dirs(repo: Path, tmp_path: Path) -> None:
    git(repo, "worktree", "add", "-q", str(tmp_path / "docs"), "-b", "docs")
    assert origin.worktree_name(str(repo)) == "main"
    assert origin.worktree_name(str(tmp_path / "docs")) == "docs"
    main_dir, docs_dir = origin.private_dir(str(repo)), origin.private_dir(str(tmp_path / "docs"))
    assert main_dir != docs_dir
    assert Path(docs_dir).parent == Path(git(tmp_path / "docs", "rev-parse", "--absolute-git-dir").strip())
    assert origin.common_dir(str(tmp_path / "docs")) == str(repo / ".git")


def test_racing_makers_agree(repo: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: origin.clone_id(str(repo)), range(32)))
    assert len(ids) == 1
    assert not list((repo / ".git" / "cloister").glob("*.tmp"))


def test_a_damaged_id_is_an_error_naming_the_file(repo: Path) -> None:
    (repo / ".git" / "cloister").mkdir()
    (repo / ".git" / "cloister" / "clone-id").write_text("../../etc\n")
    with pytest.raises(WorkspaceError, match="clone-id: not a clone id"):
        origin.clone_id(str(repo))


def test_not_a_work_tree(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("nonsense\n")
    with pytest.raises(WorkspaceError, match="not a git link"):
        origin.git_dir(str(tmp_path))
    with pytest.raises(WorkspaceError, match="not a git work tree"):
        origin.git_dir(str(tmp_path / "missing"))


def test_each_worktree_hosts_its_own_agent_where_no_merge_reaches(repo: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    git(repo, "worktree", "add", "-q", str(docs), "-b", "docs")
    assert origin.hosted_agent(str(repo)) is None and origin.hosted_agent(str(docs)) is None
    origin.host_agent(str(repo), "alice-bot")
    origin.host_agent(str(docs), "docs-bot")
    origin.host_agent(str(docs), "docs-bot2")  # a rename replaces it
    assert (origin.hosted_agent(str(repo)), origin.hosted_agent(str(docs))) == ("alice-bot", "docs-bot2")
    git(repo, "merge", "-q", "docs")
    assert origin.hosted_agent(str(repo)) == "alice-bot"
    assert git(repo, "status", "--porcelain") == "" and "agent" not in git(repo, "ls-files")
    (Path(origin.private_dir(str(repo))) / "agent").write_text("../../x\n")
    with pytest.raises(WorkspaceError, match="agent: not an agent name"):
        origin.hosted_agent(str(repo))


def test_the_main_checkout_is_where_every_worktree_reads_shared_files(repo: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    git(repo, "worktree", "add", "-q", str(docs), "-b", "docs")
    assert origin.main_work_tree(str(docs)) == str(repo)
    assert origin.main_work_tree(str(repo)) == str(repo)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    linked = tmp_path / "linked"
    git(bare, "worktree", "add", "-q", str(linked), "-b", "linked")
    assert origin.main_work_tree(str(linked)) == str(linked)  # a bare repository has no main checkout


def test_the_secret_is_made_once_kept_private_and_never_committed(repo: Path, tmp_path: Path) -> None:
    secret = origin.clone_secret(str(repo))
    assert len(secret) == origin.SECRET_BYTES and secret == origin.clone_secret(str(repo))
    path = repo / ".git" / "cloister" / "clone-secret"
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    git(repo, "worktree", "add", "-q", str(tmp_path / "docs"), "-b", "docs")
    assert origin.clone_secret(str(tmp_path / "docs")) == secret  # one clone, one secret
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(repo), str(other)], check=True)
    assert origin.clone_secret(str(other)) != secret
    assert "clone-secret" not in git(repo, "ls-files")
