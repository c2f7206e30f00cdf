"""Every git call cloisterctl makes, in one place.

Each call runs the ``git`` binary with an argv list (never a shell), in the work tree, with no
stdin. The caller's environment passes through, so a hook's ``GIT_INDEX_FILE``, ``GIT_DIR`` and
friends are honoured; ``LC_ALL=C`` keeps git's messages in English, which we read. A missing git,
a directory that is not a repository and a failing command are each a ``ToolError`` (the last
one naming the command and git's first error line).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloisterctl.errors import ToolError

# Set in the environment of cloisterctl's own commits: the post-commit hook ignores them, so the
# tick's bookkeeping never counts as an agent's activity.
SELF_ENV = "CLOISTER_SELF_COMMIT"
NO_GIT = "git is not installed (no `git` on PATH)"
# Git's messages in English whatever the user's locale: the "not a git repository" one is read.
_PLAIN_LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}


def _git(
    argv: Sequence[str], cwd: Path | None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``git ARGV`` run in ``cwd`` (None: here) with ``env`` (None: ours), stdout and stderr captured."""
    environment = {**(os.environ if env is None else env), **_PLAIN_LOCALE}
    try:
        return subprocess.run(
            ["git", *argv], cwd=cwd, env=environment, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
    except (FileNotFoundError, NotADirectoryError):
        if cwd is not None and not cwd.is_dir():  # the same error names a missing cwd
            raise ToolError(f"{cwd}: no such directory") from None
        raise ToolError(NO_GIT) from None


def _first_error(stderr: bytes) -> str | None:
    """Git's first ``fatal:``/``error:`` line (warnings and hints come around it), else its first line."""
    lines = [line.strip() for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0] if lines else None)


