"""The workspace's state on disk: read and fold the ledger and signals, and refresh STATE.md.

This is where the pure fold (``cloisterctl.core.fold``) meets the files. Every write happens under the
workspace lock, so a hook appending an event and a tick refreshing STATE.md never interleave.

Every line is checked against the event schema as it is read (``state.ledger``); events dated
later than the wall clock plus ``CLOCK_SKEW`` are held back until their time comes.

Folding 10,000 ledger lines on every tick would dominate its cost, so the folded state is cached
machine-locally (``fold.json`` under ``Workspace.cache_dir``, outside the work tree) as data: JSON
decoded with msgspec into the exact types of the state, so a cache of any other shape is refolded,
never trusted, and nothing in it can run. The cache records the size and identity of the files it
was made from. Appends (the normal case) are folded on top of it; anything else -- a union merge,
a checkout, a rewrite -- changes the file's identity and the fold starts over. Reading the cache
is free for everyone; only callers that may write (``tick``) store it, so `status` stays read-only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloisterctl.core.fold import WorkspaceState, apply, fold
from cloisterctl.core.projection import front_matter
from cloisterctl.model.events import Event, format_ts, ordered
from cloisterctl.state import ledger, statefile
from cloisterctl.state.fsio import atomic_write_bytes
from cloisterctl.state.locking import locked
from cloisterctl.state.workspace import Workspace

CACHE_FILE = "fold.json"
CACHE_VERSION = 9  # bump when WorkspaceState or a reducer changes
# Events dated later than the wall clock plus this are held back: another machine's clock may run
# a little ahead, but an event from the far future must not pin the state for good.
CLOCK_SKEW = timedelta(minutes=15)


@dataclass
class Snapshot:
    """The folded state, what was wrong with the files, and (read on first use) every event."""

    state: WorkspaceState
    problems: list[str] = field(default_factory=list)
    _events: list[Event] | None = None
    _ws: Workspace | None = None

    @property
    def events(self) -> list[Event]:
        if self._events is None:
            assert self._ws is not None
            self._events, _problems, _deferred = read_all(self._ws, horizon())
        return self._events


def _label(ws: Workspace, path: Path) -> str:
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def horizon() -> str:
    """The latest ``ts`` an event may have and count: the wall clock plus ``CLOCK_SKEW``. (The real
    clock, not a pinned one: what counts must not depend on what a test or a replay pretends.)"""
    return format_ts(datetime.now(UTC) + CLOCK_SKEW)


def read_all(ws: Workspace, limit: str | None = None) -> tuple[list[Event], list[str], list[str]]:
    """Every valid event of the ledger and the signal spool, the problems, and the ts of events
    held back as in the future."""
    events: list[Event] = []
    problems: list[str] = []
    deferred: list[str] = []
    for path in (ws.ledger_path, ws.signals_path):
        result = ledger.read_events(path, label=_label(ws, path), horizon=limit)
        events += result.events
        problems += result.problems
        deferred += result.deferred
    return events, problems, deferred


# ------------------------------------------------------------------------------------ fold cache

FileKey = tuple[int, int, int, int]  # device, inode, size, mtime_ns


def _key(path: Path) -> FileKey | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass
class _Cache:
    version: int
    agent: str
    keys: tuple[FileKey | None, FileKey | None]
    state: WorkspaceState
    problems: list[str]
    last: tuple[str, str]  # (ts, id) of the last event folded
    deferred: list[str] = field(default_factory=list)  # ts of events held back as in the future


_MEMORY: dict[Path, _Cache] = {}
_ON_DISK: dict[Path, tuple[FileKey | None, FileKey | None]] = {}  # which fold the cache file holds


def _load_cache(ws: Workspace) -> _Cache | None:
    memo = _MEMORY.get(ws.root)
    if memo is not None:
        return memo
    import msgspec

    try:
        cache = msgspec.json.decode((ws.cache_dir / CACHE_FILE).read_bytes(), type=_Cache)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None  # missing, corrupt or of another shape: fold from the files
    if cache.version != CACHE_VERSION:
        return None
    _ON_DISK[ws.root] = cache.keys
    return cache


def _grown(old: FileKey | None, new: FileKey | None) -> bool:
    """The same file (device and inode), only longer -- appended to -- or a file that is new."""
    if old is None:
        return True
    return new is not None and old[:2] == new[:2] and new[2] >= old[2]


def _read_from(path: Path, offset: int, label: str, limit: str) -> ledger.ReadResult:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return ledger.ReadResult()
    result = ledger.parse_lines(data, label, horizon=limit)
    if result.problems and offset:  # number the lines as in the whole file
        result = ledger.parse_lines(data, label, _count_lines(path, offset) + 1, horizon=limit)
    return result


def _incremental(
    ws: Workspace, cache: _Cache, keys: tuple[FileKey | None, FileKey | None], limit: str
) -> _Cache | None:
    """The cache brought up to date with what was appended since; None when a full fold is needed."""
    if cache.agent != ws.default_agent or any(ts <= limit for ts in cache.deferred):
        return None  # another agent, or an event held back is due now: fold everything again
    new_events: list[Event] = []
    problems = list(cache.problems)
    deferred = list(cache.deferred)
    for path, old, new in zip((ws.ledger_path, ws.signals_path), cache.keys, keys, strict=True):
        if old == new:
            continue
        if not _grown(old, new):
            return None
        offset = old[2] if old is not None else 0
        if offset and _byte_before(path, offset) != b"\n":
            return None  # the earlier read ended mid-line: the line is complete now
        result = _read_from(path, offset, _label(ws, path), limit)
        new_events += result.events
        problems += result.problems
        deferred += result.deferred
    fresh = ordered(new_events)  # sorted, duplicates among the new lines dropped
    if fresh and (fresh[0]["ts"], fresh[0]["id"]) <= cache.last:
        return None  # something landed at or before what is folded (or repeats it): start over
    state = copy.deepcopy(cache.state)
    apply(state, fresh)
    last = (fresh[-1]["ts"], fresh[-1]["id"]) if fresh else cache.last
    return _Cache(CACHE_VERSION, cache.agent, keys, state, problems, last, deferred)


def _byte_before(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset - 1)
        return handle.read(1)


def _count_lines(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n")


def snapshot(ws: Workspace, *, store_cache: bool = False) -> Snapshot:
    """The folded state of the workspace. With ``store_cache`` the fold is kept for the next process.

    The state may be shared with other callers in this process: treat it as read-only (record an
    event to change it)."""
    keys = (_key(ws.ledger_path), _key(ws.signals_path))
    limit = horizon()
    cache = _load_cache(ws)
    updated: _Cache | None = None
    if (
        cache is not None
        and cache.keys == keys
        and cache.agent == ws.default_agent
        and not any(ts <= limit for ts in cache.deferred)
    ):
        updated = cache
    elif cache is not None:
        updated = _incremental(ws, cache, keys, limit)
    if updated is None:
        events, problems, deferred = read_all(ws, limit)
        in_order = ordered(events)
        state = fold(in_order, agent=ws.default_agent)
        last = (in_order[-1]["ts"], in_order[-1]["id"]) if in_order else ("", "")
        updated = _Cache(CACHE_VERSION, ws.default_agent, keys, state, problems, last, deferred)
        result = Snapshot(state, list(problems), events, ws)
    else:
        result = Snapshot(updated.state, list(updated.problems), None, ws)
    _MEMORY[ws.root] = updated
    if store_cache and _ON_DISK.get(ws.root) != updated.keys and ws.is_initialised:
        _store(ws, updated)
    return result


def _store(ws: Workspace, cache: _Cache) -> None:
    import msgspec

    try:
        atomic_write_bytes(ws.cache_dir / CACHE_FILE, msgspec.json.encode(cache))
    except OSError:
        return  # a cache that cannot be written is only a slower next tick
    _ON_DISK[ws.root] = cache.keys


def forget(ws: Workspace) -> None:
    """Drop the in-process copy (tests, and processes that handle many workspaces over time)."""
    _MEMORY.pop(ws.root, None)
    _ON_DISK.pop(ws.root, None)


# ------------------------------------------------------------------------------------ writes


_STATE_MD: dict[Path, tuple[FileKey | None, dict[str, Any]]] = {}  # STATE.md as last written or checked


def refresh_state_md(ws: Workspace, state: WorkspaceState, *, timeout: float | None = None) -> bool:
    """Project ``state`` into STATE.md's cloister block; returns whether the file changed."""
    if not ws.state_md.exists():
        return False
    block = front_matter(state)
    seen = _STATE_MD.get(ws.state_md)
    if seen is not None and seen == (_key(ws.state_md), block):
        return False  # unchanged since this process last looked: no need to parse it again
    with locked(ws.lock_path, timeout, what="STATE.md"):
        changed = statefile.write_cloister(ws.state_md, block)
        _STATE_MD[ws.state_md] = (_key(ws.state_md), block)
    return changed
