"""Claude Code transcripts: where they are, what each API response used, and reading them incrementally.

Claude Code writes ``<config>/projects/<project dir>/<session>.jsonl`` (and
``<session>/subagents/agent-*.jsonl`` for subagents), where the config dirs are ``CLAUDE_CONFIG_DIR``
(comma-separated) or ``~/.config/claude`` and ``~/.claude``. One API response is written as several
lines sharing ``message.id`` + ``requestId``; :func:`deduplicate` counts each response once.

Reading is incremental: per file we keep offset, size, inode and a checksum of the bytes before the
offset under ``.cloister/local/usage/``, with the responses parsed so far. A rerun with nothing new
only stats files; an appended file is read from its offset; a truncated or replaced file is re-read;
a half-written last line is left for next time.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import json.scanner
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cloisterctl.errors import CloisterError
from cloisterctl.fsio import atomic_write_bytes
from cloisterctl.ledger import format_ts, parse_ts
from cloisterctl.locking import locked

CACHE_VERSION = 1
# Names longer than this are cut and suffixed with a hash (Claude Code's rule).
MAX_PROJECT_NAME = 200
# A scan reading at least this many new bytes shows a progress bar (when on a terminal).
PROGRESS_MIN_BYTES = 48 * 1024 * 1024
# ... and is spread over worker processes when there is more than one CPU.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# Bytes before the offset whose checksum tells an appended file from a rewritten one.
CHECK_BYTES = 64
# Per file, at most this many unreadable lines are reported.
MAX_PROBLEMS_PER_FILE = 20

SYNTHETIC_MODEL = "<synthetic>"


class UsageError(CloisterError):
    """A transcript or usage file cannot be read or understood."""


class MalformedLine(ValueError):
    """A transcript line is JSON but its usage cannot be read (the message says why)."""


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


# --------------------------------------------------------------------------------------------
# Where transcripts are
# --------------------------------------------------------------------------------------------


def claude_config_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Claude Code's config dirs: ``CLAUDE_CONFIG_DIR`` (comma-separated) when set, else
    ``$XDG_CONFIG_HOME/claude`` (``~/.config/claude``) and ``~/.claude``. Duplicates (one dir reached
    by two names) are listed once."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    listed = env.get("CLAUDE_CONFIG_DIR", "")
    if listed.strip():
        candidates = [Path(os.path.expanduser(part.strip())) for part in listed.split(",") if part.strip()]
    else:
        xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
        candidates = [Path(xdg) / "claude", home / ".claude"]
    seen: set[Path] = set()
    dirs: list[Path] = []
    for candidate in candidates:
        key = candidate.resolve() if candidate.exists() else candidate
        if key not in seen:
            seen.add(key)
            dirs.append(candidate)
    return dirs


def _js_hash(text: str) -> int:
    """JavaScript's ``h = (h * 31 + charCode) | 0`` over UTF-16 code units, as a signed 32-bit int."""
    value = 0
    units = text.encode("utf-16-le")
    for index in range(0, len(units), 2):
        value = (value * 31 + (units[index] | units[index + 1] << 8)) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def project_dir_name(path: str | os.PathLike[str]) -> str:
    """The directory Claude Code keeps the transcripts of an agent started in ``path`` in.

    Every character that is not an ASCII letter or digit becomes ``-`` (no collapsing; JavaScript
    replaces per UTF-16 code unit, so a character outside the BMP becomes ``--``). A name longer
    than 200 characters is cut to 200 and suffixed with ``-`` and the base-36 absolute value of the
    JavaScript string hash of the original path.
    """
    text = os.fspath(path)
    name = re.sub(r"[^A-Za-z0-9]", lambda m: "-" * (2 if ord(m.group()) > 0xFFFF else 1), text)
    if len(name) <= MAX_PROJECT_NAME:
        return name
    return f"{name[:MAX_PROJECT_NAME]}-{_base36(abs(_js_hash(text)))}"


