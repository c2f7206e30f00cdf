"""Running a test command (no shell) and reading its JUnit XML report.

The command runs in the user's environment, never in a hook's: pre-commit runs a ``language:
python`` hook (``cloister-pre-push`` from the hook manifest) with ``VIRTUAL_ENV`` and the front of
``PATH`` pointing into its own environment under its cache, where ``python3 -m pytest`` finds no
pytest. ``user_env`` takes that environment back out.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
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


def _which(program: str, env: Mapping[str, str]) -> str:
    """``program`` looked up on ``env``'s PATH (subprocess would use ours), or as given."""
    import shutil

    return shutil.which(program, path=env.get("PATH")) or program


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


def _pre_commit_store(environ: Mapping[str, str]) -> Path:
    """Where pre-commit keeps its hook environments (as pre-commit decides it)."""
    if environ.get("PRE_COMMIT_HOME"):
        return Path(environ["PRE_COMMIT_HOME"])
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(environ.get("HOME", "~"), ".cache")
    return Path(os.path.expanduser(cache)) / "pre-commit"


def user_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without a pre-commit hook environment in it: when ``VIRTUAL_ENV`` is one of
    pre-commit's (under its store), that env's bin directory leaves ``PATH`` and ``VIRTUAL_ENV``
    and ``PYTHONHOME`` go, so the user's own ``python3``, ``pytest`` and packages are found."""
    env = dict(environ)
    venv = env.get("VIRTUAL_ENV")
    if not venv:
        return env
    store = os.path.realpath(_pre_commit_store(environ))
    if not os.path.realpath(venv).startswith(store + os.sep):
        return env  # the user's own virtualenv: theirs to keep
    hook_bins = {os.path.realpath(os.path.join(venv, name)) for name in ("bin", "Scripts")}
    kept = [part for part in env.get("PATH", "").split(os.pathsep) if part and os.path.realpath(part) not in hook_bins]
    env["PATH"] = os.pathsep.join(kept)
    for name in ("VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    return env


def run_tests(argv: list[str], cwd: Path, junit: Path | None) -> TestRun:
    """Run ``argv`` in ``cwd`` with the terminal's stdin and stdout, in the user's environment
    (``user_env``); only a report this run wrote counts."""
    if not argv:
        raise ToolError("no test command given")
    before = report_stamp(junit)
    started = time.monotonic()
    env = user_env(os.environ)
    try:
        found = _which(argv[0], env)
        code = subprocess.run([found, *argv[1:]], cwd=cwd, env=env, check=False).returncode
    except FileNotFoundError:
        raise ToolError(f"`{argv[0]}`: command not found") from None
    counts = junit_counts(junit) if junit is not None and report_stamp(junit) not in (None, before) else None
    return TestRun(code, round(time.monotonic() - started, 2), counts)
