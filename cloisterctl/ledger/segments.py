"""The append-only event ledger on disk: monthly segments ``.cloister/ledger/YYYY-MM.jsonl`` (plus
the single-file ``.cloister/ledger.jsonl`` of earlier versions, still read), and the local signal
spool, in the same format.

Lines are only ever appended, in one ``write`` under the workspace lock. A corrupt line is reported
with its number and skipped, never rewritten. The event records themselves live in
``cloisterctl.ledger.events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cloisterctl.errors import LedgerError, UnsafeFileError
from cloisterctl.files.appendlog import append_bytes
from cloisterctl.files.locking import locked
from cloisterctl.files.safeopen import LEDGER_CAP, read_capped
from cloisterctl.ledger.events import Event, encode
from cloisterctl.ledger.schema import problem
from cloisterctl.workspace.layout import Workspace


@dataclass
class ReadResult:
    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # the ts of events held back as in the future


def read_events(path: Path, *, label: str | None = None, horizon: str | None = None) -> ReadResult:
    """Every valid event in ``path`` in file order; bad lines become problems with line numbers."""
    name = label or str(path)
    try:
        data = read_capped(path, LEDGER_CAP)  # no symlink, no special file, bounded
    except FileNotFoundError:
        return ReadResult()
    except UnsafeFileError as exc:
        return ReadResult(problems=[f"{name}: {exc.reason}"])
    except OSError as exc:
        raise LedgerError(f"{name}: cannot read: {exc.strerror}") from None
    return parse_lines(data, name, horizon=horizon)


def parse_lines(data: bytes, name: str, first_line: int = 1, *, horizon: str | None = None) -> ReadResult:
    """Events from ledger bytes; ``first_line`` numbers the first line (for a read from an offset).

    A line that is not JSON, or not an event of the right shape (``ledger.schema``), is a
    problem with its line number and is skipped. With ``horizon`` (a ``ts``), an event dated later
    is a problem too and is held back in ``deferred``: a clock far ahead must not pin the state."""
    result = ReadResult()
    lines = data.split(b"\n")
    # The last element is what follows the final newline: empty, or a line still being written.
    for index, raw in enumerate(lines):
        if not raw.strip():
            continue
        number = first_line + index
        try:
            event = json.loads(raw)
        except RecursionError:
            result.problems.append(f"{name}:{number}: JSON nested too deeply (skipped)")
            continue
        except (ValueError, UnicodeDecodeError):
            what = "incomplete last line" if index == len(lines) - 1 else "not valid JSON"
            result.problems.append(f"{name}:{number}: {what} (skipped)")
            continue
        wrong = problem(event)
        if wrong is not None:
            result.problems.append(f"{name}:{number}: {wrong} (skipped)")
            continue
        if horizon is not None and event["ts"] > horizon:
            result.problems.append(f"{name}:{number}: dated {event['ts']}, in the future (ignored until then)")
            result.deferred.append(event["ts"])
            continue
        result.events.append(event)
    return result


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
    (normally one segment: the current month's)."""
    by_segment: dict[Path, list[str]] = {}
    for event in events:
        by_segment.setdefault(ws.segment_for(event["ts"]), []).append(encode(event))
    if not by_segment:
        return
    with locked(ws.lock_path, timeout, what="the ledger"):
        for path, lines in by_segment.items():
            append_lines(path, lines)