@dataclass(frozen=True)
class TranscriptFile:
    path: Path
    project: str  # the project dir name
    session: str  # the session id: the file's stem, or the session dir of a subagent file
    subagent: bool

    @property
    def key(self) -> str:
        return str(self.path)


def discover(config_dirs: Iterable[Path], projects: Iterable[str] | None = None) -> list[TranscriptFile]:
    """Every transcript under ``<config>/projects/<project>/`` for the given project dir names (all
    projects when None): ``<session>.jsonl`` and ``<session>/subagents/agent-*.jsonl``. Sorted by
    path, which is the order ties are broken in when one response appears in two files."""
    wanted = None if projects is None else set(projects)
    found: list[TranscriptFile] = []
    for config_dir in config_dirs:
        root = config_dir / "projects"
        if wanted is None:
            try:
                names = [entry.name for entry in os.scandir(root) if entry.is_dir()]
            except OSError:
                continue
        else:
            names = [name for name in wanted if (root / name).is_dir()]
        for name in names:
            found += _project_files(root / name, name)
    found.sort(key=lambda f: f.key)
    return found


def files_for_session(main: Path) -> list[TranscriptFile]:
    """The transcript ``<project>/<session>.jsonl`` (when it exists) and its subagents' files."""
    project, session = main.parent.name, main.name.removesuffix(".jsonl")
    files = [TranscriptFile(main, project, session, False)] if main.is_file() else []
    try:
        agents = list(os.scandir(main.parent / session / "subagents"))
    except OSError:
        return files
    for agent in agents:
        if agent.name.startswith("agent-") and agent.name.endswith(".jsonl") and agent.is_file():
            files.append(TranscriptFile(Path(agent.path), project, session, True))
    return files


def _project_files(project_dir: Path, project: str) -> list[TranscriptFile]:
    files: list[TranscriptFile] = []
    try:
        entries = list(os.scandir(project_dir))
    except OSError:
        return files
    for entry in entries:
        if entry.name.endswith(".jsonl") and entry.is_file():
            files.append(TranscriptFile(Path(entry.path), project, entry.name[: -len(".jsonl")], False))
        elif entry.is_dir():
            try:
                agents = list(os.scandir(os.path.join(entry.path, "subagents")))
            except OSError:
                continue
            for agent in agents:
                if agent.name.startswith("agent-") and agent.name.endswith(".jsonl") and agent.is_file():
                    files.append(TranscriptFile(Path(agent.path), project, entry.name, True))
    return files


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

# The C scanner itself: json.loads adds a Python-level layer that costs more than the parse here.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_USAGE = b'"usage":'  # compact or not; a colon ends the needle, which makes the search faster
_MESSAGE = b'"message":{'
_CONTENT = b'"content":['
_STOP = b'],"stop_reason"'
_USER = b'"type":"user"'


def _loads(raw: bytes) -> Any:
    text = raw.decode("utf-8")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("no JSON value") from None
    if end != len(text) and text[end:].strip():
        raise ValueError("extra data after the JSON value")
    return value


def _with_head(data: bytes, start: int, message: int, tail: dict[str, Any]) -> Any:
    """``tail`` (the line from ``"message"`` on) completed with the top-level keys written before
    ``"message"``; None when that part does not parse."""
    try:
        head = _loads(data[start:message] + b'"_":0}')
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(head, dict):
        return None
    head.update(tail)
    return head


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


