"""Every git call cloisterctl makes, in one place.

GitPython is imported lazily (it costs ~120 ms) and used through ``repo.git.<cmd>``, which runs the
git binary with our environment, so a hook's ``GIT_INDEX_FILE`` and friends are honoured. Repos are
opened with ``with`` so GitPython's ``git cat-file`` helpers are closed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloisterctl.errors import ToolError

# Set in the environment of cloisterctl's own commits: the post-commit hook ignores them, so the
# tick's bookkeeping never counts as an agent's activity.
SELF_ENV = "CLOISTER_SELF_COMMIT"


def _gitpython() -> Any:
    """GitPython, imported on first use; a missing git binary is a ToolError (GitPython's import
    itself fails without one)."""
    if shutil.which("git") is None:
        raise ToolError("git is not installed (no `git` on PATH)")
    try:
        import git
    except ImportError as exc:  # a broken install, or a git GitPython cannot run
        raise ToolError(f"cannot use git through GitPython: {str(exc).splitlines()[0]}") from None
    return git


@contextmanager
def _repo(root: Path) -> Iterator[Any]:
    git = _gitpython()
    try:
        repo = git.Repo(root)
    except git.exc.NoSuchPathError:
        raise ToolError(f"{root}: no such directory") from None
    except git.exc.InvalidGitRepositoryError:
        raise ToolError(f"{root}: not a git repository") from None
    except git.exc.GitCommandNotFound:
        raise ToolError("git is not installed (no `git` on PATH)") from None
    try:
        yield repo
    finally:
        repo.close()


def _run(root: Path, command: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    git = _gitpython()

    with _repo(root) as repo:
        try:
            output: str = getattr(repo.git, command)(*args, env=dict(env) if env else None)
        except git.exc.GitCommandNotFound:
            raise ToolError("git is not installed (no `git` on PATH)") from None
        except git.exc.GitCommandError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            message = detail[-1] if detail else f"exit {exc.status}"
            raise ToolError(f"`git {command.replace('_', '-')} {' '.join(args)}` failed: {message.strip()}") from None
    return output


def git_dir(root: Path) -> Path:
    return Path(_run(root, "rev_parse", "--absolute-git-dir"))


@dataclass
class GitState:
    branch: str | None
    head: str | None
    dirty: list[str] = field(default_factory=list)
    recent_commits: list[str] = field(default_factory=list)
    diffstat: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "head": self.head,
            "uncommitted_files": self.dirty,
            "last_commits": self.recent_commits,
            "diffstat": self.diffstat,
        }


def state(root: Path, commits: int = 5, base: str | None = None) -> GitState:
    """Branch, HEAD, dirty files (excluding cloisterctl's own), recent commits and a diffstat."""
    branch = _run(root, "rev_parse", "--abbrev-ref", "HEAD").strip()
    head = _run(root, "rev_parse", "--short", "HEAD").strip()
    porcelain = _run(root, "status", "--porcelain", "--untracked-files=all")
    dirty = [
        line[3:] for line in porcelain.splitlines() if line[3:] and not line[3:].startswith((".cloister/", "STATE.md"))
    ]
    log = _run(root, "log", f"-{commits}", "--format=%h %s")
    diffstat = ""
    if base:
        diffstat = _run(root, "diff", "--stat", base, "HEAD").strip()
    else:
        diffstat = _run(root, "diff", "--stat", "HEAD").strip()
    return GitState(None if branch == "HEAD" else branch, head or None, dirty, log.splitlines(), diffstat)


def busy_reason(root: Path) -> str | None:
    """Why committing now would be wrong: a merge, rebase, cherry-pick or bisect in progress, or a held index lock."""
    directory = git_dir(root)
    for marker, what in (
        ("MERGE_HEAD", "a merge"),
        ("rebase-merge", "a rebase"),
        ("rebase-apply", "a rebase"),
        ("CHERRY_PICK_HEAD", "a cherry-pick"),
        ("REVERT_HEAD", "a revert"),
        ("BISECT_LOG", "a bisect"),
    ):
        if (directory / marker).exists():
            return f"{what} is in progress"
    if (directory / "index.lock").exists():
        return "git's index is locked by another git process"
    return None


def self_env(name: str, email: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            SELF_ENV: "1",
        }
    )
    return env


def commit_paths(
    root: Path, paths: Sequence[str], message: str, name: str, email: str, *, amend: bool = False
) -> str | None:
    """Commit exactly ``paths`` (their work-tree content) as cloisterctl; returns the new HEAD or
    None when they hold nothing new. ``amend`` rewrites HEAD instead (with ``message``).

    ``git commit --only`` leaves whatever else the user has staged staged and uncommitted. Hooks that
    check commits (pre-commit, commit-msg) are skipped: these are cloisterctl's own bookkeeping.
    """
    present = [p for p in paths if (root / p).exists()]
    if not present:
        return None
    env = self_env(name, email)
    _run(root, "add", "--", *present, env=env)
    changed = _run(root, "diff", "--cached", "--name-only", "HEAD", "--", *present, env=env).strip()
    if not changed:
        return None
    again = ["--amend"] if amend else []
    _run(root, "commit", *again, "--no-verify", "--only", "-q", "-m", message, "--", *present, env=env)
    return _run(root, "rev_parse", "--short", "HEAD").strip()


