"""The fast start: `cloisterctl cost` answered from its memo, before click or anything else heavy
is imported.

`cost` with nothing new since its last run prints what that run printed. The full command keeps
its output in a memo (``files.memo``) stamped with everything it read: the ledger's files and the
signal spool, the config files, the price table, and every transcript and directory the scan
looked in. Here, with ``os`` alone, the command line is parsed the way click would parse it; when
it is one the memo can answer (``cost`` with any of ``--all``, ``--json``, ``--breakdown``,
``--by``, ``--since``, ``--until``, after an optional ``-C DIR``) and every stamp still holds,
the memo's bytes are printed. Anything else (another option, a missing or stale memo, an error)
returns None and the command runs in full, which writes the memo again.

Both sides build the memo's key and path with ``cost_key`` and ``cost_memo_path``.
"""

from __future__ import annotations

import os
import sys

from cloisterctl import __version__
from cloisterctl.files import memo
from cloisterctl.workspace import paths

# The environment the output depends on: where transcripts are found, and the user config.
ENV_KEYS = ("CLAUDE_CONFIG_DIR", "HOME", "XDG_CONFIG_HOME")
# `cost --by` (core.reports.GROUPINGS, which a test holds equal: importing it here would cost the start).
BY_CHOICES = ("agent", "model", "tier", "task", "session", "day", "week", "month", "project", "subagent")
PRICE_TABLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "prices.json")


class CostOptions:
    """The options of `cost` that change what it prints (all of them but ``--json``, which picks
    one of the memo's two outputs, and ``-C``, which picks the workspace)."""

    __slots__ = ("all_projects", "by", "since", "until", "breakdown")

    def __init__(
        self,
        all_projects: bool = False,
        by: str = "model",
        since: str | None = None,
        until: str | None = None,
        breakdown: bool = False,
    ) -> None:
        self.all_projects = all_projects
        self.by = by
        self.since = since
        self.until = until
        self.breakdown = breakdown

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
    return os.path.join(paths.cache_dir(root), "memo", name)


VALUED = ("--by", "--since", "--until")


def _parse_cost(args: list[str]) -> tuple[str, bool, CostOptions] | None:
    """``[-C DIR] cost [--all] [--json] [--breakdown] [--by X] [--since D] [--until D]`` ->
    (dir, json, options); None for anything else (the full command line parser takes it, errors
    included)."""
    directory = "."
    if args[:1] == ["-C"] and len(args) >= 3:
        directory, args = args[1], args[2:]
    if args[:1] != ["cost"]:
        return None
    as_json = False
    options = CostOptions()
    rest = args[1:]
    while rest:
        token, rest = rest[0], rest[1:]
        name, equals, value = token.partition("=")
        if token == "--all":
            options.all_projects = True
        elif token == "--json":
            as_json = True
        elif token == "--breakdown":
            options.breakdown = True
        elif name in VALUED:
            if not equals:
                if not rest:
                    return None
                value, rest = rest[0], rest[1:]
            if name == "--by":
                options.by = value
            elif name == "--since":
                options.since = value
            else:
                options.until = value
        else:
            return None
    if options.by not in BY_CHOICES:
        return None
    return directory, as_json, options


def answer(args: list[str]) -> int | None:
    """Exit code 0 when the memo answered ``args``; None when the full command must run."""
    parsed = _parse_cost(args)
    if parsed is None:
        return None
    directory, as_json, options = parsed
    if not os.path.isdir(directory):
        return None
    root = paths.work_tree_root(directory)
    if root is None or not os.path.isdir(os.path.join(root, paths.CLOISTER_DIR)):
        return None
    outputs = memo.recall(cost_memo_path(root, options), cost_key(root, options))
    if outputs is None:
        return None
    text = outputs.get("json" if as_json else "text")
    if text is None:
        return None
    sys.stdout.buffer.write(text)
    sys.stdout.flush()
    return 0
