"""Where a workspace's files are. A workspace is a git work tree holding STATE.md and .cloister/.

``Workspace`` gives each file as a ``Path``; the rules under it (``work_tree_root``, ``cache_dir_of``,
``ledger_files_of``, ``fold_inputs``, ``slug``) take and return ``str`` paths, for callers that
stamp files (``files.memo``) or start on every status-bar refresh (``cli.fast_statusline``).

Loading this module imports ``hashlib`` and ``os`` and nothing else heavy, because the statusline
finds its summary with it and may cost at most 2.5x a bare Python start: ``Workspace`` is a plain
class (``dataclasses`` imports ``inspect``) and ``pathlib`` is imported where a ``Path`` is made
(with both, ``bench/statusline_bench.py`` measured the statusline at 3.6x; without them, 2.25x).
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property

from cloisterctl.errors import WorkspaceError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

STATE_FILE = "STATE.md"
CLOISTER_DIR = ".cloister"
_SLUG_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


class Workspace:
    """The workspace whose work tree is at ``root``; equal to another of the same ``root``."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"Workspace(root={self.root!r})"

    @property
    def state_md(self) -> Path:
        return self.root / STATE_FILE

    @property
    def cloister_dir(self) -> Path:
        return self.root / CLOISTER_DIR

    @property
    def config_path(self) -> Path:
        return self.cloister_dir / "config.yaml"

    @property
    def ledger_path(self) -> Path:
        """The single-file ledger of earlier versions: still read (as the oldest segment), never
        appended to by this version. See ``ledger_dir``."""
        return self.cloister_dir / "ledger.jsonl"

    @property
    def ledger_dir(self) -> Path:
        """The ledger's monthly segments, ``YYYY-MM.jsonl`` (each ``merge=union``), and the
        committed checkpoints that summarise the closed ones (``checkpoints/``)."""
        return self.cloister_dir / "ledger"

    @property
    def checkpoints_dir(self) -> Path:
        return self.ledger_dir / "checkpoints"

    def segment_for(self, ts: str) -> Path:
        """The segment an event belongs in: the month of its time."""
        return self.ledger_dir / f"{ts[:7]}.jsonl"

    def ledger_files(self) -> list[Path]:
        """Every file of the committed ledger, oldest first (``ledger_files_of``)."""
        from pathlib import Path

        return [Path(path) for path in ledger_files_of(str(self.root))]

    @property
    def handoffs_dir(self) -> Path:
        return self.cloister_dir / "handoffs"

    @property
    def local_dir(self) -> Path:
        """Machine-local, git-ignored: locks, ingest offsets, runtime handles, signals."""
        return self.cloister_dir / "local"

    @cached_property
    def cache_dir(self) -> Path:
        """Machine-local caches (the fold, parsed tasks, transcript usage): ``cache_dir_of``."""
        from pathlib import Path

        return Path(cache_dir_of(str(self.root)))

    @property
    def lock_path(self) -> Path:
        """Serialises every write to the ledger and STATE.md."""
        return self.local_dir / "ledger.lock"

    @property
    def tick_lock_path(self) -> Path:
        """Held for a whole tick, so two ticks never overlap."""
        return self.local_dir / "tick.lock"

    @property
    def signals_path(self) -> Path:
        """High-frequency activity events (hooks); folded with the ledger, never committed."""
        return self.local_dir / "signals.jsonl"

    @property
    def is_initialised(self) -> bool:
        return self.cloister_dir.is_dir()

    @property
    def default_agent(self) -> str:
        """The agent id used when nothing else names one: the work tree's directory name (at most
        128 characters of it, so it is a safe name: ``models.names``)."""
        return slug(self.root.name)[:128]

    def require_initialised(self) -> None:
        if not self.is_initialised:
            raise WorkspaceError(f"{self.root}: not a cloister workspace (no {CLOISTER_DIR}/); run `cloisterctl init`")


def find_workspace(start: Path) -> Workspace:
    """The git work tree containing ``start`` (a `.git` directory, or a `.git` file for worktrees)."""
    try:
        here = start.resolve(strict=True)
    except FileNotFoundError:
        raise WorkspaceError(f"{start}: no such directory") from None
    if not here.is_dir():
        raise WorkspaceError(f"{start}: not a directory")
    root = work_tree_root(str(here))
    if root is not None:
        from pathlib import Path

        return Workspace(Path(root))
    raise WorkspaceError(f"{here}: not inside a git work tree (run `git init` first)")


def slug(name: str) -> str:
    """``name`` with each run of characters outside ``[A-Za-z0-9_.-]`` made one ``-``, trimmed of
    ``-`` and ``.``; ``agent`` when nothing is left. Agent ids, cache dir names, session file names."""
    out: list[str] = []
    replaced = False
    for char in name:
        if char in _SLUG_CHARS:
            out.append(char)
            replaced = False
        elif not replaced:
            out.append("-")
            replaced = True
    return "".join(out).strip("-.") or "agent"


def work_tree_root(start: str) -> str | None:
    """The git work tree containing ``start`` (resolved): the nearest directory at or above it
    with a ``.git`` entry; None outside one."""
    current = os.path.realpath(start)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def without_machine_paths(text: str, root: str) -> str:
    """``text`` with the work tree's path written ``.`` and the home directory ``~``: what a line
    bound for a committed file (an agent's last output) may say of this machine."""
    for path, name in ((root, "."), (os.path.realpath(root), "."), (os.path.expanduser("~"), "~")):
        if len(path) > 1:  # never "/" itself
            text = text.replace(path.rstrip("/"), name)
    return text


def cache_dir_of(root: str) -> str:
    """``$XDG_CACHE_HOME/cloisterctl/workspaces/<dir name>-<hash of the path>``: machine-local,
    outside the work tree, so that a cache file committed to the repository is never read as one."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:16]
    return os.path.join(base, "cloisterctl", "workspaces", f"{slug(os.path.basename(root))}-{digest}")


def is_segment_name(name: str) -> bool:
    """``YYYY-MM.jsonl``: a monthly segment of the ledger."""
    return (
        len(name) == 13
        and name.endswith(".jsonl")
        and name[4] == "-"
        and name[:4].isascii()
        and name[:4].isdigit()
        and name[5:7].isascii()
        and name[5:7].isdigit()
    )


def ledger_files_of(root: str) -> list[str]:
    """Every file of the committed ledger, oldest first: the single-file ledger of an earlier
    version (when there is one), then the monthly segments."""
    cloister = os.path.join(root, CLOISTER_DIR)
    legacy = os.path.join(cloister, "ledger.jsonl")
    found = [legacy] if os.path.exists(legacy) else []
    directory = os.path.join(cloister, "ledger")
    try:
        names = sorted(entry.name for entry in os.scandir(directory) if is_segment_name(entry.name))
    except OSError:
        names = []
    return found + [os.path.join(directory, name) for name in names]


def fold_inputs(root: str) -> list[str]:
    """What the folded state is read from: the ledger's files, the directory a new segment would
    appear in, and the signal spool."""
    cloister = os.path.join(root, CLOISTER_DIR)
    listed = [
        os.path.join(cloister, "ledger.jsonl"),
        os.path.join(cloister, "ledger"),
        *ledger_files_of(root),
        os.path.join(cloister, "local", "signals.jsonl"),
    ]
    return list(dict.fromkeys(listed))
