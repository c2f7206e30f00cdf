"""Token usage as records: one API response read from a transcript, the transcript file it came
from, and how far a file has been read. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class Response(NamedTuple):
    """The token usage of one API response (one transcript line; several lines may share it)."""

    message_id: str
    request_id: str
    ts: str  # UTC, the ledger's format: sorts as text in time order
    model: str
    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    sidechain: bool
    fast: bool

    @property
    def tokens(self) -> int:
        return self.input + self.output + self.cache_write_5m + self.cache_write_1h + self.cache_read


@dataclass(frozen=True)
class TranscriptFile:
    path: Path
    project: str  # the project dir name
    session: str  # the session id: the file's stem, or the session dir of a subagent file
    subagent: bool
    # A subagent file's type (``agentType`` of its ``agent-*.meta.json``, as Claude Code writes it,
    # read once when the file is first read); None for a main transcript or a type not known.
    agent_type: str | None = None

    @property
    def key(self) -> str:
        return str(self.path)


class FileMark(NamedTuple):
    """How far a file has been read, and what it looked like then."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int  # bytes of whole lines read
    check: int  # crc32 of the CHECK_BYTES before offset