_COUNT_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def response_of(obj: Any, offset: int) -> Response | None:
    """The usage of one parsed transcript line, or None when the line is not a billable response
    (not an assistant message, ``<synthetic>``, an API error). Raises MalformedLine for a broken one.
    ``offset`` (where the line starts in its file) identifies a response that has no id.

    Written for speed: it runs for every response line of every transcript."""
    if obj.__class__ is not dict:
        return None
    top = obj.get
    if top("type") != "assistant":
        return None
    message = top("message")
    if message.__class__ is not dict:
        return None
    usage = message.get("usage")
    if usage.__class__ is not dict:
        return None
    model = message.get("model")
    if model == SYNTHETIC_MODEL or top("isApiErrorMessage") is True:
        return None
    if model.__class__ is not str or not model:
        raise MalformedLine("message.model is missing")
    timestamp = top("timestamp")
    if timestamp.__class__ is not str:
        raise MalformedLine("timestamp is missing")
    get = usage.get
    fresh, output, read = get("input_tokens"), get("output_tokens"), get("cache_read_input_tokens") or 0
    written = get("cache_creation")
    write_1h: Any = 0
    if written.__class__ is dict:
        # The split by TTL is the authority when present; its sum is the cache-write total.
        write_5m: Any = written.get("ephemeral_5m_input_tokens") or 0
        write_1h = written.get("ephemeral_1h_input_tokens") or 0
        if not (write_5m or write_1h):
            write_5m = get("cache_creation_input_tokens") or 0
    else:
        write_5m = get("cache_creation_input_tokens") or 0
    if not (
        fresh.__class__ is int
        and output.__class__ is int
        and read.__class__ is int
        and write_5m.__class__ is int
        and write_1h.__class__ is int
        and fresh >= 0
        and output >= 0
        and read >= 0
        and write_5m >= 0
        and write_1h >= 0
    ):
        bad = next((key for key in _COUNT_KEYS if not (get(key) is None or type(get(key)) is int)), "cache_creation")
        raise MalformedLine(f"message.usage.{bad} is not a token count")
    message_id = message.get("id")
    request_id = top("requestId")
    if message_id.__class__ is not str or not message_id:
        # Without an id a line cannot be matched with its siblings: it counts on its own.
        message_id, request_id = "", f"@{offset}"
    if len(timestamp) == 24 and timestamp[23] == "Z" and timestamp[19] == ".":  # as Claude Code writes it
        timestamp = timestamp[:23] + "000Z"
    else:
        timestamp = normalise_ts(timestamp)
    return Response(
        message_id,
        request_id if request_id.__class__ is str else "",
        timestamp,
        model,
        fresh,
        output,
        write_5m,
        write_1h,
        read,
        top("isSidechain") is True,
        get("speed") == "fast",
    )


@dataclass
class Chunk:
    """What one read of a file found."""

    responses: list[Response] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (where the line starts in data, what)
    problems: list[str] = field(default_factory=list)  # "line N: what", once numbered


def parse_lines(data: bytes, base_offset: int = 0, end: int | None = None) -> Chunk:
    """Every response in ``data`` (whole lines). Only lines containing ``"usage":`` are parsed:
    tool-result lines, most of a transcript's bytes, are skipped with a byte search.

    ``base_offset`` is where ``data`` starts in its file; ``end`` stops the scan early. This is the
    hot loop of a scan, hence the inlining."""
    chunk = Chunk()
    responses = chunk.responses
    find, rfind, scan = data.find, data.rfind, _SCAN
    end = len(data) if end is None else end
    position = 0
    while True:
        hit = find(_USAGE, position, end)
        if hit < 0:
            break
        start = rfind(b"\n", 0, hit) + 1
        stop = find(b"\n", hit, end)
        if stop < 0:
            stop = end
        position = stop + 1
        obj: Any = None
        message = find(_MESSAGE, start, stop)
        if message >= 0:
            if find(_USER, start, message) >= 0:
                continue  # a user line (a subagent's tool result carries a usage of its own)
            # In the shape Claude Code writes, skip parsing message.content: it is most of an
            # assistant line and holds no usage. Anything unexpected parses the whole line.
            content = find(_CONTENT, message, stop)
            close = rfind(_STOP, content, stop) if content >= 0 else -1
            if close >= 0:
                try:
                    text = (b"{" + data[message : content + len(_CONTENT)] + data[close:stop]).decode()
                    obj, used = scan(text, 0)
                    if used != len(text):
                        obj = None
                except (ValueError, StopIteration, UnicodeDecodeError):
                    obj = None
                if obj is not None:
                    if "timestamp" in obj and "type" in obj:
                        head = data[start:message]
                        if b'"isSidechain":true' in head:
                            obj["isSidechain"] = True
                        if b'"isApiErrorMessage":true' in head:
                            obj["isApiErrorMessage"] = True
                    else:  # the top-level keys come before "message" in this line
                        obj = _with_head(data, start, message, obj)
        try:
            if obj is None:
                obj = _loads(data[start:stop])
            response = response_of(obj, base_offset + start)
        except (ValueError, UnicodeDecodeError) as exc:
            if len(chunk.bad_lines) < MAX_PROBLEMS_PER_FILE:
                chunk.bad_lines.append((start, str(exc) if isinstance(exc, MalformedLine) else "not valid JSON"))
            continue
        if response is not None:
            responses.append(response)
    return chunk


