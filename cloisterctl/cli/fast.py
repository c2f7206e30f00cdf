"""The fast start: `cloisterctl cost` answered from its memo, before click or anything else heavy
is imported.

`cost` with nothing new since its last run prints what that run printed. The full command keeps
its output in a memo (``state.memo``) stamped with everything it read: the ledger's files and the
signal spool, the config files, the price table, and every transcript and directory the scan
looked in. Here, with ``os`` alone, the command line is parsed the way click would parse it; when
it is one the memo can answer (``cost`` with any of ``--all``, ``--json``, ``--by``, ``--since``,
after an optional ``-C DIR``) and every stamp still holds, the memo's bytes are printed. Anything
else (another option, a missing or stale memo, an error) returns None and the command runs in
full, which writes the memo again.

Both sides build the memo's key and path with ``cost_key`` and ``cost_memo_path``.
"""

from __future__ import annotations

import os
import sys

from cloisterctl import __version__
from cloisterctl.state import memo, paths

# The environment the output depends on: where transcripts are found, and the user config.
ENV_KEYS = ("CLAUDE_CONFIG_DIR", "HOME", "XDG_CONFIG_HOME")
BY_CHOICES = ("agent", "model", "tier", "task", "session", "day", "project")
PRICE_TABLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "model", "prices.json")


def cost_key(root: str, all_projects: bool, by: str, since: str | None) -> str:
    """Everything besides the stamped files that `cost`'s output depends on."""
    parts = ["cost", __version__, root, "all" if all_projects else "workspace", by, since or "-"]
    parts += [f"{name}={os.environ.get(name, '')}" for name in ENV_KEYS]
    return "\x1f".join(parts)


def cost_memo_path(root: str, all_projects: bool, by: str) -> str:
    """One memo per scope and grouping (a run with other options or environment replaces it)."""
    return os.path.join(paths.cache_dir(root), "memo", f"cost-{'all' if all_projects else 'workspace'}-{by}.memo")


def _parse_cost(args: list[str]) -> tuple[str, bool, bool, str, str | None] | None:
    """``[-C DIR] cost [--all] [--json] [--by X] [--since D]`` -> (dir, all, json, by, since);
    None for anything else (the full command line parser takes it, errors included)."""
    directory = "."
    if args[:1] == ["-C"] and len(args) >= 3:
        directory, args = args[1], args[2:]
    if args[:1] != ["cost"]:
        return None
    all_projects = as_json = False
    by, since = "model", None
    rest = args[1:]
    while rest:
        token, rest = rest[0], rest[1:]
        name, equals, value = token.partition("=")
        if token == "--all":
            all_projects = True
        elif token == "--json":
            as_json = True
        elif name in ("--by", "--since"):
            if not equals:
                if not rest:
                    return None
                value, rest = rest[0], rest[1:]
            if name == "--by":
                by = value
            else:
                since = value
        else:
            return None
    if by not in BY_CHOICES:
        return None
    return directory, all_projects, as_json, by, since


def answer(args: list[str]) -> int | None:
    """Exit code 0 when the memo answered ``args``; None when the full command must run."""
    parsed = _parse_cost(args)
    if parsed is None:
        return None
    directory, all_projects, as_json, by, since = parsed
    if not os.path.isdir(directory):
        return None
    root = paths.work_tree_root(directory)
    if root is None or not os.path.isdir(os.path.join(root, paths.CLOISTER_DIR)):
        return None
    key = cost_key(root, all_projects, by, since)
    outputs = memo.recall(cost_memo_path(root, all_projects, by), key)
    if outputs is None:
        return None
    text = outputs.get("json" if as_json else "text")
    if text is None:
        return None
    sys.stdout.buffer.write(text)
    sys.stdout.flush()
    return 0
