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

    All or nothing: when a write fails part way (a full disk, a file size limit), what this call
    wrote is cut off again before the error is raised -- unless another writer appended after it
    meanwhile, when it stays a torn line, reported and skipped like any -- so a failed append never
    records half an event, nor a whole one behind an error.
    """
    if not payload:
        return
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
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