def merge_responses(into: dict[tuple[str, str], Response], responses: Iterable[Response]) -> None:
    """Add responses to ``into`` keyed by (message id, request id), keeping the line with the most
    tokens (the first of equals): a response's first line may be a streaming snapshot."""
    for response in responses:
        key = (response.message_id, response.request_id)
        current = into.get(key)
        if current is None or response.tokens > current.tokens:
            into[key] = response


def deduplicate(files: Sequence[tuple[TranscriptFile, Sequence[Response]]]) -> list[tuple[TranscriptFile, Response]]:
    """Count every API response once across files given in path order.

    Lines sharing (message id, request id) are one response; the one with the most tokens is kept,
    the first file (by path) winning ties. A sidechain line replays a parent message under a new
    request id: it is dropped when a non-sidechain response has the same message id, and among
    sidechain-only copies of one message the largest is kept. The result does not depend on the
    order lines were read in, and is in file and line order."""
    best: dict[tuple[str, str], tuple[int, int]] = {}
    sidechains = False
    for file_index, (_file, responses) in enumerate(files):
        for row_index, response in enumerate(responses):
            key = (response.message_id, response.request_id)
            place = best.get(key)
            if place is None:
                best[key] = (file_index, row_index)
            elif response.tokens > files[place[0]][1][place[1]].tokens:  # rare: a copy in another file
                best[key] = (file_index, row_index)
            sidechains = sidechains or response.sidechain
    dropped: set[tuple[int, int]] = set()
    if sidechains:
        main_messages: set[str] = set()
        sidechain_best: dict[str, tuple[int, int]] = {}
        for (message_id, _request), (f, r) in best.items():
            if not message_id:
                continue
            response = files[f][1][r]
            if not response.sidechain:
                main_messages.add(message_id)
                continue
            current = sidechain_best.get(message_id)
            if current is None:
                sidechain_best[message_id] = (f, r)
            else:
                other = files[current[0]][1][current[1]]
                if (response.tokens, -f, -r) > (other.tokens, -current[0], -current[1]):
                    dropped.add(current)
                    sidechain_best[message_id] = (f, r)
                else:
                    dropped.add((f, r))
        for message_id, place in sidechain_best.items():
            if message_id in main_messages:
                dropped.add(place)
    kept: list[tuple[TranscriptFile, Response]] = []
    for file_index, (file, responses) in enumerate(files):
        for row_index, response in enumerate(responses):
            place = (file_index, row_index)
            if best[(response.message_id, response.request_id)] == place and place not in dropped:
                kept.append((file, response))
    return kept


# --------------------------------------------------------------------------------------------
# Incremental reading
# --------------------------------------------------------------------------------------------


