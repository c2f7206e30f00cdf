"""Locks with timeouts. A timeout is a CloisterError naming the lock file, never a hang.

A lock file inside ``.cloister/`` is created (or checked) through ``files.safeopen`` first: filelock
opens it with ``O_TRUNC``, so a committed symlink there would empty the file it points at."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cloisterctl.errors import LockTimeout
from cloisterctl.files.safeopen import open_write

if TYPE_CHECKING:
    from filelock import FileLock

DEFAULT_TIMEOUT_SECONDS = 10.0

# filelock deadlocks when one thread holds two FileLock objects on the same path, so each path
# gets exactly one object, reused (it is reentrant).
_LOCKS: dict[str, FileLock] = {}


def default_timeout() -> float:
    raw = os.environ.get("CLOISTER_LOCK_TIMEOUT")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return min(max(0.0, value), 3600.0)
        # Not a number of seconds: the config's validation reports the variable; wait the default.
    return DEFAULT_TIMEOUT_SECONDS


@contextmanager
def locked(path: Path, timeout: float | None = None, *, what: str = "the workspace") -> Iterator[None]:
    """Hold the flock on ``path`` (created if missing) for the duration of the block."""
    from filelock import FileLock, Timeout  # ~70 ms to import; not on the hook fast path

    wait = default_timeout() if timeout is None else timeout
    os.close(open_write(path, os.O_RDWR | os.O_CREAT))  # a regular file, never through a symlink
    key = str(path)
    lock = _LOCKS.get(key)
    if lock is None:
        lock = _LOCKS[key] = FileLock(key)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise LockTimeout(
            f"{path}: {what} is locked by another cloisterctl process (waited {wait:g}s); "
            "try again, or raise CLOISTER_LOCK_TIMEOUT",
            path=path,
        ) from None
    try:
        yield
    finally:
        lock.release()
