"""The signal spool's upkeep: what hooks recorded moves to where it belongs.

Hooks never touch a tracked file: every hook appends to the machine-local signal spool
(``.cloister/local/signals.jsonl``), which every reader folds with the ledger. At each commit
point (tick, and every command that records something) ``promote`` moves the spool's durable
events -- task changes, session starts, test runs, and all a command recorded while a git
operation kept it off the tracked files: what a teammate's fold and a reviewer need -- into the
committed ledger (the segment of each one's month), and keeps in the spool only the
latest activity of each kind, which is all the fold takes from it. The spool stays small, and no
order-dependent event lingers in it behind a checkpoint.

Hooks append without a lock (one ``O_APPEND`` write each), so the spool is never rewritten in
place: it is renamed aside (new hook lines start a new spool at once), read, and what is kept is
appended to the new one. A hook writes under a shared ``flock`` and only while the spool's name
still points at the file it opened (``files.appendlog.append_to_spool``); the promotion reads the
renamed file under an exclusive one, so a hook that opened it before the rename has written its
line by then, and one that opens it later writes to the new spool. The whole of
it -- the check for a file left by a crash, the rename, the appends and the removal -- runs under
the ledger lock, so two commands promoting at once take turns: the second finds the work done (or
a new spool), never a work file renamed over another's or removed under it. A crash leaves the
renamed file, which the next ``promote`` finishes first; an event promoted twice is one event
(readers drop repeated ids). Lines that are not events are kept as they were, so they are still
reported where they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from cloisterctl.errors import UnsafeFileError
from cloisterctl.files.appendlog import append_to_spool, taken
from cloisterctl.files.locking import locked
from cloisterctl.files.safeopen import LEDGER_CAP, open_binary, read_capped
from cloisterctl.ledger import identity, segments
from cloisterctl.ledger.events import Event, encode
from cloisterctl.ledger.schema import FIELDS
from cloisterctl.ledger.store import horizon
from cloisterctl.workspace.layout import Workspace

# The spool keeps only the latest activity and idleness (all the fold takes of them); every other
# event belongs in the ledger: hooks' task changes, session starts and test runs, and whatever a
# command recorded here while a git operation held it off the tracked files (``Context.held``).
SIGNALS = frozenset({"activity", "idle"})
DURABLE = frozenset(FIELDS) - SIGNALS
# A spool with no durable event is compacted only past this size (a compaction costs the next
# reader a refold, since the spool's file changes).
COMPACT_BYTES = 1 << 20
_DURABLE_NEEDLES = tuple(f'"type":"{kind}"'.encode() for kind in sorted(DURABLE))
WORK_NAME = "signals.promoting.jsonl"


def _worth_it(spool: Path) -> bool:
    try:
        data = read_capped(spool, LEDGER_CAP)
    except (FileNotFoundError, UnsafeFileError):  # a symlink or special file is never promoted
        return False
    return len(data) >= COMPACT_BYTES or any(needle in data for needle in _DURABLE_NEEDLES)


def _latest(events: list[Event]) -> list[Event]:
    """The last event of each kind (type, agent, session, source, hook): the fold's reducers for
    these take only the latest."""
    kept: dict[tuple[object, ...], Event] = {}
    for event in events:
        key = (event["type"], event.get("agent"), event.get("session"), event.get("source"), event.get("hook"))
        if key not in kept or (event["ts"], event["id"]) >= (kept[key]["ts"], kept[key]["id"]):
            kept[key] = event
    return sorted(kept.values(), key=lambda event: (event["ts"], event["id"]))


def _read_all(work: Path) -> bytes:
    """The renamed spool, read until it stops growing (a hook that opened it before the rename)."""
    data = b""
    while True:
        with open_binary(work) as handle:
            handle.seek(len(data))
            more = handle.read()
        if not more:
            return data
        data += more


def promote(ws: Workspace, timeout: float | None = None) -> list[Event]:
    """Move the spool's durable events to the ledger and compact the rest; returns the events
    moved. Cheap when there is nothing to move (one read of a small file)."""
    spool = ws.signals_path
    work = spool.with_name(WORK_NAME)
    if not work.exists() and not _worth_it(spool):
        return []  # the common case, told without the lock; told again under it
    with locked(ws.lock_path, timeout, what="the ledger"):
        resumed = work.exists()  # a promotion cut short: some of its lines may be in the ledger
        if not resumed:
            if not _worth_it(spool):
                return []  # another command promoted it meanwhile
            try:
                os.rename(spool, work)
            except FileNotFoundError:
                return []
        holder = taken(str(work))  # the hooks that opened it before the rename have written
        try:
            moved = _promote_taken(ws, work, resumed)
        finally:
            os.close(holder)
    return moved


def _promote_taken(ws: Workspace, work: Path, resumed: bool) -> list[Event]:
    """Move what the renamed spool ``work`` holds (see ``promote``); the caller holds the lock."""
    spool = ws.signals_path
    events, unreadable = _split(_read_all(work), horizon())
    durable = [event for event in events if event["type"] in DURABLE]
    if resumed:
        durable = _not_yet_in(ws, durable)
    identity.prove(ws, durable)  # the hooks write unsigned; what is committed carries its proof
    by_segment: dict[Path, list[str]] = {}
    for event in durable:
        by_segment.setdefault(ws.segment_for(event["ts"]), []).append(encode(event))
    for path, lines in by_segment.items():
        segments.append_lines(path, lines)
    rest = _latest([event for event in events if event["type"] not in DURABLE])
    kept = b"".join(encode(event).encode() + b"\n" for event in rest) + b"".join(line + b"\n" for line in unreadable)
    if kept:
        append_to_spool(str(spool), kept)
    work.unlink()
    return durable


def _not_yet_in(ws: Workspace, durable: list[Event]) -> list[Event]:
    """The events of ``durable`` that their segment does not hold already (read only when a crashed
    promotion is finished: readers drop repeated ids anyway, but the ledger stays without them)."""
    there: set[str] = set()
    for path in {ws.segment_for(event["ts"]) for event in durable}:
        there |= {event["id"] for event in segments.read_events(path).events}
    return [event for event in durable if event["id"] not in there]


def _split(data: bytes, limit: str) -> tuple[list[Event], list[bytes]]:
    """The events of ``data``, and the lines that are none (not JSON, the wrong shape, or dated
    past ``limit``: kept as they are, to be reported or counted when their time comes)."""
    events: list[Event] = []
    unreadable: list[bytes] = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        read = segments.parse_lines(line, "", horizon=limit)
        if read.events:
            events += read.events
        else:
            unreadable.append(line)
    return events, unreadable
