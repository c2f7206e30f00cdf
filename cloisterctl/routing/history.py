"""The user-level routing history (``routing.history``): outcome counts per level/tier from other
workspaces, a small JSON file (`report routing --json > FILE` writes the shape: its ``counts``)."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.errors import ConfigError, UnsafeFileError
from cloisterctl.files.safeopen import JSON_CAP, read_capped

ROW = 6  # attempts, successes, failures, escalations, micro-USD, costed


def read_history(path: Path) -> dict[str, list[int]]:
    """The counts in ``path``; nothing when the file does not exist; an error naming the file
    when it is not such a file."""
    try:  # followed if a symlink (it is the user's, or trusted), but a regular file, and bounded
        data = json.loads(read_capped(path, JSON_CAP, below=None))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnsafeFileError) as exc:
        raise ConfigError(f"{path}: not a routing history file (routing.history): {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a routing history file (routing.history): JSON nested too deeply") from None
    counts = data.get("counts") if isinstance(data, dict) else None
    if not isinstance(counts, dict):
        raise ConfigError(f"{path}: not a routing history file (routing.history): no 'counts' object")
    found: dict[str, list[int]] = {}
    for key, row in counts.items():
        good = isinstance(row, list) and len(row) == ROW
        if not good or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in row):
            raise ConfigError(f"{path}: counts[{key!r}] must be {ROW} non-negative whole numbers")
        found[str(key)] = list(row)
    return found