def _run(root: Path, command: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """``git COMMAND ARGS`` in the work tree ``root``: its stdout, less the final newline."""
    done = _git([command, *args], root, env)
    if done.returncode != 0:
        message = _first_error(done.stderr)
        if message is not None and message.startswith("fatal: not a git repository"):
            raise ToolError(f"{root}: not a git repository")
        raise ToolError(f"`git {' '.join([command, *args])}` failed: {message or f'exit {done.returncode}'}")
    return done.stdout.decode("utf-8", errors="surrogateescape").removesuffix("\n")


def git_dir(root: Path) -> Path:
    return Path(_run(root, "rev-parse", "--absolute-git-dir"))


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
    branch = _run(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    head = _run(root, "rev-parse", "--short", "HEAD").strip()
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


# What git leaves in a work tree's git dir while an operation waits for the user (looked up with
# ``--git-path``, so a linked worktree's own markers are the ones read), and its name.
_OPERATIONS = (
    ("MERGE_HEAD", "merge"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
)
DETACHED = "detached HEAD"


def operation_in_progress(root: Path) -> str | None:
    """The git operation under way in the work tree ``root`` (``merge``, ``rebase``,
    ``cherry-pick``, ``revert``, ``bisect``), else ``detached HEAD`` when HEAD names no branch
    (a commit there is dropped by the next checkout), else None. One git call."""
    argv = ["--git-path", "HEAD"]
    for marker, _name in _OPERATIONS:
        argv += ["--git-path", marker]
    lines = _run(root, "rev-parse", *argv).splitlines()
    found = [Path(line) if Path(line).is_absolute() else root / line for line in lines]
    head, markers = found[0], found[1:]
    for path, (_marker, name) in zip(markers, _OPERATIONS, strict=True):
        if path.exists():
            return name
    try:
        detached = not head.read_bytes().startswith(b"ref:")
    except OSError:
        return None
    return DETACHED if detached else None


def describe_operation(operation: str) -> str:
    """``a rebase is in progress``, ``HEAD is detached``: the reason, as a clause."""
    if operation == DETACHED:
        return "HEAD is detached"
    return f"{'an' if operation[0] in 'aeiou' else 'a'} {operation} is in progress"


def busy_reason(root: Path) -> str | None:
    """Why committing now would be wrong: a git operation in progress or a detached HEAD
    (``operation_in_progress``), or a held index lock."""
    operation = operation_in_progress(root)
    if operation is not None:
        return describe_operation(operation)
    found = Path(_run(root, "rev-parse", "--git-path", "index.lock"))
    if (found if found.is_absolute() else root / found).exists():
        return "git's index is locked by another git process"
    return None


def changed(root: Path, paths: Sequence[str]) -> bool:
    """Whether a tracked file under ``paths`` differs from HEAD in the work tree or the index."""
    return bool(_run(root, "status", "--porcelain", "--untracked-files=no", "--", *paths).strip())


def tracked(root: Path, paths: Sequence[str]) -> bool:
    """Whether git tracks any file under ``paths`` (in the index)."""
    return bool(tracked_files(root, paths))


def tracked_files(root: Path, paths: Sequence[str]) -> list[str]:
    """The files under ``paths`` git tracks (in the index), relative to ``root``."""
    return _run(root, "ls-files", "--", *paths).splitlines()


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


def commit_paths(root: Path, paths: Sequence[str], message: str, name: str, email: str) -> str | None:
    """Commit exactly ``paths`` (their work-tree content) as cloisterctl; returns the new HEAD or
    None when they hold nothing new.

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
    _run(root, "commit", "--no-verify", "--only", "-q", "-m", message, "--", *present, env=env)
    return _run(root, "rev-parse", "--short", "HEAD").strip()


def merge_file(ours: Path, base: Path, theirs: Path, labels: Sequence[str], marker_size: int) -> tuple[bytes, int]:
    """``git merge-file -p``: the three-way merge of the files' texts, and how many conflicts it
    left (marked in the text). Needs no repository; git's exit code is the conflict count."""
    argv = ["merge-file", "-p", f"--marker-size={marker_size}"]
    for label in labels:
        argv += ["-L", label]
    done = _git([*argv, str(ours), str(base), str(theirs)], None)
    if done.returncode < 0 or done.returncode > 127:
        raise ToolError(f"`git merge-file` failed: {_first_error(done.stderr) or f'exit {done.returncode}'}")
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
    found = Path(_run(root, "rev-parse", "--git-path", "info/exclude"))
    return found if found.is_absolute() else root / found


def hooks_dir(root: Path) -> Path:
    """Where git looks for this clone's hooks (``core.hooksPath`` when set, else the common git
    dir's ``hooks``)."""
    found = Path(_run(root, "rev-parse", "--git-path", "hooks"))
    return found if found.is_absolute() else root / found


def is_ignored(root: Path, path: str) -> bool:
    """Whether git ignores ``path`` (relative to the work tree) in this clone."""
    try:
        _run(root, "check-ignore", "-q", "--", path)
    except ToolError:  # exit 1: not ignored
        return False
    return True


def wip_commit(root: Path, message: str, name: str, email: str) -> str | None:
    """Commit every uncommitted change (tracked and new files) on the current branch; None if clean."""
    env = self_env(name, email)
    if not _run(root, "status", "--porcelain", env=env).strip():
        return None
    _run(root, "add", "-A", env=env)
    _run(root, "commit", "--no-verify", "-q", "-m", message, env=env)
    return _run(root, "rev-parse", "--short", "HEAD").strip()


def stash(root: Path, message: str) -> str | None:
    """Stash every uncommitted change (untracked files too); returns the stash ref or None if clean."""
    if not _run(root, "status", "--porcelain").strip():
        return None
    _run(root, "stash", "push", "--include-untracked", "-m", message)
    return _run(root, "rev-parse", "--short", "stash@{0}").strip()


def find_commit_with_trailer(root: Path, trailer: str, limit: int = 50) -> str | None:
    """The most recent of the last ``limit`` commits whose message contains ``trailer``."""
    log = _run(root, "log", f"-{limit}", "--format=%h%x00%B%x01")
    for entry in log.split("\x01"):
        sha, _, body = entry.strip().partition("\x00")
        if trailer in body:
            return sha
    return None


def worktrees(root: Path) -> list[Path]:
    """Every work tree of the repository ``root`` belongs to."""
    output = _run(root, "worktree", "list", "--porcelain")
    return [Path(line[len("worktree ") :]) for line in output.splitlines() if line.startswith("worktree ")]


def stash_list(root: Path) -> list[str]:
    return _run(root, "stash", "list").splitlines()
