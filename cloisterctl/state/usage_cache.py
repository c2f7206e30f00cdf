"""The machine-local transcript cache (``usage/`` under ``Workspace.cache_dir``): a mark per file (how far it
was read, and what it looked like then) and the responses read so far, one shard per project dir.

Written atomically; the caller holds the usage lock. An unreadable or old-format cache is simply
rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cloisterctl.core.dedup import merge_responses
from cloisterctl.model.usage import FileMark, Response
from cloisterctl.state.fsio import atomic_write_bytes

CACHE_VERSION = 1
# Per file, at most this many unreadable lines are kept.
MAX_PROBLEMS_PER_FILE = 20


def _project_dir_of(path: str) -> str:
    parent = os.path.dirname(path)
    if os.path.basename(parent) == "subagents":
        return os.path.dirname(os.path.dirname(parent))
    return parent


def _shard_name(path: str) -> str:
    return hashlib.sha1(_project_dir_of(path).encode()).hexdigest()[:16]


def _dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, check_circular=False).encode("utf-8")


class UsageStore:
    """The cache under ``usage/``: ``manifest.json`` (a mark per file) and one
    ``rows-*.json`` per project dir (the responses read so far). Written atomically; the caller
    holds the usage lock. An unreadable or old-format cache is simply rebuilt."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest_path = directory / "manifest.json"
        self.marks: dict[str, FileMark] = {}
        self._shards: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        try:
            data = json.loads(self.manifest_path.read_bytes())
            if data.get("version") == CACHE_VERSION:
                self.marks = {path: FileMark(*mark) for path, mark in data["files"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.marks = {}

    def _shard(self, name: str) -> dict[str, Any]:
        shard = self._shards.get(name)
        if shard is None:
            try:
                data = json.loads((self.directory / f"rows-{name}.json").read_bytes())
                shard = data["files"] if data.get("version") == CACHE_VERSION else {}
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                shard = {}
            self._shards[name] = shard
        return shard

    def rows(self, path: str) -> tuple[list[Response], list[str]] | None:
        entry = self._shard(_shard_name(path)).get(path)
        if entry is None:
            return None
        rows = entry["rows"]
        # Rows read in this run are Responses already; rows loaded from JSON are lists.
        if rows and type(rows[0]) is not Response:
            rows = entry["rows"] = list(map(Response._make, rows))
        return rows, list(entry["problems"])

    def update(
        self, path: str, mark: FileMark, rows: list[tuple[Any, ...]], problems: list[str], *, reset: bool
    ) -> None:
        """Record what a read of ``path`` found (``rows``: one per response key); ``reset``: the
        read started over, so what was kept for the file before is dropped."""
        name = _shard_name(path)
        shard = self._shard(name)
        entry = None if reset else shard.get(path)
        if entry is None or not entry["rows"]:
            # The reader already kept one row per key.
            kept = list(map(Response._make, rows))
            found = problems[:MAX_PROBLEMS_PER_FILE]
        else:
            merged: dict[tuple[str, str], Response] = {}
            merge_responses(merged, map(Response._make, entry["rows"]))
            merge_responses(merged, map(Response._make, rows))
            kept = list(merged.values())
            found = (list(entry["problems"]) + problems)[:MAX_PROBLEMS_PER_FILE]
        shard[path] = {"rows": kept, "problems": found}
        self.marks[path] = mark
        self._dirty.add(name)

    def forget(self, path: str) -> None:
        self.marks.pop(path, None)
        name = _shard_name(path)
        if self._shard(name).pop(path, None) is not None:
            self._dirty.add(name)

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in sorted(self._dirty):
            payload = {"version": CACHE_VERSION, "files": self._shards[name]}
            atomic_write_bytes(self.directory / f"rows-{name}.json", _dump(payload))
        self._dirty.clear()
        manifest = {"version": CACHE_VERSION, "files": {path: list(mark) for path, mark in sorted(self.marks.items())}}
        atomic_write_bytes(self.manifest_path, _dump(manifest))
