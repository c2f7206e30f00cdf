"""Running a test command (no shell) and reading its JUnit XML report."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cloisterctl.errors import ToolError, UnsafeFileError
from cloisterctl.files.safeopen import JSON_CAP, read_capped


def junit_counts(path: Path) -> dict[str, int] | None:
    """tests/failures/errors/skipped summed over the suites of a JUnit XML file; None if unreadable."""
    import xml.etree.ElementTree as ElementTree

    try:  # a regular file, bounded: never a device or FIFO read forever
        root = ElementTree.fromstring(read_capped(path, JSON_CAP, below=None))
    except (OSError, UnsafeFileError, ElementTree.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in counts:
            try:
                counts[key] += int(suite.get(key, 0) or 0)
            except ValueError:
                pass
    return counts


def report_stamp(path: Path | None) -> tuple[int, int, int] | None:
    try:
        stat = path.stat() if path is not None else None
    except FileNotFoundError:
        return None
    return None if stat is None else (stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class TestRun:
    exit_code: int
    seconds: float
    counts: dict[str, int] | None  # from the JUnit report this run wrote, when configured


def run_tests(argv: list[str], cwd: Path, junit: Path | None) -> TestRun:
    """Run ``argv`` in ``cwd`` with the terminal's stdin and stdout; only a report this run wrote counts."""
    if not argv:
        raise ToolError("no test command given")
    before = report_stamp(junit)
    started = time.monotonic()
    try:
        code = subprocess.run(argv, cwd=cwd, check=False).returncode
    except FileNotFoundError:
        raise ToolError(f"`{argv[0]}`: command not found") from None
    counts = junit_counts(junit) if junit is not None and report_stamp(junit) not in (None, before) else None
    return TestRun(code, round(time.monotonic() - started, 2), counts)
