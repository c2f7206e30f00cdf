"""Appending whole lines to a log file with one ``write`` on an ``O_APPEND`` descriptor, with
nothing but ``os``.

Shared by the ledger and by the hooks' hot path (which must not pay for importing ``pathlib`` or
``filelock``). The kernel appends each write whole at the end of the file, so writers need no lock
to keep their lines apart: hooks append without one and never wait behind a long tick.
cloisterctl's own commands still append under the ledger lock, which orders their
read-compare-append steps (cost checkpoints) and their STATE.md writes.
"""

from __future__ import annotations

import os


def append_bytes(path: str, payload: bytes) -> None:
    """Append ``payload`` (whole lines) in one write.

    If the file ends in a torn line (a writer died mid-line, a disk filled up), a newline goes first,
    so the torn line stays one reported-and-skipped line and does not swallow this one. (Two writers
    that both see the torn line each add a newline: an empty line, which readers skip.)
    """
    if not payload:
        return
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_lines(fd, payload)
    finally:
        os.close(fd)


def _write_lines(fd: int, payload: bytes) -> None:
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        payload = b"\n" + payload
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


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
                _write_lines(fd, payload)
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
