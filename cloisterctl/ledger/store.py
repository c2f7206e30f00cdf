"""The workspace's state on disk: read and fold the ledger and signals, and refresh STATE.md.

This is where the pure fold (``cloisterctl.ledger.fold``) meets the files. Every write happens under the
workspace lock, so a hook appending an event and a tick refreshing STATE.md never interleave.

Every line is checked against the event schema as it is read (``ledger.segments``); events dated
later than the wall clock plus ``CLOCK_SKEW`` are held back until their time comes.

Folding 10,000 ledger lines on every tick would dominate its cost, so the folded state is cached
machine-locally (``fold.json`` under ``Workspace.cache_dir``, outside the work tree) as data: JSON
decoded with msgspec into the exact types of the state, so a cache of any other shape is refolded,
never trusted, and nothing in it can run. Its version is the digest of the code that folds
(``ledger.fold_version``): a cache made by other code is refolded too. The cache records the size
and identity of the files it was made from. Appends (the normal case) are folded on top of it;
anything else -- a union merge, a checkout, a rewrite -- changes the file's identity and the fold
starts over. Reading the cache is free for everyone; only callers that may write (``tick``) store
it, so `status` stays read-only.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloisterctl.errors import UnsafeFileError
from cloisterctl.files import safeopen
from cloisterctl.files.atomic import atomic_write_bytes
from cloisterctl.files.locking import locked
from cloisterctl.ledger import identity, segments, statefile
from cloisterctl.ledger.events import Event, conflict_report, format_ts, ordered, parse_ts
from cloisterctl.ledger.fold import ColdState, WorkspaceState, apply, copy_state, fold
from cloisterctl.ledger.fold_version import fold_version
from cloisterctl.ledger.projection import front_matter
from cloisterctl.workspace.layout import Workspace

CACHE_FILE = "fold.json"
COLD_FILE = "fold-sessions.json"
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
    deferred: list[str] = field(default_factory=list)  # ts of events held back as in the future

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


def counts_from(ts: str) -> float:
    """The wall-clock time (unix seconds) at which an event dated ``ts`` stops being held back."""
    return (parse_ts(ts) - CLOCK_SKEW).timestamp()


def current_month() -> str:
    """``YYYY-MM`` of the wall clock: the segment events are appended to now; earlier ones are closed."""
    return datetime.now(UTC).strftime("%Y-%m")


def read_all(ws: Workspace, limit: str | None = None) -> tuple[list[Event], list[str], list[str]]:
    """Every valid event of the ledger and the signal spool, the problems, and the ts of events
    held back as in the future."""
    return _read_files(ws, [*ws.ledger_files(), ws.signals_path], limit)


def _read_files(ws: Workspace, paths: list[Path], limit: str | None) -> tuple[list[Event], list[str], list[str]]:
    events: list[Event] = []
    committed: list[Event] = []
    problems: list[str] = []
    deferred: list[str] = []
    for path in paths:
        result = segments.read_events(path, label=_label(ws, path), horizon=limit)
        events += result.events
        if path != ws.signals_path:  # only this machine writes the spool (``ledger.identity``)
            committed += result.events
        problems += result.problems
        deferred += result.deferred
    return events, [*problems, *identity.vouch(ws, committed)], deferred


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
    version: str  # fold_version() of the code that made it
    agent: str  # who folded: ``ledger.identity.key``
    keys: dict[str, FileKey | None]  # every ledger file and the signal spool, by path
    state: WorkspaceState
    problems: list[str]
    last: tuple[str, str]  # (ts, id) of the last event folded
    deferred: list[str] = field(default_factory=list)  # ts of events held back as in the future
    generation: str = ""  # which per-session aggregates file (COLD_FILE) goes with this state


@dataclass
class _Cold:
    version: str
    generation: str
    cold: ColdState


_MEMORY: dict[Path, _Cache] = {}
_ON_DISK: dict[Path, dict[str, FileKey | None]] = {}  # which fold the cache file holds


def _load_cache(ws: Workspace) -> _Cache | None:
    memo = _MEMORY.get(ws.root)
    if memo is not None:
        return memo
    import msgspec

    try:
        cache = msgspec.json.decode((ws.cache_dir / CACHE_FILE).read_bytes(), type=_Cache)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None  # missing, corrupt or of another shape: fold from the files
    if cache.version != fold_version():
        return None
    # The per-session aggregates are read only if something needs them (a quiet tick does not).
    cache.state.cold_state = None
    cache.state.cold_loader = functools.partial(_load_cold, ws, cache.generation, cache.last)
    _ON_DISK[ws.root] = cache.keys
    return cache


def _load_cold(ws: Workspace, generation: str, last: tuple[str, str]) -> ColdState:
    """The per-session aggregates that go with a cached state; refolded (up to the state's last
    event) when their file is missing, corrupt or from another generation."""
    import msgspec

    try:
        found = msgspec.json.decode((ws.cache_dir / COLD_FILE).read_bytes(), type=_Cold)
        if found.version == fold_version() and found.generation == generation and generation:
            return found.cold
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        pass
    events, _problems, _deferred = read_all(ws, horizon())
    state = fold([event for event in events if (event["ts"], event["id"]) <= last], start=identity.blank(ws))
    return state.cold


def _grown(old: FileKey | None, new: FileKey | None) -> bool:
    """The same file (device and inode), only longer -- appended to -- or a file that is new."""
    if old is None:
        return True
    return new is not None and old[:2] == new[:2] and new[2] >= old[2]


def _read_from(path: Path, offset: int, label: str, limit: str) -> segments.ReadResult:
    try:
        with safeopen.open_binary(path) as handle:
            handle.seek(offset)
            result = segments.read_stream(handle, label, horizon=limit)
            if result.problems and offset:  # number the lines as in the whole file
                handle.seek(offset)
                result = segments.read_stream(handle, label, _count_lines(path, offset) + 1, horizon=limit)
    except FileNotFoundError:
        return segments.ReadResult()
    except UnsafeFileError as exc:
        return segments.ReadResult(problems=[f"{label}: {exc.reason}"])
    return result


def _incremental(ws: Workspace, cache: _Cache, keys: dict[str, FileKey | None], limit: str) -> _Cache | None:
    """The cache brought up to date with what was appended since; None when a full fold is needed."""
    if cache.agent != identity.key(ws) or any(ts <= limit for ts in cache.deferred):
        return None  # another agent, or an event held back is due now: fold everything again
    new_events: list[Event] = []
    problems = list(cache.problems)
    deferred = list(cache.deferred)
    if set(cache.keys) - set(keys):
        return None  # a file went away (a checkout, a rewrite): start over
    for name, new in keys.items():
        old = cache.keys.get(name)
        path = Path(name)
        if old == new:
            continue
        if not _grown(old, new):
            return None
        offset = old[2] if old is not None else 0
        if offset and _byte_before(path, offset) != b"\n":
            return None  # the earlier read ended mid-line: the line is complete now
        result = _read_from(path, offset, _label(ws, path), limit)
        new_events += result.events
        problems += [*result.problems, *(identity.vouch(ws, result.events) if path != ws.signals_path else [])]
        deferred += result.deferred
    fresh = ordered(new_events)  # sorted, duplicates among the new lines dropped
    if fresh and (fresh[0]["ts"], fresh[0]["id"]) <= cache.last:
        return None  # something landed at or before what is folded (or repeats it): start over
    state = copy_state(cache.state)
    apply(state, fresh)
    last = (fresh[-1]["ts"], fresh[-1]["id"]) if fresh else cache.last
    return _Cache(fold_version(), cache.agent, keys, state, problems, last, deferred, cache.generation)


def _byte_before(path: Path, offset: int) -> bytes:
    with safeopen.open_binary(path) as handle:
        handle.seek(offset - 1)
        return handle.read(1)


def _count_lines(path: Path, offset: int) -> int:
    count = 0
    with safeopen.open_binary(path) as handle:  # in chunks: the file may hold a line of gigabytes
        while offset > 0 and (chunk := handle.read(min(offset, 1 << 20))):
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def snapshot(ws: Workspace, *, store_cache: bool = False) -> Snapshot:
    """The folded state of the workspace. With ``store_cache`` the fold is kept for the next process.

    The state may be shared with other callers in this process: treat it as read-only (record an
    event to change it)."""
    keys = {str(path): _key(path) for path in (*ws.ledger_files(), ws.signals_path)}
    limit = horizon()
    cache = _load_cache(ws)
    updated: _Cache | None = None
    if (
        cache is not None
        and cache.keys == keys
        and cache.agent == identity.key(ws)
        and not any(ts <= limit for ts in cache.deferred)
    ):
        updated = cache
    elif cache is not None:
        updated = _incremental(ws, cache, keys, limit)
    if updated is None:
        updated, events = _full_fold(ws, keys, limit)
        result = Snapshot(updated.state, list(updated.problems), events, ws, list(updated.deferred))
    else:
        result = Snapshot(updated.state, list(updated.problems), None, ws, list(updated.deferred))
    _MEMORY[ws.root] = updated
    if store_cache and _ON_DISK.get(ws.root) != updated.keys and ws.is_initialised:
        _store(ws, updated)
    return result


def _full_fold(ws: Workspace, keys: dict[str, FileKey | None], limit: str) -> tuple[_Cache, list[Event] | None]:
    """Fold from the newest valid checkpoint and the files it does not cover, or from nothing.
    Returns the cache and, when every file was read, every event.

    Folding from nothing, the closed files (``checkpoints.closed_files``) are folded first and that
    state is kept as a checkpoint candidate (``checkpoint_of``), so that tick can write the
    checkpoint without folding them a second time."""
    folded, rejected = _from_checkpoint(ws, keys, limit)
    if folded is not None:
        return folded, None
    from cloisterctl.ledger import checkpoints

    closed = checkpoints.closed_files(ws, current_month())
    closed_events, problems, deferred = _read_files(ws, closed, limit)
    other = [path for path in ws.ledger_files() if path not in set(closed)]
    rest_events, rest_problems, rest_deferred = _read_files(ws, [*other, ws.signals_path], limit)
    state = fold(closed_events, start=identity.blank(ws))
    if closed:
        _CANDIDATES[ws.root] = checkpoints.Checkpoint(
            fold_version(),
            _through(closed, current_month()),
            checkpoints.file_hashes(ws, closed),
            state.last_key,
            identity.key(ws),
            copy_state(state),
            list(problems),
            list(deferred),
        )
    apply(state, ordered(rest_events))
    conflicts: set[str] = set()
    ordered([*closed_events, *rest_events], conflicts)
    cache = _Cache(
        fold_version(),
        identity.key(ws),
        keys,
        state,
        [*rejected, *problems, *rest_problems, *conflict_report(conflicts)],
        state.last_key,
        [*deferred, *rest_deferred],
    )
    return cache, [*closed_events, *rest_events]


_CANDIDATES: dict[Path, object] = {}  # checkpoint state found by a full fold in this process


def _through(closed: list[Path], current_month: str) -> str:
    """The month a checkpoint of ``closed`` runs through: its newest segment's (or, with only the
    single-file ledger, the month before this one)."""
    months = [path.name[:7] for path in closed if path.name[:7] < current_month]
    if months:
        return max(months)
    year, month = int(current_month[:4]), int(current_month[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def checkpoint_of(ws: Workspace, closed: list[Path]) -> Any:
    """The checkpoint of exactly the files ``closed`` (``ledger.checkpoints``): the candidate a full
    fold left, or the newest believed checkpoint with the newly closed files folded on top of it."""
    from cloisterctl.ledger import checkpoints

    hashes = checkpoints.file_hashes(ws, closed)
    candidate = _CANDIDATES.get(ws.root)
    if isinstance(candidate, checkpoints.Checkpoint) and candidate.files == hashes:
        return candidate
    base = checkpoints.load_valid(ws, functools.partial(refold_checkpoint, ws)).checkpoint
    if base is not None and not set(base.files) <= set(hashes):
        base = None
    rest = [path for path in closed if checkpoints.relative(ws, path) not in (base.files if base else {})]
    events, problems, deferred = _read_files(ws, rest, horizon())
    in_order = ordered(events)
    if base is not None and in_order and (in_order[0]["ts"], in_order[0]["id"]) <= tuple(base.last):
        base, rest = None, closed  # the new files hold older events: fold them all
        events, problems, deferred = _read_files(ws, rest, horizon())
        in_order = ordered(events)
    state = copy_state(base.state) if base is not None else identity.blank(ws)
    apply(state, in_order)
    return checkpoints.Checkpoint(
        fold_version(),
        _through(closed, current_month()),
        hashes,
        max((base.last[0], base.last[1]), state.last_key) if base is not None else state.last_key,
        identity.key(ws),
        state,
        [*(base.problems if base else []), *problems],
        [*(base.deferred if base else []), *deferred],
    )


def refold_checkpoint(ws: Workspace, header: Any) -> Any:
    """The checkpoint an honest writer would have made of the files ``header`` (a
    ``checkpoints.Header``) lists: what a committed checkpoint is checked against."""
    from cloisterctl.ledger import checkpoints

    files = [ws.root / name for name in header.files]
    events, problems, deferred = _read_files(ws, files, horizon())
    state = fold(events, start=identity.blank(ws))
    return checkpoints.Checkpoint(
        fold_version(), header.through, header.files, state.last_key, header.agent, state, problems, deferred
    )


# Types whose reducers give the same state whatever their order among other events: the signal
# spool's (machine-local, not in any checkpoint) may be older than a checkpoint's last event.
# One approximation: a commit folded after later cost events sets the cost-bleed guard's baseline
# to the spending then, not at the commit (``ledger.agent_state.progress``): the smaller figure.
ORDER_FREE = frozenset({"activity", "idle"})


def _from_checkpoint(ws: Workspace, keys: dict[str, FileKey | None], limit: str) -> tuple[_Cache | None, list[str]]:
    """The fold from the newest believed checkpoint, or None; and what was wrong with the
    checkpoints not believed (``checkpoints.load_valid``)."""
    from cloisterctl.ledger import checkpoints

    loaded = checkpoints.load_valid(ws, functools.partial(refold_checkpoint, ws))
    checkpoint = loaded.checkpoint
    if checkpoint is None:
        return None, loaded.problems
    covered = {ws.root / name for name in checkpoint.files}
    rest = [path for path in ws.ledger_files() if path not in covered]
    events, problems, deferred = _read_files(ws, rest, limit)
    spooled, spool_problems, spool_deferred = _read_files(ws, [ws.signals_path], limit)
    later = ordered(events)
    if later and (later[0]["ts"], later[0]["id"]) <= tuple(checkpoint.last):
        return None, loaded.problems  # an uncovered file holds an event the checkpoint should have: fold it all
    boundary = (checkpoint.last[0], checkpoint.last[1])
    early = [event for event in ordered(spooled) if (event["ts"], event["id"]) <= boundary]
    if any(event["type"] not in ORDER_FREE for event in early):
        return None, loaded.problems
    early_ids = {event["id"] for event in early}
    state = checkpoint.state
    apply(state, early)
    apply(state, ordered([*later, *(event for event in spooled if event["id"] not in early_ids)]))
    last = max(boundary, state.last_key)
    conflicts: set[str] = set()
    ordered([*events, *spooled], conflicts)
    problems = [*loaded.problems, *checkpoint.problems, *problems, *spool_problems, *conflict_report(conflicts)]
    deferred = [*checkpoint.deferred, *deferred, *spool_deferred]
    return _Cache(fold_version(), identity.key(ws), keys, state, problems, last, deferred), []


def _store(ws: Workspace, cache: _Cache) -> None:
    """Write the state, and its per-session aggregates when they were loaded (changed or not,
    they are then written under a new generation; otherwise the file on disk still goes with it)."""
    import msgspec

    state = cache.state
    try:
        if state.cold_state is not None or not cache.generation:
            cache.generation = os.urandom(8).hex()
            cold = _Cold(fold_version(), cache.generation, state.cold)
            atomic_write_bytes(ws.cache_dir / COLD_FILE, msgspec.json.encode(cold))
        hot = dataclasses.replace(state, cold_state=None, cold_loader=None)
        atomic_write_bytes(ws.cache_dir / CACHE_FILE, msgspec.json.encode(dataclasses.replace(cache, state=hot)))
    except OSError:
        return  # a cache that cannot be written is only a slower next tick
    _ON_DISK[ws.root] = cache.keys


def forget(ws: Workspace, *, on_disk: bool = False) -> None:
    """Drop the in-process copy (tests, and processes that handle many workspaces over time); with
    ``on_disk`` the cache file too (a new checkpoint: what was reported about the old ones goes)."""
    _MEMORY.pop(ws.root, None)
    _ON_DISK.pop(ws.root, None)
    if on_disk:
        try:
            (ws.cache_dir / CACHE_FILE).unlink()
        except OSError:
            pass  # none, or the next fold finds it of the old files anyway


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
