"""Atomic file writes: a reader sees the old bytes or the new bytes, never a mix.

A symlink is written through to its target (the link stays a link), except inside a work tree's
``.cloister/``: there no component is followed (``files.safeopen``), so a committed symlink cannot
send a write out of the clone, and a symlink or special file at the target is an error. A file
without write permission is refused, not replaced behind its owner's back; and every failure names
the file.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from cloisterctl.files import safeopen


def write_target(path: Path, below: str | os.PathLike[str] | None = safeopen.AUTO) -> Path:
    """Where a write to ``path`` lands: the file itself, or the target of a symlink (never inside
    ``.cloister/`` or under ``below``, where a symlink is refused when written)."""
    no_follow = safeopen.work_tree_of(str(path)) is not None if below == safeopen.AUTO else below is not None
    if no_follow:
        return path
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_writable(path: Path) -> None:
    """Raise PermissionError (naming the file) when ``path`` exists and is read-only.

    Checked on the mode bits, not ``os.access``: root may write anything, but a file someone made
    read-only is not meant to be replaced."""
    target = write_target(path)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(errno.EACCES, "the file is read-only; nothing was written", str(path))


def atomic_write_bytes(path: Path, data: bytes, *, below: str | os.PathLike[str] | None = safeopen.AUTO) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and ``os.replace``.

    The file's permission bits are kept when it already exists. ``below``: the directory under which
    no symlink is followed (by default the work tree, for a path inside ``.cloister/``).
    """
    check_writable(path)
    target = write_target(path, below)
    try:
        parent = safeopen.open_parent(target, below=below, make_dirs=True)
        if parent is not None:
            try:
                _replace_at(parent, target, data)
            finally:
                os.close(parent)
            return
        _replace(target, data)
    except OSError as exc:
        if exc.filename is None:  # a full disk says ENOSPC and nothing more: say which file
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        if mode is not None:
            os.chmod(tmp_name, mode)
        else:
            # mkstemp creates 0600; give new files the usual umask-derived mode.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def _replace_at(dir_fd: int, path: Path, data: bytes) -> None:
    """``_replace`` inside the directory ``dir_fd`` (reached with no symlink followed): a symlink or
    special file at ``path`` is refused, and the temp file and the rename never leave the directory."""
    name = path.name
    safeopen.refuse_special(name, dir_fd, str(path))
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    temp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.fchmod(tmp.fileno(), mode)
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str, *, below: str | os.PathLike[str] | None = safeopen.AUTO) -> None:
    """Like :func:`atomic_write_bytes`; text is written as UTF-8 with newlines untranslated."""
    atomic_write_bytes(path, text.encode("utf-8"), below=below)