class FileMark(NamedTuple):
    """How far a file has been read, and what it looked like then."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int  # bytes of whole lines read
    check: int  # crc32 of the CHECK_BYTES before offset


@dataclass
class _Job:
    path: str
    mark: FileMark | None


@dataclass
class _JobResult:
    path: str
    mark: FileMark | None  # None: the file could not be read (``error`` says why)
    reset: bool
    # Plain tuples, one per response key: they cross from a worker process several times faster
    # than named tuples.
    rows: list[tuple[Any, ...]]
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
            response = response_of(_loads(tail), offset + whole)
        except (ValueError, UnicodeDecodeError):
            response = None
        if response is not None:
            chunk.responses.append(response)
    new_mark = FileMark(
        stat.st_dev,
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
        offset + whole,
        zlib.crc32((lead + data[:whole])[-CHECK_BYTES:]),
    )
    responses: dict[tuple[str, str], Response] = {}
    merge_responses(responses, chunk.responses)
    return _JobResult(job.path, new_mark, reset, [tuple(r) for r in responses.values()], chunk.problems, len(data))


ProgressFactory = Callable[[int], AbstractContextManager[Callable[[int], None]]]


def _no_progress(_total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _n: None)


def _batches(jobs: Sequence[tuple[_Job, int]], count: int) -> list[list[_Job]]:
    """The jobs packed into ``count`` batches of about the same number of bytes, largest first."""
    loads = [(0, index) for index in range(count)]
    batches: list[list[_Job]] = [[] for _ in range(count)]
    for job, size in sorted(jobs, key=lambda item: -item[1]):
        load, index = heapq.heappop(loads)
        batches[index].append(job)
        heapq.heappush(loads, (load + size + 4096, index))  # 4 KiB stands for a file's fixed cost
    return sorted((batch for batch in batches if batch), key=len)


def _read_batch(batch: list[_Job]) -> list[_JobResult]:
    return [_read_new(job) for job in batch]


def _run_jobs(jobs: Sequence[tuple[_Job, int]], progress: ProgressFactory | None) -> Iterator[_JobResult]:
    """Run the reads (job, bytes to read), in worker processes when there is a lot to read and
    more than one CPU."""
    total = sum(size for _job, size in jobs)
    factory = progress if progress is not None and total >= PROGRESS_MIN_BYTES else _no_progress
    with factory(total) as advance:
        workers = min(os.cpu_count() or 1, 4, len(jobs))
        if total >= PARALLEL_MIN_BYTES and workers > 1:
            import multiprocessing

            try:
                context = multiprocessing.get_context("fork")
            except ValueError:  # no fork on this platform: read in this process
                context = None
            if context is not None:
                # A few balanced batches per worker: files differ in size by orders of magnitude,
                # and one round trip per batch costs less than one per file.
                with context.Pool(workers) as pool:
                    for results in pool.imap_unordered(_read_batch, _batches(jobs, workers * 3)):
                        for result in results:
                            advance(result.read)
                            yield result
                return
        for job, _size in jobs:
            result = _read_new(job)
            advance(result.read)
            yield result


@dataclass
class FileUsage:
    """One transcript and the responses read from it so far."""

    file: TranscriptFile
    responses: list[Response]
    problems: list[str]


def _project_dir_of(path: str) -> str:
    parent = os.path.dirname(path)
    if os.path.basename(parent) == "subagents":
        return os.path.dirname(os.path.dirname(parent))
    return parent


def _shard_name(path: str) -> str:
    return hashlib.sha1(_project_dir_of(path).encode()).hexdigest()[:16]


def _dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, check_circular=False).encode("utf-8")


class UsageStore:
    """The cache under ``.cloister/local/usage/``: ``manifest.json`` (a mark per file) and one
    ``rows-*.json`` per project dir (the responses read so far). Written atomically; the caller
    holds the usage lock. An unreadable or old-format cache is simply rebuilt."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest_path = directory / "manifest.json"
        self.marks: dict[str, FileMark] = {}
        self._shards: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        try:
            data = json.loads(self.manifest_path.read_bytes())
            if data.get("version") == CACHE_VERSION:
                self.marks = {path: FileMark(*mark) for path, mark in data["files"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self.marks = {}

    def _shard(self, name: str) -> dict[str, Any]:
        shard = self._shards.get(name)
        if shard is None:
            try:
                data = json.loads((self.directory / f"rows-{name}.json").read_bytes())
                shard = data["files"] if data.get("version") == CACHE_VERSION else {}
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                shard = {}
            self._shards[name] = shard
        return shard

    def rows(self, path: str) -> tuple[list[Response], list[str]] | None:
        entry = self._shard(_shard_name(path)).get(path)
        if entry is None:
            return None
        rows = entry["rows"]
        # Rows read in this run are Responses already; rows loaded from JSON are lists.
        if rows and type(rows[0]) is not Response:
            rows = entry["rows"] = list(map(Response._make, rows))
        return rows, list(entry["problems"])

    def update(self, result: _JobResult) -> None:
        assert result.mark is not None
        name = _shard_name(result.path)
        shard = self._shard(name)
        entry = None if result.reset else shard.get(result.path)
        if entry is None or not entry["rows"]:
            # The worker already kept one row per key.
            rows = list(map(Response._make, result.rows))
            problems = result.problems[:MAX_PROBLEMS_PER_FILE]
        else:
            merged: dict[tuple[str, str], Response] = {}
            merge_responses(merged, map(Response._make, entry["rows"]))
            merge_responses(merged, map(Response._make, result.rows))
            rows = list(merged.values())
            problems = (list(entry["problems"]) + result.problems)[:MAX_PROBLEMS_PER_FILE]
        shard[result.path] = {"rows": rows, "problems": problems}
        self.marks[result.path] = result.mark
        self._dirty.add(name)

    def forget(self, path: str) -> None:
        self.marks.pop(path, None)
        name = _shard_name(path)
        if self._shard(name).pop(path, None) is not None:
            self._dirty.add(name)

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in sorted(self._dirty):
            payload = {"version": CACHE_VERSION, "files": self._shards[name]}
            atomic_write_bytes(self.directory / f"rows-{name}.json", _dump(payload))
        self._dirty.clear()
        manifest = {"version": CACHE_VERSION, "files": {path: list(mark) for path, mark in sorted(self.marks.items())}}
        atomic_write_bytes(self.manifest_path, _dump(manifest))


@dataclass
class Ingested:
    """A set of transcripts after an incremental read."""

    files: list[TranscriptFile]  # the readable ones, in path order
    marks: dict[str, FileMark]
    bytes_read: int
    changed: bool
    problems: list[str]  # files that could not be read
    store: UsageStore

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything read from these files may have changed."""
        digest = hashlib.sha256()
        for file in self.files:
            digest.update(f"{file.key}\0{tuple(self.marks[file.key])}\n".encode())
        return digest.hexdigest()

    def usage(self) -> list[FileUsage]:
        """Every file with its responses and problems, in path order (loads cached rows)."""
        found: list[FileUsage] = []
        for file in self.files:
            rows = self.store.rows(file.key)
            if rows is not None:
                found.append(FileUsage(file, *rows))
        return found


def _unchanged(mark: FileMark | None, stat: os.stat_result) -> bool:
    return (
        mark is not None
        and mark.ino == stat.st_ino
        and mark.dev == stat.st_dev
        and mark.size == stat.st_size
        and mark.mtime_ns == stat.st_mtime_ns
    )


def ingest(
    cache_dir: Path,
    files: Sequence[TranscriptFile],
    *,
    roots: Iterable[Path] = (),
    progress: ProgressFactory | None = None,
    timeout: float | None = None,
) -> Ingested:
    """Bring the cache in ``cache_dir`` up to date with ``files``, reading only what is new.

    ``roots`` are the directories that were listed: cached files under them that are gone are
    forgotten. Holds ``cache_dir/usage.lock`` rather than the ledger lock, so a long first scan
    never makes a git hook wait."""
    with locked(cache_dir / "usage.lock", timeout, what="the transcript cache"):
        store = UsageStore(cache_dir)
        jobs: list[tuple[_Job, int]] = []
        listed: set[str] = set()
        for file in files:
            try:
                stat = os.stat(file.path)
            except OSError:
                continue
            listed.add(file.key)
            mark = store.marks.get(file.key)
            if not _unchanged(mark, stat):
                kept = mark.offset if mark is not None and stat.st_size >= mark.offset else 0
                jobs.append((_Job(file.key, mark), stat.st_size - kept))
        prefixes = tuple(os.path.join(str(root), "") for root in roots)
        gone = [path for path in store.marks if path not in listed and prefixes and path.startswith(prefixes)]
        bytes_read = 0
        problems: list[str] = []
        if jobs or gone:
            for path in gone:
                store.forget(path)
            for result in _run_jobs(jobs, progress):
                bytes_read += result.read
                if result.mark is None:
                    problems.append(f"{result.path}: {result.error}")
                    store.forget(result.path)
                else:
                    store.update(result)
            store.save()
        present = [file for file in files if file.key in store.marks]
        return Ingested(present, dict(store.marks), bytes_read, bool(jobs or gone), problems, store)


# --------------------------------------------------------------------------------------------
# `claude -p --output-format json` results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelUse:
    """One model's tokens in a ``claude -p`` result's ``modelUsage``."""

    model: str
    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    reported_usd: float | None


@dataclass(frozen=True)
class ClaudeResult:
    session: str | None
    total_cost_usd: float | None
    models: list[ModelUse]


def _result_object(text: str, name: str) -> dict[str, Any]:
    """The ``"type": "result"`` object: the whole text (``--output-format json``) or its last such
    line (``stream-json``)."""
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and whole.get("type", "result") == "result":
        return whole
    if isinstance(whole, list):  # some versions print the whole conversation as one array
        candidates = [item for item in whole if isinstance(item, dict) and item.get("type") == "result"]
        if candidates:
            return candidates[-1]
    found: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines() if whole is None else [], start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise UsageError(f"{name}:{number}: not valid JSON") from None
        if isinstance(item, dict) and item.get("type") == "result":
            found = item
    if found is None:
        raise UsageError(f"{name}: no result object (expected the output of claude -p --output-format json)")
    return found


def _tokens(entry: Mapping[str, Any], key: str, name: str) -> int:
    value = entry.get(key, 0)
    if type(value) is not int or value < 0:
        raise UsageError(f"{name}: {key} is not a token count: {value!r}")
    return value


def parse_claude_result(text: str, name: str) -> ClaudeResult:
    """What a ``claude -p --output-format json`` (or ``stream-json``) run used, per model, from its
    result's ``modelUsage`` (the split of cache writes by TTL is taken from ``usage.cache_creation``
    when one model did all the work; otherwise writes count as 5-minute writes)."""
    result = _result_object(text, name)
    model_usage = result.get("modelUsage")
    if result.get("type") not in (None, "result") or not isinstance(model_usage, dict) or not model_usage:
        raise UsageError(f"{name}: no modelUsage in the result (expected claude -p --output-format json)")
    overall = result.get("usage")
    split: Any = overall.get("cache_creation") if isinstance(overall, dict) else None
    one_hour_total = split.get("ephemeral_1h_input_tokens") if isinstance(split, dict) else None
    models: list[ModelUse] = []
    for model, entry in model_usage.items():
        if not isinstance(entry, dict):
            raise UsageError(f"{name}: modelUsage.{model} is not an object")
        label = f"{name}: modelUsage.{model}"
        written = _tokens(entry, "cacheCreationInputTokens", label)
        one_hour = 0
        if len(model_usage) == 1 and type(one_hour_total) is int:
            one_hour = max(0, min(written, one_hour_total))
        reported = entry.get("costUSD")
        models.append(
            ModelUse(
                str(model),
                _tokens(entry, "inputTokens", label),
                _tokens(entry, "outputTokens", label),
                written - one_hour,
                one_hour,
                _tokens(entry, "cacheReadInputTokens", label),
                float(reported) if isinstance(reported, int | float) and not isinstance(reported, bool) else None,
            )
        )
    session = result.get("session_id")
    total = result.get("total_cost_usd")
    return ClaudeResult(
        session if isinstance(session, str) and session else None,
        float(total) if isinstance(total, int | float) and not isinstance(total, bool) else None,
        models,
    )
