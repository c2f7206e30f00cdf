"""Committed checkpoints: the folded state through the ledger's closed segments, so that a refold
(after a merge, a checkout, a fresh clone) reads only the current month.

A checkpoint lives in ``.cloister/ledger/checkpoints/<through>-<digest>.json``: a header line (what
it covers), then the checkpoint itself, so that telling whether it still holds reads one line. It
records the SHA-256 of every file it covers: the single-file ledger of an earlier version, if any, and every
monthly segment before the current month. It is used only while every one of those files still has
that hash, so a merge that adds lines to an old month is noticed and the fold starts over (then
tick writes a new checkpoint and removes the stale one). Its name carries its content's digest and
its content is deterministic (the same events give the same bytes), so two clones that write the
checkpoint of the same files write the same file, and a merge of them never conflicts.

Its version is the digest of the code that folds (``ledger.fold_version``). A checkpoint of another
version is ignored and the state refolded from the segments; it is not removed while it may serve
a clone that runs that other code (a teammate on another release), only once a checkpoint through
a later month replaces it (each version writes its own checkpoint of the closed months, so none
removes what another still uses, and old ones do not pile up).

Like every cache, a checkpoint is data: decoded into the state's exact types, never code.

A committed checkpoint comes from whoever pushed it, so it is believed only once verified: a
machine-local record (``checkpoints-verified.json`` under ``Workspace.cache_dir``, outside the work
tree) holds the SHA-256 of every checkpoint file this machine wrote or checked, and whether it held.
A checkpoint not in it is checked once by refolding the files it covers (the caller's ``refold``)
and comparing the bytes it would write; one that disagrees (a forged state with valid segment
hashes) is reported, naming the file, and never used: the fold starts from the segments, and tick
replaces it. A header that lists a file that is not one of this ledger's files (``/etc/passwd``,
``../x``) is reported and ignored. Checkpoints are written with no symlink followed
(``_write_no_follow``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloisterctl.errors import UnsafeFileError
from cloisterctl.files import safeopen
from cloisterctl.files.atomic import atomic_write_bytes
from cloisterctl.ledger import identity
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.fold_version import fold_version
from cloisterctl.workspace.layout import Workspace

HASHES_FILE = "ledger-hashes.json"
HEADER_CAP = 1 << 20  # a header longer than this is not one of ours
VERIFIED_FILE = "checkpoints-verified.json"  # SHA-256 of a checkpoint file -> whether it held


@dataclass
class Header:
    """What is needed to tell whether a checkpoint still holds (the state itself is not decoded)."""

    version: int | str  # fold_version() of the code that wrote it (an int: written before it was a digest)
    through: str  # the last month it covers (YYYY-MM)
    files: dict[str, str]  # path relative to the workspace -> SHA-256
    last: tuple[str, str]  # (ts, id) of the last event it folded
    agent: str  # who folded (``ledger.identity.key``: the agent, clone and worktree the fold started from)


@dataclass
class Checkpoint:
    version: str
    through: str
    files: dict[str, str]
    last: tuple[str, str]
    agent: str
    state: WorkspaceState
    problems: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


def relative(ws: Workspace, path: Path) -> str:
    return path.relative_to(ws.root).as_posix()


def closed_files(ws: Workspace, current_month: str) -> list[Path]:
    """The files a checkpoint may cover now: the legacy ledger and every segment before this month."""
    return [path for path in ws.ledger_files() if path == ws.ledger_path or path.name[:7] < current_month]


def file_hashes(ws: Workspace, paths: list[Path]) -> dict[str, str]:
    """SHA-256 of each file, remembered machine-locally by (device, inode, size, mtime), so that
    unchanged segments (a merge rewrites only the ones it changed) are not read again."""
    import msgspec

    store = ws.cache_dir / HASHES_FILE
    try:
        known: dict[str, list[object]] = msgspec.json.decode(store.read_bytes(), type=dict[str, list[object]])
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        known = {}
    found: dict[str, str] = {}
    changed = False
    for path in paths:
        stat = path.stat()
        key = [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]
        name = relative(ws, path)
        entry = known.get(name)
        if entry is not None and entry[:4] == key and isinstance(entry[4], str):
            found[name] = entry[4]
            continue
        digest = hashlib.sha256()
        try:
            with safeopen.open_binary(path) as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except UnsafeFileError:
            found[name] = "refused"  # a symlink or special file: no checkpoint covering it is valid
            continue
        found[name] = digest.hexdigest()
        known[name] = [*key, found[name]]
        changed = True
    if changed and ws.is_initialised:
        try:
            atomic_write_bytes(store, msgspec.json.encode(known))
        except OSError:
            pass  # only a slower next refold
    return found


def _headers(ws: Workspace) -> list[tuple[Path, Header]]:
    """The checkpoints of every version, newest month first."""
    import msgspec

    try:
        paths = sorted(ws.checkpoints_dir.glob("*.json"), reverse=True)  # newest month first
    except OSError:
        return []
    found = []
    for path in paths:
        if path.is_symlink() or not path.is_file():
            continue  # a checkpoint is a regular file written here or committed as one
        try:
            with safeopen.open_binary(path) as handle:
                first = handle.readline(HEADER_CAP)  # the header line: the state that follows is not read
            found.append((path, msgspec.json.decode(first, type=Header)))
        except (OSError, UnsafeFileError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue  # not one of ours, or broken: ignored (tick replaces it)
    return found


def _usable(ws: Workspace) -> list[tuple[Path, Header]]:
    """The checkpoints this code may use: those of its own version."""
    version = fold_version()
    return [(path, header) for path, header in _headers(ws) if header.version == version]


def _verdicts(ws: Workspace) -> dict[str, bool]:
    import msgspec

    try:
        return msgspec.json.decode((ws.cache_dir / VERIFIED_FILE).read_bytes(), type=dict[str, bool])
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return {}


def _remember(ws: Workspace, digest: str, held: bool) -> None:
    """Record machine-locally that the checkpoint file of ``digest`` held (or did not)."""
    import msgspec

    verdicts = _verdicts(ws)
    verdicts[digest] = held
    try:
        atomic_write_bytes(ws.cache_dir / VERIFIED_FILE, msgspec.json.encode(verdicts))
    except OSError:
        pass  # only a second verification next time


def _foreign(ws: Workspace, header: Header) -> str | None:
    """A file the header lists that is not one of this ledger's files, or None."""
    ours = {relative(ws, path) for path in ws.ledger_files()}
    return next((name for name in header.files if name not in ours), None)


