"""Reading transcripts incrementally: only what is new since the last read.

Per file we keep offset, size, inode and a checksum of the bytes before the offset (in
``cloisterctl.cost.usage_cache``), with the responses parsed so far. A rerun with nothing new only
stats files; an appended file is read from its offset; a truncated or replaced file is re-read; a
half-written last line is left for next time; a file no longer listed is forgotten. Big scans run
in worker processes. Each run says what it changed, file by file (``Ingested.changes``), so that
the tally can follow (``cloisterctl.cost.running_tally``).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cloisterctl.cost.dedup import merge_responses
from cloisterctl.cost.running_tally import FileChange
from cloisterctl.cost.transcripts.parse import parse_line, parse_lines
from cloisterctl.cost.transcripts.workers import share
from cloisterctl.cost.usage import FileMark, Response, TranscriptFile
from cloisterctl.cost.usage_cache import FileEntry, UsageStore
from cloisterctl.files.locking import locked

# A scan reading at least this many new bytes shows a progress bar (when on a terminal).
PROGRESS_MIN_BYTES = 48 * 1024 * 1024
# ... and is spread over worker processes when there is more than one CPU.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# ... a worker taking batches of about this many bytes at a time.
BATCH_BYTES = 4 * 1024 * 1024
# Bytes before the offset whose checksum tells an appended file from a rewritten one.
CHECK_BYTES = 64


@dataclass
class _Job:
    path: str
    mark: FileMark | None


@dataclass
class _JobResult:
    path: str
    mark: FileMark | None  # None: the file could not be read (``error`` says why)
    reset: bool
    rows: list[tuple[Any, ...]]  # one per response key: Responses, or plain tuples from a worker
    problems: list[str]
    read: int
    error: str | None = None


def _read_new(job: _Job) -> _JobResult:
    """Read what was appended to one file since ``job.mark`` (all of it when the file is new,
    shorter, another inode, or changed before the mark)."""
    try:
        with open(job.path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            mark = job.mark
            reset = mark is None or stat.st_ino != mark.ino or stat.st_dev != mark.dev or stat.st_size < mark.offset
            lead = b""
            if mark is not None and not reset and mark.offset:
                back = min(CHECK_BYTES, mark.offset)
                handle.seek(mark.offset - back)
                lead = handle.read(back)
                reset = zlib.crc32(lead) != mark.check
            if mark is None or reset:
                handle.seek(0)
                offset, lead = 0, b""
            else:
                offset = mark.offset
            data = handle.read(max(0, stat.st_size - offset))
            whole = data.rfind(b"\n") + 1
            chunk = parse_lines(data, offset, end=whole)
            if chunk.bad_lines:
                # Rare, so lines are counted only now (counting every read costs more than parsing).
                handle.seek(0)
                before = handle.read(offset).count(b"\n") + 1
                numbers = [before + data.count(b"\n", 0, at) for at, _what in chunk.bad_lines]
                chunk.problems = [
                    f"line {number}: {what} (skipped)"
                    for number, (_at, what) in zip(numbers, chunk.bad_lines, strict=True)
                ]
    except OSError as exc:
        return _JobResult(job.path, None, True, [], [], 0, f"cannot read: {exc.strerror}")
    tail = data[whole:]
    if tail.strip():
        # A last line without its newline is being written, or its writer died: count it when it
        # is complete JSON, but read it again next time (its key makes the second count harmless).
        try:
            response = parse_line(tail, offset + whole)
        except (ValueError, RecursionError):
            response = None
        if response is not None:
            chunk.responses.append(response)
    check = lead + data[max(0, whole - CHECK_BYTES) : whole]
    new_mark = FileMark(
        stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, offset + whole, zlib.crc32(check[-CHECK_BYTES:])
    )
    responses: dict[tuple[str, str], Response] = {}
    merge_responses(responses, chunk.responses)
    return _JobResult(job.path, new_mark, reset, list(responses.values()), chunk.problems, len(data))


ProgressFactory = Callable[[int], AbstractContextManager[Callable[[int], None]]]


def _no_progress(_total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _n: None)


def _batches(jobs: Sequence[tuple[_Job, int]]) -> list[list[tuple[_Job, int]]]:
    """The jobs, largest first, in batches of about ``BATCH_BYTES`` (a file more is one alone)."""
    batches: list[list[tuple[_Job, int]]] = []
    load = BATCH_BYTES
    for job, size in sorted(jobs, key=lambda item: -item[1]):
        if load >= BATCH_BYTES:
            batches.append([])
            load = 0
        batches[-1].append((job, size))
        load += size + 4096  # 4 KiB stands for a file's fixed cost
    return batches


def _read_batch(batch: list[tuple[_Job, int]]) -> list[_JobResult]:
    """The reads of a worker process. Its rows go back as plain tuples: they cross from one
    process to another several times faster than named tuples."""
    results = [_read_new(job) for job, _size in batch]
    for result in results:
        result.rows = [tuple(row) for row in result.rows]
    return results


def _run_jobs(jobs: Sequence[tuple[_Job, int]], progress: ProgressFactory | None) -> Iterator[_JobResult]:
    """Run the reads (job, bytes to read), shared with worker processes when there is a lot to
    read and more than one CPU."""
    total = sum(size for _job, size in jobs)
    factory = progress if progress is not None and total >= PROGRESS_MIN_BYTES else _no_progress
    with factory(total) as advance:
        workers = min(os.cpu_count() or 1, 4, len(jobs))
        results: Iterable[_JobResult] = (_read_new(job) for job, _size in jobs)
        if total >= PARALLEL_MIN_BYTES and workers > 1 and hasattr(os, "fork"):
            results = share(_batches(jobs), lambda job: _read_new(job[0]), _read_batch, workers - 1)
        for result in results:
            advance(result.read)
            yield result


@dataclass
class Ingested:
    """What an incremental read of a set of transcripts found, and what it changed."""

    files: list[TranscriptFile]  # the readable ones, in path order
    bytes_read: int
    problems: list[str]  # files that could not be read
    store: UsageStore
    changes: list[FileChange]  # what this run did to each file's rows
    previous: str  # the generation of the cache before this run ("": none, or rebuilt)

    @property
    def generation(self) -> str:
        """Changes whenever anything held changes (``UsageStore.generation``)."""
        return self.store.generation

    def file_problems(self) -> list[str]:
        """Every unreadable line of every file, as "path: line N: what (skipped)"."""
        entries = self.store.entries
        return [f"{file.path}: {problem}" for file in self.files for problem in entries[file.key].problems]

    def held(self) -> dict[str, tuple[TranscriptFile, list[Response]]]:
        """Every file with its rows, in path order (loads the rows)."""
        if not self.store.load_rows():
            raise RuntimeError(f"{self.store.directory}: the transcript cache changed under its lock")
        found: dict[str, tuple[TranscriptFile, list[Response]]] = {}
        for file in self.files:
            rows = self.store.rows(file.key)
            if rows is not None:
                found[file.key] = (file, rows)
        return found


def _unchanged(mark: FileMark | None, stat: os.stat_result) -> bool:
    return (
        mark is not None
        and mark.ino == stat.st_ino
        and mark.dev == stat.st_dev
        and mark.size == stat.st_size
        and mark.mtime_ns == stat.st_mtime_ns
    )


def agent_type(path: Path) -> str | None:
    """``agentType`` of a subagent transcript's ``agent-*.meta.json`` (Claude Code writes it when
    the subagent starts); None when there is none or it does not say."""
    try:
        data = json.loads(path.with_name(path.name.removesuffix(".jsonl") + ".meta.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    found = data.get("agentType") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


def _typed(file: TranscriptFile, entry: FileEntry | None) -> TranscriptFile:
    """A subagent file with its type: the one the cache holds for it, or for a file not read
    before, the one its metadata says now."""
    if not file.subagent:
        return file
    found = entry.agent_type if entry is not None else agent_type(file.path)
    return file if found == file.agent_type else replace(file, agent_type=found)


def _retype(store: UsageStore, jobs: Sequence[tuple[_Job, int]], listed: dict[str, TranscriptFile]) -> None:
    """A subagent file with no type yet and no responses counted yet gets one when its metadata has
    appeared since: Claude Code writes the two files at once, and the tally's cells are keyed by
    the type, so it is fixed for good only with the file's first response."""
    for job, _size in jobs:
        file = listed[job.path]
        if file.subagent and file.agent_type is None and not store.rows(job.path):
            found = agent_type(file.path)
            if found is not None:
                listed[job.path] = replace(file, agent_type=found)


