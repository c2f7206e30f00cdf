"""`cloisterctl cost`'s output kept in a memo (``files.memo``): the one place its key and path are
built, for the run that keeps it and the run it answers.

`cost` with nothing new since its last run prints what that run printed. A full run inside a
workspace (without ``--record`` or ``--html``) keeps both of its outputs, the table and the JSON,
stamped with everything it read: the ledger's files and the signal spool, the config files, the
price table, and every transcript and directory the scan looked in. The next run with the same
options answers from them while every stamp still holds, before anything is read or imported for
the full path; else it runs in full, and keeps the memo again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cloisterctl import __version__
from cloisterctl.files import memo
from cloisterctl.workspace.layout import cache_dir_of

# The environment the output depends on: where transcripts are found, and the user config.
ENV_KEYS = ("CLAUDE_CONFIG_DIR", "HOME", "XDG_CONFIG_HOME")
PRICE_TABLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "prices.json")


@dataclass(frozen=True)
class CostOptions:
    """The options of `cost` that change what it prints (all of them but ``--json``, which picks
    one of the memo's two outputs, and ``-C``, which picks the workspace)."""

    all_projects: bool = False
    by: str = "model"
    since: str | None = None
    until: str | None = None
    breakdown: bool = False

    def scope(self) -> str:
        return "all" if self.all_projects else "workspace"


def cost_key(root: str, options: CostOptions) -> str:
    """Everything besides the stamped files that `cost`'s output depends on: every option, as
    given (``--since 20261101`` and ``--since 2026-11-01`` are two memos of the same report)."""
    parts = ["cost", __version__, root, options.scope(), options.by, options.since or "-", options.until or "-"]
    parts.append("breakdown" if options.breakdown else "-")
    parts += [f"{name}={os.environ.get(name, '')}" for name in ENV_KEYS]
    return "\x1f".join(parts)


def cost_memo_path(root: str, options: CostOptions) -> str:
    """One memo per scope, grouping and breakdown (a run with other dates or environment replaces it)."""
    name = f"cost-{options.scope()}-{options.by}{'-breakdown' if options.breakdown else ''}.memo"
    return os.path.join(cache_dir_of(root), "memo", name)


def recall(root: str, options: CostOptions, as_json: bool) -> bytes | None:
    """What the last run with ``options`` in the workspace at ``root`` printed (its JSON or its
    table), when nothing it read has changed since; else None."""
    outputs = memo.recall(cost_memo_path(root, options), cost_key(root, options))
    return None if outputs is None else outputs.get("json" if as_json else "text")


def keep(
    root: str, options: CostOptions, inputs: memo.Stamp, outputs: Mapping[str, bytes], valid_until: float | None
) -> None:
    """Keep a full run's ``outputs`` (``json`` and ``text``, as a run reading nothing new would
    print them), stamped with ``inputs`` (what it read, stamped before the read) and the price table."""
    stamped = {**inputs, **memo.stamp([PRICE_TABLE])}
    memo.keep(cost_memo_path(root, options), cost_key(root, options), stamped, outputs, valid_until)
