"""A command's output kept with a stamp of everything it was computed from, so that the same
command with nothing changed prints it again after only stat calls.

A memo is a machine-local cache file (under ``Workspace.cache_dir``), and is data: the bytes it
holds are printed, never run. Its inputs are files and directories, each stamped by inode, size and
modification time (or as absent); a directory's stamp changes when an entry is added or removed,
so listing the directories where new inputs would appear covers files that do not exist yet.
Stamps are taken *before* the inputs are read: an input that changes while the command runs makes
the memo stale, never wrong.

Written and read with ``os`` and ``time`` alone, the outputs as the bytes to print (`cost` answers
from its memo: ``cost.report_memo``). The format, UTF-8 lines::

    cloisterctl memo 1
    key <the caller's key>
    until <unix seconds after which the memo is stale, or ->
    input <inode> <size> <mtime ns> <path>      (or: input - <path>, for an absent one)
    ...
    output <name> <byte count>
    <that many bytes>
    ...

A memo that is torn, of another version or key, or whose stamps differ is simply not used.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

HEADER = b"cloisterctl memo 1\n"

Stamp = dict[str, tuple[int, int, int] | None]


def _key(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def stamp(paths: Iterable[str]) -> Stamp:
    """Each path's inode, size and modification time (None when it is absent)."""
    return {path: _key(path) for path in paths}


def encode(key: str, inputs: Stamp, outputs: Mapping[str, bytes], until: float | None = None) -> bytes | None:
    """The memo's bytes; None when it cannot be written faithfully (a path or key with a newline)."""
    if "\n" in key or any("\n" in path for path in inputs) or any(" " in name or "\n" in name for name in outputs):
        return None
    lines = [f"key {key}", f"until {'-' if until is None else repr(until)}"]
    for path, found in inputs.items():
        lines.append(f"input - {path}" if found is None else f"input {found[0]} {found[1]} {found[2]} {path}")
    head = HEADER + ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    body = b"".join(b"output %s %d\n%s" % (name.encode(), len(data), data) for name, data in outputs.items())
    return head + body


def decode(data: bytes, key: str) -> tuple[Stamp, float | None, dict[str, bytes]] | None:
    """The inputs, ``until`` and outputs of a memo made with ``key``; None when it is not one."""
    if not data.startswith(HEADER):
        return None
    position = len(HEADER)
    inputs: Stamp = {}
    until: float | None = None
    outputs: dict[str, bytes] = {}
    try:
        while position < len(data):
            end = data.index(b"\n", position)
            line = data[position:end].decode("utf-8", "surrogateescape")
            position = end + 1
            kind, _, rest = line.partition(" ")
            if kind == "key":
                if rest != key:
                    return None
            elif kind == "until":
                until = None if rest == "-" else float(rest)
            elif kind == "input":
                if rest.startswith("- "):
                    inputs[rest[2:]] = None
                else:
                    inode, length, mtime, path = rest.split(" ", 3)
                    inputs[path] = (int(inode), int(length), int(mtime))
            elif kind == "output":
                name, count = rest.split(" ")
                size = int(count)
                if size < 0 or position + size > len(data):
                    return None
                outputs[name] = data[position : position + size]
                position += size
            else:
                return None
    except ValueError:
        return None
    return inputs, until, outputs


def recall(path: str, key: str) -> dict[str, bytes] | None:
    """The outputs of the memo at ``path`` when it was made with ``key``, is not past its
    ``until``, and every input still has its stamp; else None."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    decoded = decode(data, key)
    if decoded is None:
        return None
    inputs, until, outputs = decoded
    if until is not None and time.time() >= until:
        return None
    for input_path, found in inputs.items():
        if _key(input_path) != found:
            return None
    return outputs


def keep(path: str, key: str, inputs: Stamp, outputs: Mapping[str, bytes], until: float | None = None) -> bool:
    """Write the memo (atomically: a reader sees the old one or the new one). False when it could
    not be written; a memo is only a shortcut, so that is not an error."""
    data = encode(key, inputs, outputs, until)
    if data is None:
        return False
    from pathlib import Path

    from cloisterctl.files.atomic import atomic_write_bytes

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write_bytes(Path(path), data)
    except OSError:
        return False
    return True