def merge_file(ours: Path, base: Path, theirs: Path, labels: Sequence[str], marker_size: int) -> tuple[bytes, int]:
    """``git merge-file -p``: the three-way merge of the files' texts, and how many conflicts it
    left (marked in the text). Needs no repository; git's exit code is the conflict count."""
    import subprocess

    if shutil.which("git") is None:
        raise ToolError("git is not installed (no `git` on PATH)")
    argv = ["git", "merge-file", "-p", f"--marker-size={marker_size}"]
    for label in labels:
        argv += ["-L", label]
    done = subprocess.run([*argv, str(ours), str(base), str(theirs)], capture_output=True, check=False)
    if done.returncode < 0 or done.returncode > 127:
        raise ToolError(f"`git merge-file` failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout, done.returncode


def config_get(root: Path, key: str) -> str | None:
    """A key of the clone's git config, or None when it is not set."""
    try:
        return _run(root, "config", "--get", key).strip() or None
    except ToolError:  # exit 1: not set
        return None


def config_set(root: Path, key: str, value: str) -> None:
    """Set ``key`` in the clone's own config (``.git/config``: never committed)."""
    _run(root, "config", "--local", key, value)


def info_exclude(root: Path) -> Path:
    """The clone's own ignore file: ``info/exclude`` of the common git dir (a worktree's git dir
    has none that git reads)."""
    found = Path(_run(root, "rev_parse", "--git-path", "info/exclude"))
    return found if found.is_absolute() else root / found


def hooks_dir(root: Path) -> Path:
    """Where git looks for this clone's hooks (``core.hooksPath`` when set, else the common git
    dir's ``hooks``)."""
    found = Path(_run(root, "rev_parse", "--git-path", "hooks"))
    return found if found.is_absolute() else root / found


def is_ignored(root: Path, path: str) -> bool:
    """Whether git ignores ``path`` (relative to the work tree) in this clone."""
    try:
        _run(root, "check_ignore", "-q", "--", path)
    except ToolError:  # exit 1: not ignored
        return False
    return True


def head_is_own_unpushed(root: Path, email: str, trailer: str) -> bool:
    """Whether HEAD is a commit by ``email`` whose message carries ``trailer`` and that no
    remote-tracking branch contains yet: one cloisterctl may amend without rewriting shared history."""
    try:
        author, _, body = _run(root, "log", "-1", "--format=%ae%x00%B").partition("\x00")
    except ToolError:  # no commit yet
        return False
    if author.strip() != email or trailer not in body.splitlines():
        return False
    return not _run(root, "branch", "-r", "--contains", "HEAD").strip()


def wip_commit(root: Path, message: str, name: str, email: str) -> str | None:
    """Commit every uncommitted change (tracked and new files) on the current branch; None if clean."""
    env = self_env(name, email)
    if not _run(root, "status", "--porcelain", env=env).strip():
        return None
    _run(root, "add", "-A", env=env)
    _run(root, "commit", "--no-verify", "-q", "-m", message, env=env)
    return _run(root, "rev_parse", "--short", "HEAD").strip()


def stash(root: Path, message: str) -> str | None:
    """Stash every uncommitted change (untracked files too); returns the stash ref or None if clean."""
    if not _run(root, "status", "--porcelain").strip():
        return None
    _run(root, "stash", "push", "--include-untracked", "-m", message)
    return _run(root, "rev_parse", "--short", "stash@{0}").strip()


def find_commit_with_trailer(root: Path, trailer: str, limit: int = 50) -> str | None:
    """The most recent of the last ``limit`` commits whose message contains ``trailer``."""
    log = _run(root, "log", f"-{limit}", "--format=%h%x00%B%x01")
    for entry in log.split("\x01"):
        sha, _, body = entry.strip().partition("\x00")
        if trailer in body:
            return sha
    return None


def worktrees(root: Path) -> list[Path]:
    """Every work tree of the repository ``root`` belongs to.

    A plain `git` call, not GitPython: `tick --all` asks this on every run and importing GitPython
    would cost more than the rest of a quiet tick."""
    import subprocess

    try:
        result = subprocess.run(
            ["git", "worktree", "list", "--porcelain"], cwd=root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ToolError("git is not installed (no `git` on PATH)") from None
    if result.returncode != 0:
        raise ToolError(f"`git worktree list` failed: {result.stderr.strip()}")
    output = result.stdout
    return [Path(line[len("worktree ") :]) for line in output.splitlines() if line.startswith("worktree ")]


def stash_list(root: Path) -> list[str]:
    return _run(root, "stash", "list").splitlines()
