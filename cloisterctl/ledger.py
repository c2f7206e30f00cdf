"""The append-only event ledger, ``.cloister/ledger.jsonl`` (and the local signal spool, same format).

Each line is one JSON object with ``id``, ``ts`` (UTC ISO 8601), ``type`` and ``agent``, plus fields of
its type. Lines are only ever appended, in one ``write`` under the workspace lock. Readers order
events by ``(ts, id)`` and drop duplicate ids, so a union merge of two branches' ledgers reads the
same as a linear history. A corrupt line is reported with its number and skipped, never rewritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloisterctl.appendlog import append_bytes
from cloisterctl.errors import LedgerError
from cloisterctl.locking import locked

Event = dict[str, Any]
REQUIRED = ("id", "ts", "type")


def format_ts(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``: sorts as text in time order."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def new_id() -> str:
    return os.urandom(8).hex()


def make_event(type_: str, agent: str, now: datetime, **fields: Any) -> Event:
    event: Event = {"id": new_id(), "ts": format_ts(now), "type": type_, "agent": agent}
    event.update(fields)
    return event


def encode(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, sort_keys=False, default=str)


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


def ordered(events: Iterable[Event]) -> list[Event]:
    """Events sorted by ``(ts, id)`` with duplicate ids (from a union merge) dropped."""
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event["id"], event)
    return sorted(unique.values(), key=lambda e: (e["ts"], e["id"]))


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
