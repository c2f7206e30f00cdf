"""The machine-local transcript cache of one scope (a directory under ``Workspace.cache_dir``).

- ``manifest.json``: per file, how far it was read and what it looked like then (``FileMark``),
  whose session it is, and the lines it could not read; the generation of every rows shard.
- ``rows-<shard>.json``, one per project dir: the responses read so far, one per key per file.
- ``tally.json``: the running tally (``cloisterctl.cost.running_tally``) of those rows, with the
  basis it was computed on (attribution and prices) and the generation of rows it matches; each
  cell as its key, by field name (``CellKey``), and its sums.

All JSON, decoded with msgspec into typed records, so a file of another version or shape (a
tally whose cell keys have other fields included) fails to load and is rebuilt (from the
transcripts, or for the tally from the rows), never trusted and never a traceback. The versions
are digests of the code that shapes the files
(``cost.cache_versions``: ``rows_version`` for the manifest and rows, ``tally_version`` for the
tally), so a file written by other code is rebuilt too. Every save is a new random generation,
written in the manifest last: rows whose generation the manifest does not name are a torn save,
and the whole cache is read again. Files are replaced atomically but not synced: a cache lost in a
crash is only rebuilt. The caller holds the usage lock.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Annotated

import msgspec

from cloisterctl.cost.attribution import Attribution
from cloisterctl.cost.cache_versions import rows_version, tally_version
from cloisterctl.cost.running_tally import SUMS, FileChange, RunningTally, SessionSums
from cloisterctl.cost.tally import CellKey, TierOf
from cloisterctl.cost.usage import FileMark, Response, TranscriptFile
from cloisterctl.models.prices import PriceTable

# Per file, at most this many unreadable lines are kept.
MAX_PROBLEMS_PER_FILE = 20


class FileEntry(msgspec.Struct, array_like=True, gc=False):
    """A file as the manifest has it."""

    mark: FileMark
    project: str
    session: str
    subagent: bool
    problems: list[str]
    agent_type: str | None = None

    def file(self, path: str) -> TranscriptFile:
        return TranscriptFile(Path(path), self.project, self.session, self.subagent, self.agent_type)


class _Manifest(msgspec.Struct):
    version: str
    generation: str
    files: dict[str, FileEntry]
    shards: dict[str, str]  # shard name: the generation it was written in


class _Shard(msgspec.Struct):
    version: str
    generation: str
    files: dict[str, list[Response]]


_Place = tuple[int, str, int, int]  # count, file, row, how many at the earliest place


class _Session(msgspec.Struct, array_like=True, gc=False):
    requests: int
    first: tuple[str, int]
    last: tuple[str, int]
    models: dict[str, _Place]
    main: dict[str, _Place]
    projects: dict[str, _Place]


class _Cell(msgspec.Struct, gc=False):
    key: CellKey
    sums: Annotated[list[int], msgspec.Meta(min_length=SUMS, max_length=SUMS)]


class _Tally(msgspec.Struct):
    version: str
    generation: str  # of the rows it counts
    basis: str
    cells: list[_Cell]
    sessions: dict[str, _Session]


_ENCODER = msgspec.json.Encoder()
_MANIFEST = msgspec.json.Decoder(_Manifest)
_SHARD = msgspec.json.Decoder(_Shard)
_TALLY = msgspec.json.Decoder(_Tally)


def _project_dir_of(path: str) -> str:
    parent = os.path.dirname(path)
    if os.path.basename(parent) == "subagents":
        return os.path.dirname(os.path.dirname(parent))
    return parent


def _shard_name(path: str) -> str:
    return hashlib.sha1(_project_dir_of(path).encode()).hexdigest()[:16]


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically (a reader sees the old file or the new one), without a sync."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class UsageStore:
    """The manifest, loaded at once, and the rows, loaded on demand (:meth:`load_rows`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest_path = directory / "manifest.json"
        self.entries: dict[str, FileEntry] = {}
        self.generation = ""
        self._shard_generations: dict[str, str] = {}
        self._rows: dict[str, list[Response]] | None = None
        self._dirty: set[str] = set()
        try:
            manifest = _MANIFEST.decode(self.manifest_path.read_bytes())
        except (OSError, msgspec.DecodeError, RecursionError):
            return
        if manifest.version == rows_version():
            self.entries, self.generation = manifest.files, manifest.generation
            self._shard_generations = manifest.shards

    def load_rows(self) -> bool:
        """Load every shard; False (and nothing held) when one is missing, torn or foreign."""
        if self._rows is not None:
            return True
        rows: dict[str, list[Response]] = {}
        for name, generation in self._shard_generations.items():
            try:
                shard = _SHARD.decode((self.directory / f"rows-{name}.json").read_bytes())
            except (OSError, msgspec.DecodeError, RecursionError):
                return False
            if shard.version != rows_version() or shard.generation != generation:
                return False
            rows.update(shard.files)
        if rows.keys() != self.entries.keys():
            return False
        self._rows = rows
        return True

    def reset(self) -> None:
        """Forget everything: every file is read again."""
        self.entries, self._shard_generations, self._rows = {}, {}, {}
        self.generation = ""

    def rows(self, path: str) -> list[Response] | None:
        assert self._rows is not None, "load_rows() first"
        return self._rows.get(path)

    def update(
        self, file: TranscriptFile, mark: FileMark, rows: list[tuple[object, ...]], problems: list[str], *, reset: bool
    ) -> FileChange:
        """Record what a read of ``file`` found (``rows``: one per response key); ``reset``: the
        read started over, so what was kept for the file before is dropped."""
        assert self._rows is not None, "load_rows() first"
        path = file.key
        before = self._rows.get(path)
        entry = self.entries.get(path)
        # Rows read in this process are Responses already; a worker's are plain tuples.
        new: list[Response] = rows if not rows or type(rows[0]) is Response else list(map(Response._make, rows))  # type: ignore[assignment]
        if reset or not before or entry is None:
            after, found = new, problems
        else:
            after = list(before)
            where = {(row.message_id, row.request_id): index for index, row in enumerate(after)}
            for row in new:
                index = where.get((row.message_id, row.request_id))
                if index is None:
                    where[(row.message_id, row.request_id)] = len(after)
                    after.append(row)
                elif row.tokens > after[index].tokens:
                    after[index] = row
            found = entry.problems + problems
        self._rows[path] = after
        self.entries[path] = FileEntry(
            mark, file.project, file.session, file.subagent, found[:MAX_PROBLEMS_PER_FILE], file.agent_type
        )
        self._dirty.add(_shard_name(path))
        return FileChange(file, before, after, reset or before is None)

    def forget(self, path: str) -> FileChange | None:
        entry = self.entries.pop(path, None)
        if entry is None:
            return None
        before = self._rows.pop(path, None) if self._rows is not None else None
        self._dirty.add(_shard_name(path))
        return FileChange(entry.file(path), before, None, True)

    def save(self) -> None:
        """Write the changed shards, then the manifest (a new generation)."""
        assert self._rows is not None or not self._dirty
        self.directory.mkdir(parents=True, exist_ok=True)
        self.generation = secrets.token_hex(8)
        by_shard: dict[str, dict[str, list[Response]]] = {name: {} for name in self._dirty}
        for path, rows in (self._rows or {}).items():
            name = _shard_name(path)
            if name in by_shard:
                by_shard[name][path] = rows
        for name, files in sorted(by_shard.items()):
            shard_path = self.directory / f"rows-{name}.json"
            if files:
                _write(shard_path, _ENCODER.encode(_Shard(rows_version(), self.generation, files)))
                self._shard_generations[name] = self.generation
            else:
                self._shard_generations.pop(name, None)
                shard_path.unlink(missing_ok=True)
        self._dirty.clear()
        manifest = _Manifest(
            rows_version(), self.generation, dict(sorted(self.entries.items())), self._shard_generations
        )
        _write(self.manifest_path, _ENCODER.encode(manifest))
        for stale in self.directory.glob("rows-*.json"):
            if stale.name[5:-5] not in self._shard_generations:
                stale.unlink(missing_ok=True)


def load_tally(
    directory: Path, generation: str, basis: str, attribution: Attribution, prices: PriceTable, tier_of: TierOf
) -> RunningTally | None:
    """The running tally saved for rows of ``generation`` on ``basis``; None when there is none,
    it is of other rows or another basis, or it does not load."""
    try:
        saved = _TALLY.decode((directory / "tally.json").read_bytes())
    except (OSError, msgspec.DecodeError, RecursionError):
        return None
    if saved.version != tally_version() or saved.generation != generation or saved.basis != basis:
        return None
    cells = {cell.key: cell.sums for cell in saved.cells}
    sessions = {
        session: SessionSums(
            data.requests,
            list(data.first),
            list(data.last),
            {model: list(place) for model, place in data.models.items()},
            {model: list(place) for model, place in data.main.items()},
            {project: list(place) for project, place in data.projects.items()},
        )
        for session, data in saved.sessions.items()
    }
    return RunningTally(attribution, prices, tier_of, cells, sessions)


def save_tally(directory: Path, generation: str, basis: str, running: RunningTally) -> None:
    sessions = {
        session: _Session(
            sums.requests,
            (sums.first[0], sums.first[1]),
            (sums.last[0], sums.last[1]),
            {model: tuple(place) for model, place in sums.models.items()},
            {model: tuple(place) for model, place in sums.main.items()},
            {project: tuple(place) for project, place in sums.projects.items()},
        )
        for session, sums in running.sessions.items()
    }
    cells = [_Cell(key, sums) for key, sums in running.cells.items()]
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "tally.json", _ENCODER.encode(_Tally(tally_version(), generation, basis, cells, sessions)))
