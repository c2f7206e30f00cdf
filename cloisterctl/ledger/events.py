"""Ledger events as records: ids, timestamps, ordering. Stdlib only.

An event is one JSON object with ``id`` (unique), ``ts`` (UTC ISO 8601 with microseconds and a
``Z``, so text order is time order), ``type`` and ``agent``, plus fields of its type. Readers order
events by ``(ts, id)`` and drop duplicate ids: two branches' ledgers joined by a union merge read the
same as one linear history. Two lines with one id and different content (a forged or edited copy)
are a conflict: the one whose canonical JSON has the smaller SHA-256 is kept, whatever the order
the lines were read in, and the reader reports the id (``conflicts``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cloisterctl.errors import MalformedLine

Event = dict[str, Any]


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


def ordered(events: Iterable[Event], conflicts: set[str] | None = None) -> list[Event]:
    """Events sorted by ``(ts, id)`` with duplicate ids (from a union merge) dropped. Of copies of
    one id that differ, the one with the smallest ``content_digest`` is kept (so the order the
    files were read in does not matter), and the id is added to ``conflicts``."""
    unique: dict[str, Event] = {}
    for event in events:
        seen = unique.setdefault(event["id"], event)
        if seen is not event and seen != event:
            if conflicts is not None:
                conflicts.add(event["id"])
            if content_digest(event) < content_digest(seen):
                unique[event["id"]] = event
    return sorted(unique.values(), key=lambda e: (e["ts"], e["id"]))


def content_digest(event: Mapping[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON (keys sorted): the same for equal events, whatever
    their key order or spacing on disk."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def conflict_report(ids: set[str], shown: int = 5) -> list[str]:
    """One problem line summarising the ids held with different content in two places."""
    if not ids:
        return []
    names = ", ".join(sorted(ids)[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")
    return [
        f"ledger: {len(ids)} event id(s) appear twice with different content: {names} "
        "(the copy with the smaller content digest is used; find the lines with `git log -S ID`)"
    ]


def normalise_ts(text: str) -> str:
    """A transcript timestamp in the ledger's format (``...SS.ffffffZ``), so the two compare as text."""
    if len(text) == 27 and text[19] == "." and text[26] == "Z":
        return text  # already the ledger's own format
    if len(text) == 24 and text[19] == "." and text[23] == "Z":
        return text[:23] + "000Z"
    if len(text) == 20 and text[19] == "Z":
        return text[:19] + ".000000Z"
    try:
        return format_ts(parse_ts(text))
    except ValueError:
        raise MalformedLine(f"timestamp {text[:40]!r} is not ISO 8601") from None
