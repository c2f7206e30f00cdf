"""Appending whole lines to a log file, and taking its lock, with nothing but ``os`` and ``fcntl``.

Shared by the ledger and by the git hooks' hot path (which must not pay for importing ``json``,
``pathlib`` or ``filelock``). The lock is an ``flock`` on the same file ``filelock.FileLock`` uses,
so the two kinds of writer exclude each other.
"""

from __future__ import annotations

import fcntl
import os
import time


def append_bytes(path: str, payload: bytes) -> None:
    """Append ``payload`` (whole lines) in one write; the caller holds the lock.

    If the file ends in a torn line (a writer died mid-line), a newline goes first, so the torn line
    stays one reported-and-skipped line and does not swallow this one.
    """
    if not payload:
        return
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
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


def lock(path: str, timeout: float) -> int:
    """Take the exclusive flock on ``path`` within ``timeout`` seconds; returns the fd to unlock.

    Raises TimeoutError when another process holds it for longer.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise TimeoutError(f"{path}: locked by another process (waited {timeout:g}s)") from None
            time.sleep(0.005)


def unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