def _plan(
    store: UsageStore, files: Sequence[TranscriptFile]
) -> tuple[list[tuple[_Job, int]], dict[str, TranscriptFile]]:
    """The reads to do (job, bytes to read), and the files that exist (with their subagent types)."""
    jobs: list[tuple[_Job, int]] = []
    listed: dict[str, TranscriptFile] = {}
    entries = store.entries
    for file in files:
        try:
            stat = os.stat(file.path)
        except OSError:
            continue
        entry = entries.get(file.key)
        listed[file.key] = _typed(file, entry)
        mark = entry.mark if entry is not None else None
        if not _unchanged(mark, stat):
            kept = mark.offset if mark is not None and stat.st_size >= mark.offset else 0
            jobs.append((_Job(file.key, mark), stat.st_size - kept))
    return jobs, listed


def ingest(
    cache_dir: Path,
    files: Sequence[TranscriptFile],
    *,
    progress: ProgressFactory | None = None,
    timeout: float | None = None,
    start_over: bool = False,
    store: UsageStore | None = None,
    on_read: Callable[[TranscriptFile, Sequence[Response]], None] | None = None,
) -> Ingested:
    """Bring the cache in ``cache_dir`` up to date with ``files``, reading only what is new
    (everything with ``start_over``). Cached files not in ``files`` (or gone) are forgotten.
    ``store``: the cache, when the caller has loaded it already; ``on_read`` is called with each
    file read and its rows, as the reads come in.

    Holds ``cache_dir/usage.lock`` rather than the ledger lock, so a long first scan never makes
    a git hook wait."""
    with locked(cache_dir / "usage.lock", timeout, what="the transcript cache"):
        store = UsageStore(cache_dir) if store is None else store
        if start_over:
            store.reset()
        previous = store.generation
        jobs, listed = _plan(store, files)
        gone = [path for path in store.entries if path not in listed]
        bytes_read = 0
        problems: list[str] = []
        changes: list[FileChange] = []
        if jobs or gone:
            if not store.load_rows():  # torn or foreign: read everything again
                store.reset()
                previous = ""
                jobs, listed = _plan(store, files)
                gone = []
            _retype(store, jobs, listed)
            for path in gone:
                change = store.forget(path)
                if change is not None:
                    changes.append(change)
            for result in _run_jobs(jobs, progress):
                bytes_read += result.read
                if result.mark is None:
                    problems.append(f"{result.path}: {result.error}")
                    listed.pop(result.path, None)
                    change = store.forget(result.path)
                else:
                    change = store.update(
                        listed[result.path], result.mark, result.rows, result.problems, reset=result.reset
                    )
                    if on_read is not None and change.after is not None:
                        on_read(change.file, change.after)
                if change is not None:
                    changes.append(change)
            store.save()
        present = [listed[file.key] for file in files if file.key in store.entries and file.key in listed]
        return Ingested(present, bytes_read, problems, store, changes, previous)
