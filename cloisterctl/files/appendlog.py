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
    """
    if not payload:
        return
    fd = open_write(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)  # no symlink followed inside .cloister/
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            payload = b"\n" + payload
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
