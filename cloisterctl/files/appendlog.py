"""Appending whole lines to a log file with one ``write`` on an ``O_APPEND`` descriptor, with
nothing but ``os``.

Shared by the ledger and by the hooks' hot path (which must not pay for importing ``pathlib`` or
``filelock``). The kernel appends each write whole at the end of the file, so writers need no lock
to keep their lines apart: hooks append without one and never wait behind a long tick. Inside
``.cloister/`` no symlink is followed and only a regular file is appended to (``files.safeopen``).
cloisterctl's own commands still append under the ledger lock, which orders their
read-compare-append steps (cost checkpoints) and their STATE.md writes.
"""

from __future__ import annotations

import os

from cloisterctl.files.safeopen import open_write


def append_bytes(path: str, payload: bytes) -> None:
    """Append ``payload`` (whole lines) in one write.

    If the file ends in a torn line (a writer died mid-line, a disk filled up), a newline goes first,
    so the torn line stays one reported-and-skipped line and does not swallow this one. (Two writers
    that both see the torn line each add a newline: an empty line, which readers skip.)

    All or nothing: when a write fails part way (a full disk, a file size limit), what this call
    wrote is cut off again before the error is raised -- unless another writer appended after it
    meanwhile, when it stays a torn line, reported and skipped like any -- so a failed append never
    records half an event, nor a whole one behind an error.
    """
    if not payload:
        return
    fd = open_write(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)  # no symlink followed inside .cloister/
    try:
        _write_lines(fd, payload, path)
    finally:
        os.close(fd)


def _take_back(fd: int, size: int, done: int) -> bool:
    """Cut the file back to ``size`` when it holds exactly what this writer added since; whether
    the file is as it was."""
    if not done:
        return True
    try:
        if os.fstat(fd).st_size == size + done:
            os.ftruncate(fd, size)
            return True
    except OSError:
        pass
    return False  # the torn line stays, reported and skipped by every reader


def _write_lines(fd: int, payload: bytes, path: str) -> None:
    """The write of ``append_bytes`` on an open descriptor (all or nothing, see there)."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        payload = b"\n" + payload
    view = memoryview(payload)
    done = 0
    try:
        while view:
            written = os.write(fd, view)
            done += written
            view = view[written:]
    except OSError as exc:
        what = "nothing appended" if _take_back(fd, size, done) else "a torn line is left, which readers skip"
        raise OSError(exc.errno, f"{exc.strerror}; {what}", path) from None


def append_to_spool(path: str, payload: bytes) -> None:
    """``append_bytes`` for a file that a reader renames aside to take what it holds (the signal
    spool, ``ledger.spool``): the line is written under a shared ``flock`` and only while ``path``
    still names the file opened, so that it lands either in what the reader takes (which holds an
    exclusive ``flock`` while it reads: ``taken``) or in the new file, never in one already read.
    The shared lock waits only while a reader reads (milliseconds), never behind a tick."""
    import fcntl

    if not payload:
        return
    for _attempt in range(100):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            opened, named = os.fstat(fd), _stat(path)
            if named is not None and (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino):
                _write_lines(fd, payload, path)
                return
        finally:
            os.close(fd)  # and with it the lock
    append_bytes(path, payload)  # renamed away a hundred times in a row: write anyway


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def taken(path: str) -> int:
    """Open ``path`` (a spool just renamed aside) and wait for the writers that opened it before
    the rename (``append_to_spool``); returns the descriptor, which holds an exclusive ``flock``
    until it is closed: close it once what the file holds is safe elsewhere."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd
