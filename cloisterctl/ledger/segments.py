"""The append-only event ledger on disk: monthly segments ``.cloister/ledger/YYYY-MM.jsonl`` (plus
the single-file ``.cloister/ledger.jsonl`` of earlier versions, still read), and the local signal
spool, in the same format.

Lines are only ever appended, in one ``write`` under the workspace lock. A corrupt line is reported
with its number and skipped, never rewritten; files are read in bounded chunks, a line over
``MAX_LINE`` is skipped by its length without being decoded, and past ``MAX_WARNINGS`` bad lines
one summary line counts the rest. The event records themselves live in
``cloisterctl.ledger.events``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cloisterctl.errors import LedgerError, UnsafeFileError
from cloisterctl.files import safeopen
from cloisterctl.files.appendlog import append_bytes
from cloisterctl.files.locking import locked
from cloisterctl.ledger.events import Event, encode
from cloisterctl.ledger.schema import problem
from cloisterctl.workspace.layout import Workspace

# cloisterctl's own lines are a few KB at most (a handoff's last output lines, a cost checkpoint's
# maps); a line of a mebibyte is corrupt or hostile, and decoding it would cost many times its size
# in memory (a 2 GB line once peaked at 8.2 GB). Such a line is skipped by its length, unread.
MAX_LINE = 1 << 20
# Past this many bad lines in one read of a file, one summary line says how many more there were:
# a million bad lines must not print a million warnings.
MAX_WARNINGS = 20
_JSON_STARTS = frozenset(bytes([byte]) for byte in b'{["-0123456789')  # and true, false, null
_CHUNK = 1 << 20  # bytes read at a time: memory stays near _CHUNK + MAX_LINE whatever the file holds


@dataclass
class ReadResult:
    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # at most MAX_WARNINGS + 1 per file read
    deferred: list[str] = field(default_factory=list)  # the ts of events held back as in the future
    bad_lines: int = 0  # every line reported, the ones the summary line stands for included


def read_events(path: Path, *, label: str | None = None, horizon: str | None = None) -> ReadResult:
    """Every valid event in ``path`` in file order; bad lines become problems with line numbers."""
    name = label or str(path)
    try:
        with safeopen.open_binary(path) as handle:  # no symlink, no special file
            return read_stream(handle, name, horizon=horizon)
    except FileNotFoundError:
        return ReadResult()
    except UnsafeFileError as exc:
        return ReadResult(problems=[f"{name}: {exc.reason}"])
    except OSError as exc:
        raise LedgerError(f"{name}: cannot read: {exc.strerror}") from None


def parse_lines(data: bytes, name: str, first_line: int = 1, *, horizon: str | None = None) -> ReadResult:
    """Events from ledger bytes (``read_stream`` over ``data``)."""
    return read_stream(io.BytesIO(data), name, first_line, horizon=horizon)


def read_stream(handle: BinaryIO, name: str, first_line: int = 1, *, horizon: str | None = None) -> ReadResult:
    """Events from the rest of ``handle``, read in bounded chunks; ``first_line`` numbers the first
    line (for a read from an offset).

    A line that is longer than ``MAX_LINE`` (skipped unread), not JSON, nested too deeply, or not an
    event of the right shape (``ledger.schema``) is a problem with its line number and is skipped.
    With ``horizon`` (a ``ts``), an event dated later is a problem too and is held back in
    ``deferred``: a clock far ahead must not pin the state. Past ``MAX_WARNINGS`` problems, one
    line counts the rest."""
    result = ReadResult()

    def report(text: str) -> None:
        result.bad_lines += 1
        if result.bad_lines <= MAX_WARNINGS:
            result.problems.append(text)

    for number, raw, length, last in _lines(handle, first_line):
        if raw is None:
            report(f"{name}:{number}: line of {length:,} bytes, longer than {MAX_LINE:,} (skipped unread)")
            continue
        text = raw.strip()
        if not text:
            continue
        if text[:1] not in _JSON_STARTS and text not in (b"true", b"false", b"null"):
            report(f"{name}:{number}: {'incomplete last line' if last else 'not valid JSON'} (skipped)")
            continue  # no JSON starts so: said without the cost of decoding (a flood of such lines)
        try:
            event = json.loads(raw)
        except RecursionError:
            report(f"{name}:{number}: JSON nested too deeply (skipped)")
            continue
        except (ValueError, UnicodeDecodeError):
            report(f"{name}:{number}: {'incomplete last line' if last else 'not valid JSON'} (skipped)")
            continue
        wrong = problem(event)
        if wrong is not None:
            report(f"{name}:{number}: {wrong} (skipped)")
            continue
        if horizon is not None and event["ts"] > horizon:
            report(f"{name}:{number}: dated {event['ts']}, in the future (ignored until then)")
            result.deferred.append(event["ts"])
            continue
        result.events.append(event)
    if result.bad_lines > MAX_WARNINGS:
        result.problems.append(f"{name}: ... and {result.bad_lines - MAX_WARNINGS:,} more bad lines (skipped)")
    return result


def _lines(handle: BinaryIO, number: int) -> Iterator[tuple[int, bytes | None, int, bool]]:
    """``(line number, the line or None when longer than MAX_LINE, its length, whether it is the
    last and has no newline)`` for each line of ``handle``; no more than one chunk and one line
    of at most ``MAX_LINE`` bytes is held at a time."""
    pending: list[bytes] = []
    held = 0  # bytes of the line so far (all of them, kept or not)
    while chunk := handle.read(_CHUNK):
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:
            held += len(piece)
            yield number, (b"".join(pending) + piece if held <= MAX_LINE else None), held, False
            number, pending, held = number + 1, [], 0
        tail = pieces[-1]
        held += len(tail)
        if held <= MAX_LINE:
            pending.append(tail)
        else:
            pending = []  # too long: only its length is kept
    if held:
        yield number, (b"".join(pending) if held <= MAX_LINE else None), held, True


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append whole lines with one ``write``; the caller holds the lock (see ``appendlog``)."""
    payload = "".join(line + "\n" for line in lines).encode("utf-8")
    if payload:
        path.parent.mkdir(parents=True, exist_ok=True)
        append_bytes(str(path), payload)


def append(path: Path, lock_path: Path, events: Iterable[Event], timeout: float | None = None) -> None:
    """Append events to a ledger under the workspace lock."""
    encoded = [encode(event) for event in events]
    if not encoded:
        return
    with locked(lock_path, timeout, what="the ledger"):
        append_lines(path, encoded)


def append_segments(ws: Workspace, events: Iterable[Event], timeout: float | None = None) -> None:
    """Append events to the committed ledger, each to the segment of its month, under one lock hold
    (normally one segment: the current month's). Each carries this clone's and worktree's origin
    (``ledger.identity.stamp``: one that has an origin keeps it)."""
    from cloisterctl.ledger import identity  # it reads the fold's records; the fold reads segments

    batch = list(events)
    identity.stamp(ws, batch)
    identity.prove(ws, batch)
    by_segment: dict[Path, list[str]] = {}
    for event in batch:
        by_segment.setdefault(ws.segment_for(event["ts"]), []).append(encode(event))
    if not by_segment:
        return
    with locked(ws.lock_path, timeout, what="the ledger"):
        for path, lines in by_segment.items():
            append_lines(path, lines)
