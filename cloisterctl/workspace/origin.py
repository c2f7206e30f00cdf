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
- ``main_work_tree``: the main checkout, where files every worktree shares are read (the tasks).
- ``hosted_agent`` / ``host_agent``: which agent this worktree hosts (``<private dir>/agent``,
  written by ``cloisterctl init --agent``): the worktree's identity, which a merge of another
  branch's ``init`` event cannot change.

Stdlib only and no ``git`` process: the hooks call this on every event, within their start-up
budget. The ``.git`` entry is read as git itself does (a directory, or a file ``gitdir: PATH``);
it is this machine's own, never a clone's content, so it is trusted like git trusts it.
"""

from __future__ import annotations

import os

from cloisterctl.errors import WorkspaceError

CLONE_ID_BYTES = 6  # 12 hex digits: unique among a team's clones with room to spare
SECRET_BYTES = 32
_PRIVATE = "cloister"
AGENT_FILE = "agent"
AGENT_MAX = 200
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")  # layout.slug's


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


def main_work_tree(root: str) -> str:
    """The repository's main checkout (what every worktree reads shared files from, such as the
    beads export): the work tree of the common git dir; ``root`` itself when there is none (a bare
    repository's worktrees)."""
    shared = common_dir(root)
    parent = os.path.dirname(os.path.normpath(shared))
    if os.path.basename(os.path.normpath(shared)) == ".git" and os.path.isdir(parent):
        return parent
    return root


def private_dir(root: str) -> str:
    """This worktree's own directory (``<git dir>/cloister``), made when missing."""
    path = os.path.join(git_dir(root), _PRIVATE)
    os.makedirs(path, exist_ok=True)
    return path


def hosted_agent(root: str) -> str | None:
    """The agent this worktree hosts, as ``host_agent`` recorded it; None when it never did (a
    workspace of 0.1.0, or a worktree not yet given an agent)."""
    path = os.path.join(git_dir(root), _PRIVATE, AGENT_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            name = handle.read(AGENT_MAX + 2).strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        raise WorkspaceError(f"{path}: unreadable (run `cloisterctl init --agent NAME` to write it again)") from None
    if not name or len(name) > AGENT_MAX or any(char not in _NAME_CHARS for char in name):
        raise WorkspaceError(f"{path}: not an agent name (run `cloisterctl init --agent NAME` to write it again)")
    return name


def host_agent(root: str, agent: str) -> None:
    """Record that this worktree hosts ``agent`` (atomically: a reader sees the old name or the new)."""
    path = os.path.join(private_dir(root), AGENT_FILE)
    partial = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"  # threads of a process share a pid
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(agent + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def clone_id(root: str) -> str:
    """This clone's id, made on first use. Two processes making it at once agree: the first
    ``O_EXCL`` create wins and the other reads it."""
    return _made_once(root, "clone-id", CLONE_ID_BYTES, "clone id")


def clone_secret(root: str) -> bytes:
    """This clone's secret, made on first use beside its id and never written anywhere else: what
    proves that an order in the shared ledger was recorded here (``ledger.identity.prove``). The id
    is in every committed event, so anyone can copy it; the secret never leaves the machine."""
    return bytes.fromhex(_made_once(root, "clone-secret", SECRET_BYTES, "clone secret"))


def _made_once(root: str, name: str, size: int, what: str) -> str:
    """The hex value kept in ``<common>/cloister/NAME``, made (``size`` random bytes) when missing;
    two makers at once agree: the first link wins and the other reads it."""
    directory = os.path.join(common_dir(root), _PRIVATE)
    path = os.path.join(directory, name)
    existing = _read_hex(path, size, what)
    if existing is not None:
        return existing
    os.makedirs(directory, exist_ok=True)
    made = os.urandom(size).hex()
    partial = f"{path}.{os.getpid()}.{os.urandom(8).hex()}.tmp"  # this maker's own: threads share a pid
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(made + "\n")
    try:
        os.link(partial, path)  # atomic, and fails when another process made it first
    except FileExistsError:
        pass
    finally:
        os.unlink(partial)
    found = _read_hex(path, size, what)
    if found is None:
        raise WorkspaceError(f"{path}: not a {what} (delete it to make a new one)")
    return found


def _read_hex(path: str, size: int, what: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(4 * size + 8).strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        raise WorkspaceError(f"{path}: unreadable {what} (delete it to make a new one)") from None
    if len(text) != 2 * size or any(char not in "0123456789abcdef" for char in text):
        raise WorkspaceError(f"{path}: not a {what} (delete it to make a new one)")
    return text
