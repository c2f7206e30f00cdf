"""Where a workspace's files are, computed with ``os`` alone.

``Workspace`` (``workspace.layout``) is the interface; these are the rules under it, kept free of
``pathlib``, ``re`` and ``dataclasses`` so that a start-up path that only reads a memo
(``cli.fast``) can find the same files without paying for those imports. Every function takes
and returns ``str`` paths.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:  # the digest module alone: hashlib loads OpenSSL first, ten times the import time
        from _sha256 import sha256  # Python 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # Python 3.12+
        except ImportError:
            from hashlib import sha256

CLOISTER_DIR = ".cloister"
_SLUG_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def slug(name: str) -> str:
    """``name`` with each run of characters outside ``[A-Za-z0-9_.-]`` made one ``-``, trimmed of
    ``-`` and ``.``; ``agent`` when nothing is left. Agent ids and cache dir names."""
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


def cache_dir(root: str) -> str:
    """``$XDG_CACHE_HOME/cloisterctl/workspaces/<dir name>-<hash of the path>``: machine-local,
    outside the work tree, so that a cache file committed to the repository is never read as one."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = sha256(os.path.realpath(root).encode()).hexdigest()[:16]
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


def ledger_files(root: str) -> list[str]:
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
        *ledger_files(root),
        os.path.join(cloister, "local", "signals.jsonl"),
    ]
    return list(dict.fromkeys(listed))
