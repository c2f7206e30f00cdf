"""Opening a workspace's files without following what a commit can plant: symlinks and special files.

A repository's files come from anyone who can push. A symlink committed as ``.cloister/ledger`` or
``STATE.md`` would send a read to ``/dev/zero`` (read forever) or another project, and a write out
of the clone. So every file is opened here:

- **No symlink below the work tree.** For a path inside ``.cloister/`` (``below`` left to
  ``AUTO``), or under an explicit ``below`` directory (STATE.md, ``.beads/issues.jsonl``: the work
  tree), each component from there on is opened with ``O_NOFOLLOW`` relative to its directory's
  descriptor (``dir_fd``), so neither the file nor a directory on the way may be a symlink. The
  path up to ``below`` (the work tree's own path, which may run through a symlink) is the user's.
  A path with no ``.cloister`` component and ``below=None`` (the user's own files) is opened as given.
- **Regular files only.** The opened descriptor must be a regular file (``fstat``), so a FIFO, a
  device or a directory is refused; reads open with ``O_NONBLOCK`` so opening a FIFO cannot hang.
- **Reads are bounded.** ``read_capped`` reads at most ``cap + 1`` bytes; a file over its cap is
  refused.

A refusal is an ``UnsafeFileError`` (a ``CloisterError``) naming the file and why, in one line;
a missing file is ``FileNotFoundError`` as usual. Only ``os``, ``stat`` and ``errno`` are imported:
the hooks append through this on every event.
"""

from __future__ import annotations

import errno
import os
import stat

from cloisterctl.errors import UnsafeFileError

TYPE_CHECKING = False  # not typing's: importing typing would cost the hooks' start-up
if TYPE_CHECKING:
    from typing import BinaryIO

CLOISTER_DIR = ".cloister"
AUTO = "auto"  # below: the work tree, when the path runs through .cloister/; else follow as usual

KIB = 1024
MIB = 1024 * KIB
# Caps per input: generous for real use, far from what fills memory.
CONFIG_CAP = 1 * MIB  # config.yaml, complexity.yaml (yamltext's own bound, too)
STATE_CAP = 8 * MIB  # STATE.md
JSON_CAP = 64 * MIB  # routing.history, checkpoints, local JSON files
LEDGER_CAP = 1024 * MIB  # one ledger segment, .beads/issues.jsonl

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def work_tree_of(path: str) -> str | None:
    """The directory holding the first ``.cloister`` component of ``path``, or None."""
    parts = os.path.abspath(path).split(os.sep)
    if CLOISTER_DIR not in parts:
        return None
    return os.sep.join(parts[: parts.index(CLOISTER_DIR)]) or os.sep


def _resolve_below(path: str, below: str | os.PathLike[str] | None) -> str | None:
    if below == AUTO:
        return work_tree_of(path)
    return None if below is None else os.fspath(below)


def _refuse(path: str, why: str) -> UnsafeFileError:
    return UnsafeFileError(path, f"{why}; not followed, nothing read or written through it")


