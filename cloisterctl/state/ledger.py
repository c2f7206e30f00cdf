"""The append-only event ledger on disk, ``.cloister/ledger.jsonl`` (and the local signal spool, same format).

Lines are only ever appended, in one ``write`` under the workspace lock. A corrupt line is reported
with its number and skipped, never rewritten. The event records themselves live in
``cloisterctl.model.events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cloisterctl.errors import LedgerError
from cloisterctl.model.events import REQUIRED, Event, encode
from cloisterctl.state.appendlog import append_bytes
from cloisterctl.state.locking import locked


@dataclass
class ReadResult:
    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_events(path: Path, *, label: str | None = None) -> ReadResult:
    """Every valid event in ``path`` in file order; bad lines become problems with line numbers."""
    name = label or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ReadResult()
    except OSError as exc:
        raise LedgerError(f"{name}: cannot read: {exc.strerror}") from None
    return parse_lines(data, name)


def parse_lines(data: bytes, name: str, first_line: int = 1) -> ReadResult:
    """Events from ledger bytes; ``first_line`` numbers the first line (for a read from an offset)."""
    result = ReadResult()
    lines = data.split(b"\n")
    # The last element is what follows the final newline: empty, or a line still being written.
    for index, raw in enumerate(lines):
        if not raw.strip():
            continue
        number = first_line + index
        try:
            event = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            what = "incomplete last line" if index == len(lines) - 1 else "not valid JSON"
            result.problems.append(f"{name}:{number}: {what} (skipped)")
            continue
        if not isinstance(event, dict) or not all(isinstance(event.get(key), str) for key in REQUIRED):
            result.problems.append(f"{name}:{number}: not a ledger event (needs string id, ts, type) (skipped)")
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
