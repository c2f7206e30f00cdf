"""No symlink followed inside .cloister/, regular files only, reads capped: for reads, appends and
atomic writes alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloisterctl.errors import UnsafeFileError
from cloisterctl.files import safeopen
from cloisterctl.files.appendlog import append_bytes
from cloisterctl.files.atomic import atomic_write_bytes


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A work tree with `.cloister/ledger/`, and a directory outside it."""
    (tmp_path / "clone" / ".cloister" / "ledger").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    return tmp_path / "clone"


def test_a_regular_file_is_read_within_its_cap(tree: Path) -> None:
    path = tree / ".cloister" / "ledger" / "2026-12.jsonl"
    path.write_bytes(b"x" * 10)
    assert safeopen.read_capped(path, 10) == b"x" * 10
    assert safeopen.read_capped(path, 100, offset=4) == b"x" * 6
    with pytest.raises(UnsafeFileError, match=r"2026-12.jsonl: larger than 9 bytes; not read"):
        safeopen.read_capped(path, 9)
    with pytest.raises(FileNotFoundError):
        safeopen.read_capped(tree / ".cloister" / "missing", 10)


def test_a_symlinked_file_or_directory_inside_cloister_is_not_followed(tree: Path) -> None:
    outside = tree.parent / "outside"
    link = tree / ".cloister" / "ledger" / "2026-11.jsonl"
    link.symlink_to(outside / "secret.txt")
    with pytest.raises(UnsafeFileError, match=r"2026-11.jsonl: a symlink; not followed"):
        safeopen.read_capped(link, 100)
    (tree / ".cloister" / "checkpoints").symlink_to(outside)
    with pytest.raises(UnsafeFileError, match=r"\.cloister/checkpoints is a symlink"):
        safeopen.read_capped(tree / ".cloister" / "checkpoints" / "secret.txt", 100)
    # The user's own files (no .cloister on the way) may be symlinks: dotfiles often are.
    mine = tree.parent / "my-history.json"
    mine.symlink_to(outside / "secret.txt")
    assert safeopen.read_capped(mine, 100) == b"secret\n"


def test_the_whole_cloister_directory_as_a_symlink_is_not_followed(tmp_path: Path) -> None:
    other = tmp_path / "other" / ".cloister"
    other.mkdir(parents=True)
    (other / "config.yaml").write_text("tick: {}\n")
    (tmp_path / "clone").mkdir()
    (tmp_path / "clone" / ".cloister").symlink_to(other)
    with pytest.raises(UnsafeFileError, match=r"\.cloister is a symlink"):
        safeopen.read_capped(tmp_path / "clone" / ".cloister" / "config.yaml", 100)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_special_files_are_refused_without_reading_or_hanging(tree: Path, tmp_path: Path) -> None:
    fifo = tree / ".cloister" / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        safeopen.read_capped(fifo, 100)  # opening a FIFO with no writer would block: it must not
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        safeopen.read_capped("/dev/zero", 100, below=None)  # even where symlinks are followed
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        safeopen.read_capped(tmp_path / "zero", 100, below=None)
    with pytest.raises(UnsafeFileError, match="a directory"):
        safeopen.read_capped(tree / ".cloister" / "ledger", 100)


def test_appends_never_go_through_a_symlink(tree: Path) -> None:
    outside = tree.parent / "outside" / "secret.txt"
    segment = tree / ".cloister" / "ledger" / "2026-12.jsonl"
    segment.symlink_to(outside)
    with pytest.raises(UnsafeFileError, match="a symlink"):
        append_bytes(str(segment), b'{"x":1}\n')
    (tree / ".cloister" / "local").symlink_to(tree.parent / "outside")
    with pytest.raises(UnsafeFileError, match=r"\.cloister/local is a symlink"):
        append_bytes(str(tree / ".cloister" / "local" / "signals.jsonl"), b'{"x":1}\n')
    assert outside.read_text() == "secret\n"
    assert sorted(os.listdir(tree.parent / "outside")) == ["secret.txt"]
    # A fresh file in fresh directories is created as usual.
    fresh = tree / ".cloister" / "new" / "deeper" / "log.jsonl"
    append_bytes(str(fresh), b"one\n")
    assert fresh.read_bytes() == b"one\n"


def test_atomic_writes_never_go_through_a_symlink_inside_cloister(tree: Path) -> None:
    outside = tree.parent / "outside"
    (tree / ".cloister" / "ledger" / "checkpoints").symlink_to(outside)
    with pytest.raises(UnsafeFileError, match=r"checkpoints is a symlink"):
        atomic_write_bytes(tree / ".cloister" / "ledger" / "checkpoints" / "2026-11.json", b"{}")
    packet = tree / ".cloister" / "handoffs" / "h1.md"
    packet.parent.mkdir()
    packet.symlink_to(outside / "secret.txt")
    with pytest.raises(UnsafeFileError, match="h1.md: a symlink"):
        atomic_write_bytes(packet, b"overwritten")
    assert packet.is_symlink() and (outside / "secret.txt").read_text() == "secret\n"
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    fresh = tree / ".cloister" / "handoffs" / "h2.md"
    atomic_write_bytes(fresh, b"packet")
    assert fresh.read_bytes() == b"packet" and sorted(p.name for p in fresh.parent.iterdir()) == ["h1.md", "h2.md"]


def test_a_lock_file_symlinked_out_is_refused_not_truncated(tree: Path) -> None:
    from cloisterctl.files.locking import locked

    secret = tree.parent / "outside" / "secret.txt"
    lock = tree / ".cloister" / "local" / "ledger.lock"
    lock.parent.mkdir()
    lock.symlink_to(secret)
    with pytest.raises(UnsafeFileError, match="ledger.lock: a symlink"), locked(lock, 1):
        pass
    assert secret.read_text() == "secret\n"


def test_outside_cloister_a_symlink_is_still_written_through(tmp_path: Path) -> None:
    """STATE.md's documented write-through (ledger.statefile keeps it inside the work tree)."""
    target = tmp_path / "notes.md"
    target.write_text("old")
    (tmp_path / "STATE.md").symlink_to(target)
    atomic_write_bytes(tmp_path / "STATE.md", b"new")
    assert target.read_bytes() == b"new" and (tmp_path / "STATE.md").is_symlink()