def _is_symlink(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def open_fd(
    path: str | os.PathLike[str],
    flags: int,
    mode: int = 0o644,
    *,
    below: str | os.PathLike[str] | None = AUTO,
    make_dirs: bool = False,
) -> int:
    """``os.open`` of ``path`` with no symlink followed below ``below`` (see the module doc).

    With ``make_dirs``, missing directories below ``below`` are created (never through a symlink).
    The caller closes the descriptor."""
    name = os.fspath(path)
    base = _resolve_below(name, below)
    relative = os.path.relpath(os.path.abspath(name), os.path.abspath(base)) if base is not None else os.pardir
    if relative == os.curdir or relative.split(os.sep)[0] == os.pardir:
        # Nothing of a clone's on the way (the user's own files): opened as given.
        if make_dirs:
            os.makedirs(os.path.dirname(os.path.abspath(name)), exist_ok=True)
        return os.open(name, flags | _CLOEXEC, mode)
    assert base is not None
    parts = relative.split(os.sep)
    dir_fd = _walk(base, parts[:-1], name, make_dirs)
    try:
        try:
            return os.open(parts[-1], flags | _NOFOLLOW | _CLOEXEC, mode, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR) and _is_symlink(parts[-1], dir_fd):
                raise _refuse(name, "a symlink") from None
            raise OSError(exc.errno, exc.strerror, name) from None
    finally:
        os.close(dir_fd)


def open_parent(
    path: str | os.PathLike[str], *, below: str | os.PathLike[str] | None = AUTO, make_dirs: bool = False
) -> int | None:
    """A descriptor on the directory holding ``path``, reached with no symlink followed below
    ``below`` (missing directories created with ``make_dirs``); None when nothing of the path is
    below it (open it as usual). The caller closes the descriptor."""
    name = os.fspath(path)
    base = _resolve_below(name, below)
    if base is None:
        return None
    relative = os.path.relpath(os.path.abspath(name), os.path.abspath(base))
    if relative == os.curdir or relative.split(os.sep)[0] == os.pardir:
        return None
    return _walk(base, relative.split(os.sep)[:-1], name, make_dirs)


def refuse_special(name: str, dir_fd: int, shown: str) -> None:
    """Refuse ``name`` in ``dir_fd`` when it exists and is a symlink or not a regular file."""
    try:
        info = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(shown, "a symlink")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(shown, "not a regular file")


def _walk(base: str, parts: list[str], name: str, make_dirs: bool) -> int:
    if make_dirs:
        os.makedirs(base, exist_ok=True)
    dir_fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for index, part in enumerate(parts):
            inner = _enter(dir_fd, part, name, os.sep.join(parts[: index + 1]), make_dirs)
            os.close(dir_fd)
            dir_fd = inner
    except BaseException:
        os.close(dir_fd)
        raise
    return dir_fd


def _enter(dir_fd: int, part: str, name: str, shown: str, make_dirs: bool) -> int:
    """The descriptor of directory ``part`` inside ``dir_fd``, never a symlink."""
    flags = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
    try:
        try:
            return os.open(part, flags, dir_fd=dir_fd)
        except FileNotFoundError:
            if not make_dirs:
                raise
            try:
                os.mkdir(part, 0o777, dir_fd=dir_fd)
            except FileExistsError:
                pass
            return os.open(part, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_symlink(part, dir_fd):
            raise _refuse(name, f"{shown} is a symlink") from None
        raise OSError(exc.errno, exc.strerror, name) from None


def check_regular(fd: int, name: str) -> os.stat_result:
    """The descriptor's stat; refused unless it is a regular file."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise _refuse(name, kind)
    return info


def open_read(path: str | os.PathLike[str], *, below: str | os.PathLike[str] | None = AUTO) -> int:
    """A descriptor open for reading on a regular file (see the module doc); the caller closes it."""
    name = os.fspath(path)
    return _regular(open_fd(name, os.O_RDONLY | _NONBLOCK, below=below), name)


def _regular(fd: int, name: str) -> int:
    """``fd`` once it is known to be a regular file, made blocking again; closed and refused otherwise."""
    try:
        check_regular(fd, name)
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_binary(path: str | os.PathLike[str], *, below: str | os.PathLike[str] | None = AUTO) -> BinaryIO:
    """``open(path, "rb")`` on a regular file with no symlink followed below ``below``."""
    return os.fdopen(open_read(path, below=below), "rb")


def read_fd_capped(fd: int, name: str, cap: int, offset: int = 0) -> bytes:
    """At most ``cap`` bytes from ``offset`` of an open regular file; more is refused (one line)."""
    chunks: list[bytes] = []
    total = 0
    while total <= cap:
        chunk = os.pread(fd, min(cap + 1 - total, 4 * MIB), offset + total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > cap:
        raise UnsafeFileError(name, f"larger than {_size(cap)}; not read")
    return b"".join(chunks)


def read_capped(
    path: str | os.PathLike[str], cap: int, *, below: str | os.PathLike[str] | None = AUTO, offset: int = 0
) -> bytes:
    """The bytes of a regular file (from ``offset``), at most ``cap`` of them, with no symlink
    followed below ``below``. ``FileNotFoundError`` when it is missing; ``UnsafeFileError`` when it is
    a symlink, not a regular file, or larger than ``cap``."""
    name = os.fspath(path)
    fd = open_read(name, below=below)
    try:
        return read_fd_capped(fd, name, cap, offset)
    finally:
        os.close(fd)


def open_write(
    path: str | os.PathLike[str], flags: int, mode: int = 0o644, *, below: str | os.PathLike[str] | None = AUTO
) -> int:
    """A descriptor open for writing on a regular file, creating missing directories below
    ``below``; never through a symlink there (see the module doc). The caller closes it."""
    name = os.fspath(path)
    return _regular(open_fd(name, flags | _NONBLOCK, mode, below=below, make_dirs=True), name)


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count >= MIB else f"{count} bytes"
