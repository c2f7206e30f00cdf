"""Who is writing: this clone's id, this worktree's name, and the worktree's own private directory.

A team's clones share one ledger through git, so what a machine alone can observe (a tmux session
alive or gone, an exit code, a transcript) must say which clone observed it, and what a worktree
alone is (the agent it hosts, its task) must live where a merge cannot reach:

- ``clone_id``: a random id made once per clone and kept in the repository's common git directory
  (``<common>/cloister/clone-id``): shared by the clone's worktrees, never committed, never pushed.
  A clone made by ``git clone`` gets a new one; a copied ``.git`` keeps its own (it is the same
  clone, moved).
- ``worktree_name``: ``main`` for the main work tree, else git's own name of the linked worktree
  (the directory under ``<common>/worktrees/``): unique within the clone.
- ``private_dir``: ``<git dir>/cloister/``: this worktree's own, outside the work tree, so no
  checkout, merge, pull or rebase ever changes what is kept there.

Stdlib only and no ``git`` process: the hooks call this on every event, within their start-up
budget. The ``.git`` entry is read as git itself does (a directory, or a file ``gitdir: PATH``);
it is this machine's own, never a clone's content, so it is trusted like git trusts it.
"""

from __future__ import annotations

import os

from cloisterctl.errors import WorkspaceError

CLONE_ID_BYTES = 6  # 12 hex digits: unique among a team's clones with room to spare
_PRIVATE = "cloister"


def git_dir(root: str) -> str:
    """The git directory of the work tree at ``root``: ``.git`` itself, or where a ``.git`` file
    points (a linked worktree, a submodule)."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    try:
        with open(dot_git, encoding="utf-8") as handle:
            first = handle.readline(4096).strip()
    except (OSError, UnicodeDecodeError):
        raise WorkspaceError(f"{root}: not a git work tree (no readable .git)") from None
    if not first.startswith("gitdir:"):
        raise WorkspaceError(f"{dot_git}: not a git link (no 'gitdir:' line)")
    target = first[len("gitdir:") :].strip()
    return os.path.normpath(os.path.join(root, target))


def common_dir(root: str) -> str:
    """The repository's directory shared by all its worktrees (``git rev-parse --git-common-dir``)."""
    own = git_dir(root)
    try:
        with open(os.path.join(own, "commondir"), encoding="utf-8") as handle:
            shared = handle.readline(4096).strip()
    except FileNotFoundError:
        return own
    except (OSError, UnicodeDecodeError):
        raise WorkspaceError(f"{own}/commondir: unreadable") from None
    return os.path.normpath(os.path.join(own, shared))


def worktree_name(root: str) -> str:
    """``main`` for the main work tree; git's name of a linked worktree otherwise."""
    own, shared = git_dir(root), common_dir(root)
    if os.path.normpath(own) == os.path.normpath(shared):
        return "main"
    return os.path.basename(os.path.normpath(own))


def private_dir(root: str) -> str:
    """This worktree's own directory (``<git dir>/cloister``), made when missing."""
    path = os.path.join(git_dir(root), _PRIVATE)
    os.makedirs(path, exist_ok=True)
    return path


def clone_id(root: str) -> str:
    """This clone's id, made on first use. Two processes making it at once agree: the first
    ``O_EXCL`` create wins and the other reads it."""
    directory = os.path.join(common_dir(root), _PRIVATE)
    path = os.path.join(directory, "clone-id")
    existing = _read_id(path)
    if existing is not None:
        return existing
    os.makedirs(directory, exist_ok=True)
    made = os.urandom(CLONE_ID_BYTES).hex()
    partial = f"{path}.{os.getpid()}.tmp"
    with open(partial, "w", encoding="ascii") as handle:
        handle.write(made + "\n")
    try:
        os.link(partial, path)  # atomic, and fails when another process made it first
    except FileExistsError:
        pass
    finally:
        os.unlink(partial)
    found = _read_id(path)
    if found is None:
        raise WorkspaceError(f"{path}: not a clone id (delete it to make a new one)")
    return found


def _read_id(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(64).strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        raise WorkspaceError(f"{path}: unreadable clone id (delete it to make a new one)") from None
    if len(text) != 2 * CLONE_ID_BYTES or any(char not in "0123456789abcdef" for char in text):
        raise WorkspaceError(f"{path}: not a clone id (delete it to make a new one)")
    return text
