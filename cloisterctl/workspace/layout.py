"""Where a workspace's files are. A workspace is a git work tree holding STATE.md and .cloister/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cloisterctl.errors import WorkspaceError
from cloisterctl.workspace import paths

STATE_FILE = "STATE.md"
CLOISTER_DIR = paths.CLOISTER_DIR


@dataclass(frozen=True)
class Workspace:
    root: Path

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
        """Every file of the committed ledger, oldest first: the single-file ledger of an earlier
        version (when there is one), then the monthly segments."""
        return [Path(path) for path in paths.ledger_files(str(self.root))]

    @property
    def handoffs_dir(self) -> Path:
        return self.cloister_dir / "handoffs"

    @property
    def local_dir(self) -> Path:
        """Machine-local, git-ignored: locks, ingest offsets, runtime handles, signals."""
        return self.cloister_dir / "local"

    @cached_property
    def cache_dir(self) -> Path:
        """Machine-local caches (the fold, parsed tasks, transcript usage), kept outside the work
        tree so that a cache file committed to the repository is never read as one:
        ``$XDG_CACHE_HOME/cloisterctl/workspaces/<dir name>-<hash of the path>/``."""
        return Path(paths.cache_dir(str(self.root)))

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
        """The agent id used when nothing else names one: the work tree's directory name."""
        return agent_slug(self.root.name)

    def require_initialised(self) -> None:
        if not self.is_initialised:
            raise WorkspaceError(f"{self.root}: not a cloister workspace (no {CLOISTER_DIR}/); run `cloisterctl init`")


def agent_slug(name: str) -> str:
    """``name`` made an agent id (``paths.slug``)."""
    return paths.slug(name)


def find_workspace(start: Path) -> Workspace:
    """The git work tree containing ``start`` (a `.git` directory, or a `.git` file for worktrees)."""
    try:
        here = start.resolve(strict=True)
    except FileNotFoundError:
        raise WorkspaceError(f"{start}: no such directory") from None
    if not here.is_dir():
        raise WorkspaceError(f"{start}: not a directory")
    root = paths.work_tree_root(str(here))
    if root is not None:
        return Workspace(Path(root))
    raise WorkspaceError(f"{here}: not inside a git work tree (run `git init` first)")
