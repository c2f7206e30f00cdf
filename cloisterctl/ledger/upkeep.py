"""The ledger's upkeep, done by tick: migrate a workspace of an earlier version and keep the
committed checkpoint of the closed segments current (``ledger.checkpoints``).

Migrating moves no event: the single-file ``.cloister/ledger.jsonl`` stays where it is, is read as
the oldest segment, and is summarised by the first checkpoint; new events go to the monthly
segments. (Moving its lines would turn every teammate's unmerged append to it into a conflict.)
"""

from __future__ import annotations

from cloisterctl.errors import LedgerError
from cloisterctl.ledger import checkpoints, store
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.init import ensure_gitattributes


def upkeep(ctx: Context, problems: list[str]) -> list[str]:
    """Bring .gitattributes and the checkpoint up to date; returns the paths it changed. A
    checkpoint that cannot be written (a committed symlink in its way) is a problem, not a failed tick."""
    ws = ctx.ws
    changed: list[str] = []
    if ensure_gitattributes(ws) != "kept":
        changed.append(".gitattributes")
    closed, valid = checkpoints.current(ws, store.current_month())
    if closed and not valid:
        try:
            written = checkpoints.write(ws, store.checkpoint_of(ws, closed))
        except (LedgerError, OSError) as exc:
            problems.append(f"checkpoint not written: {exc}")
            return changed
        changed.append(written.relative_to(ws.root).as_posix())
        store.forget(ws, on_disk=True)  # fold from it (cheap: this month), without the old ones' reports
        store.snapshot(ws, store_cache=True)
    return changed