Refold = Callable[[Header], "Checkpoint"]


@dataclass
class Loaded:
    """The newest checkpoint believed (or None), and what was wrong with the others."""

    checkpoint: Checkpoint | None
    problems: list[str] = field(default_factory=list)


def load_valid(ws: Workspace, refold: Refold) -> Loaded:
    """The newest checkpoint whose every covered file still has the hash it recorded, and that
    this machine wrote or verified (verified now, with ``refold``, when it has not yet)."""
    import msgspec

    loaded = Loaded(None)
    verdicts = _verdicts(ws)
    for path, header in _usable(ws):
        label = relative(ws, path)
        foreign = _foreign(ws, header)
        if foreign is not None:  # whoever it claims to be from: a header no honest writer makes
            loaded.problems.append(f"{label}: lists {foreign[:80]!r}, not a file of this ledger (ignored)")
            continue
        if header.agent != identity.key(ws):
            continue  # another place's (agent, clone, worktree): only its own writer reads it
        files = [ws.root / name for name in header.files]
        if not all(file.is_file() for file in files) or file_hashes(ws, files) != header.files:
            continue
        try:
            data = safeopen.read_capped(path, safeopen.JSON_CAP)
            checkpoint = msgspec.json.decode(data.split(b"\n", 1)[1], type=Checkpoint)
        except (OSError, UnsafeFileError, IndexError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
        digest = hashlib.sha256(data).hexdigest()
        held = verdicts.get(digest)
        if held is None:
            held = encode(refold(header)) == data
            _remember(ws, digest, held)
        if not held:
            loaded.problems.append(
                f"{label}: does not match a refold of the segments it covers (ignored; tick replaces it)"
            )
            continue
        loaded.checkpoint = checkpoint
        return loaded
    return loaded


def current(ws: Workspace, current_month: str) -> tuple[list[Path], bool]:
    """The files a checkpoint should cover now, and whether one that covers exactly them is valid
    and was written or verified here (told from the headers and the local record: the states
    themselves are not decoded)."""
    wanted = closed_files(ws, current_month)
    names = {relative(ws, path) for path in wanted}
    verdicts = _verdicts(ws)
    for path, header in _usable(ws):
        if header.agent == identity.key(ws) and set(header.files) == names and file_hashes(ws, wanted) == header.files:
            try:  # remembered by (device, inode, size, mtime) like the segments': not read every tick
                digest = file_hashes(ws, [path])[relative(ws, path)]
            except OSError:
                continue
            if verdicts.get(digest):
                return wanted, True
    return wanted, False


def encode(checkpoint: Checkpoint) -> bytes:
    """The bytes of a checkpoint file: deterministic, the same events give the same bytes."""
    import dataclasses

    import msgspec

    state = dataclasses.replace(checkpoint.state, cold_state=checkpoint.state.cold, cold_loader=None)
    header = Header(checkpoint.version, checkpoint.through, checkpoint.files, checkpoint.last, checkpoint.agent)
    return (
        msgspec.json.encode(header, order="deterministic")
        + b"\n"
        + msgspec.json.encode(dataclasses.replace(checkpoint, state=state), order="deterministic")
    )


def write(ws: Workspace, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` (deterministic bytes, named by their digest), record it as this
    machine's own, and remove the others of this work tree's agent that it replaces: those of its
    version, and those of any version through an earlier month. (Another clone's, under another
    name, are left to it.)"""
    data = encode(checkpoint)
    digest = hashlib.sha256(data).hexdigest()
    name = f"{checkpoint.through}-{digest[:12]}.json"
    target = ws.checkpoints_dir / name
    if not target.is_file() or target.is_symlink() or target.read_bytes() != data:
        _write_no_follow(ws, target, data)
    _remember(ws, digest, True)
    for other, header in _headers(ws):
        replaced = header.version == checkpoint.version or header.through < checkpoint.through
        if other != target and header.agent == checkpoint.agent and replaced:
            try:
                os.unlink(other)
            except OSError:
                pass
    return target


def _write_no_follow(ws: Workspace, target: Path, data: bytes) -> None:
    """Write ``target`` atomically, refusing a ``checkpoints`` directory (or any directory up to
    the work tree) that is a symlink: a committed symlink must not carry the write out of the
    clone; a symlink at ``target`` itself is replaced by the file, not written through.
    TODO(files helper): use the shared no-symlink writer from ``files/`` once it lands."""
    from cloisterctl.errors import LedgerError

    directory = target.parent
    for part in (directory, directory.parent, directory.parent.parent):
        if part.is_symlink():
            raise LedgerError(f"{relative(ws, part)}: is a symlink; not writing a checkpoint through it")
    directory.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()  # the rename below would otherwise be made through it (files.atomic)
    atomic_write_bytes(target, data)
