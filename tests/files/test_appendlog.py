"""Errors before writes: an append that fails part way (a full disk, a file size limit) leaves the
file as it was and names it; an error after the ledger line was written says it is recorded
(issue 20: `usage add` said "No space left on device" after the event was appended)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloisterctl.files.appendlog import append_bytes
from cloisterctl.workspace.layout import Workspace
from testing.helpers import cli, git, ledger_events, write_config

USAGE = ("usage", "add", "--model", "claude-haiku-4-5-20251001", "--input", "10", "--output", "1")


def _limited(ws: Path, max_bytes: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``cloisterctl ARGS`` with no file allowed to grow past ``max_bytes`` (RLIMIT_FSIZE: a write
    past it fails with EFBIG, as a full disk fails with ENOSPC)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(ws), *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        check=False,
    )


def _committed(ws: Path) -> Path:
    # tick.commit off: `usage add` writes the ledger in the tree (with it on, usage is bookkeeping
    # and waits in the spool: the same append, to another file).
    write_config(ws, "tick:\n  commit: false\n")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "cloister init")
    return Workspace(ws).ledger_files()[-1]


def test_an_append_cut_short_leaves_the_ledger_as_it_was(workspace: Path) -> None:
    segment = _committed(workspace)
    before = segment.read_bytes()
    result = _limited(workspace, len(before) + 100, *USAGE)  # room for a part of the line, not all
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"cloisterctl: error: {segment}: File too large; nothing appended\n"
    assert segment.read_bytes() == before


def test_an_error_after_the_ledger_line_says_it_is_recorded(workspace: Path) -> None:
    segment = _committed(workspace)
    size = len(segment.read_bytes())
    state_md = (workspace / "STATE.md").stat().st_size
    result = _limited(workspace, max(size + 750, state_md - 1), *USAGE)  # the usage line fits, what follows does not
    assert result.returncode == 1, result.stderr
    assert "File too large" in result.stderr  # the cost event after it, or STATE.md
    assert "(recorded before it, and kept: 1 usage" in result.stderr and len(result.stderr.splitlines()) == 1
    assert len([e for e in ledger_events(workspace) if e["type"] == "usage"]) == 1
    retry = cli(workspace, *USAGE, "--json", check=False, timeout=60)
    assert retry.returncode == 0 and '"already"' in retry.stdout  # told it was kept, a retry is harmless
    assert len([e for e in ledger_events(workspace) if e["type"] == "usage"]) == 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (root only; skipped where mounting is not permitted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], capture_output=True, check=False)


def test_a_full_disk_appends_nothing_and_names_the_file(small_disk: Path) -> None:
    path = small_disk / "log.jsonl"
    path.write_bytes(b'{"a":1}\n')
    fd = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # full; the log's last page still has room for part of the next append
    finally:
        os.close(fd)
    with pytest.raises(OSError, match="No space left on device; nothing appended") as raised:
        append_bytes(str(path), b'{"b":2}\n' * 2000)
    assert raised.value.filename == str(path)
    assert path.read_bytes() == b'{"a":1}\n'
