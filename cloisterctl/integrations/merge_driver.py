"""STATE.md through git merges: the merge driver, its registration, and the repair of conflict
markers that a clone without the driver got (``ledger.statemerge`` holds the text rules).

- The driver (git runs `cloisterctl hook merge-state %O %A %B %L %P` for STATE.md, by
  ``.gitattributes``): the body and the user's own front matter keys merge like text (git's own
  ``merge-file``; a real conflict there is left for the user, as git would), and the cloister
  block is never in conflict: the current side's block is kept, and the next command or tick
  rebuilds it from the merged ledger. Merges, rebases, `pull --rebase`, cherry-picks and
  `stash pop` all go through it.
- Registration (`cloisterctl init`, `cloisterctl install git`): the ``.gitattributes`` line is
  committed; the driver itself lives in the clone's ``.git/config`` (git never takes a driver
  from the repository), so each clone registers its own. It calls `cloisterctl` by name, and where
  there is none git's own text merge runs instead.
- Repair (tick, status, the post-merge and post-rewrite hook): conflict markers inside the
  cloister block are resolved and the block rebuilt from the ledger; markers anywhere else are
  left alone and reported by line.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cloisterctl.errors import CloisterError, StateFileError
from cloisterctl.files.atomic import atomic_write_bytes
from cloisterctl.files.locking import locked
from cloisterctl.integrations.install import InstallReport
from cloisterctl.ledger import statefile, statemerge
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.init import ensure_gitattributes
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import Workspace

DRIVER = "cloister-state"
DRIVER_NAME = "cloisterctl: STATE.md (the cloister block is rebuilt from the ledger)"
# Run by git through a shell: ours when cloisterctl is there, else git's own text merge.
DRIVER_COMMAND = (
    "command -v cloisterctl >/dev/null 2>&1 && exec cloisterctl hook merge-state %O %A %B %L %P"
    " || exec git merge-file --marker-size=%L -L ours -L base -L theirs %A %O %B"
)


def merge_driver(base: Path, ours: Path, theirs: Path, marker_size: int, name: str) -> int:
    """Merge STATE.md's three versions into ``ours``; returns the number of conflicts left (in the
    body or the user's own keys: never in the cloister block)."""
    try:
        texts = [path.read_bytes().decode("utf-8") for path in (ours, base, theirs)]
    except UnicodeDecodeError:  # not ours to read: merge as git would
        merged, conflicts = git.merge_file(ours, base, theirs, [f"{name} (ours)", "base", "theirs"], marker_size)
        atomic_write_bytes(ours, merged)
        return conflicts
    split = [statemerge.with_placeholder(text) for text in texts]
    with tempfile.TemporaryDirectory(prefix="cloister-merge-") as scratch:
        paths = []
        for label, (text, _block) in zip(("ours", "base", "theirs"), split, strict=True):
            path = Path(scratch) / label
            path.write_bytes(text.encode("utf-8"))
            paths.append(path)
        labels = [f"{name} (ours)", f"{name} (base)", f"{name} (theirs)"]
        merged, conflicts = git.merge_file(paths[0], paths[1], paths[2], labels, marker_size)
    block = split[0][1] if split[0][1] is not None else split[2][1]
    atomic_write_bytes(ours, statemerge.put_block(merged.decode("utf-8"), block).encode("utf-8"))
    return conflicts


def is_registered(ws: Workspace) -> bool:
    return git.config_get(ws.root, f"merge.{DRIVER}.driver") == DRIVER_COMMAND


def install_git(ws: Workspace) -> InstallReport:
    """Register the STATE.md merge driver: ``.gitattributes`` (committed) and ``.git/config``."""
    report = InstallReport()
    outcome = ensure_gitattributes(ws)
    (report.unchanged if outcome == "kept" else report.changed).append(".gitattributes")
    if is_registered(ws):
        report.unchanged.append(f".git/config merge.{DRIVER}")
    else:
        git.config_set(ws.root, f"merge.{DRIVER}.name", DRIVER_NAME)
        git.config_set(ws.root, f"merge.{DRIVER}.driver", DRIVER_COMMAND)
        report.changed.append(f".git/config merge.{DRIVER}")
    return report


def repair(ctx: Context) -> list[str]:
    """Rebuild a cloister block that holds conflict markers; returns what it did and what it left
    (each a line naming STATE.md and, for what is left, the line)."""
    path = ctx.ws.state_md
    try:
        text = statefile.read_bytes(path).decode("utf-8")
    except (OSError, UnicodeDecodeError, StateFileError):
        return []  # missing or unreadable: the usual checks say so
    if not statemerge.has_markers(text):
        return []
    found = statemerge.resolve_block_conflicts(text)
    notes = [
        f"{path.name}:{line}: a merge conflict in the front matter outside the cloister block: resolve it by hand"
        for line in found.front_matter_left
    ]
    notes += [f"{path.name}:{line}: merge conflict markers in the body, left for you" for line in found.body_left]
    if found.resolved and not found.front_matter_left:
        try:
            statefile.parse(found.text, path)
        except CloisterError as exc:
            return [*notes, f"{exc} (after resolving the cloister block's conflicts; nothing written)"]
        with locked(ctx.ws.lock_path, ctx.config.lock_timeout, what="STATE.md"):
            atomic_write_bytes(path, found.text.encode("utf-8"))
        ctx.publish(force=True)
        ctx.state_md_changed = True
        merging = git.busy_reason(ctx.ws.root)
        after = f"; `git add {path.name}` to mark it resolved" if merging else ""
        notes.insert(0, f"{path.name}: the cloister block had merge conflict markers: rebuilt from the ledger{after}")
    return notes
