"""Bad input from the command line is a one-line error with a non-zero exit that is never 3 (an
internal error), and nothing is written (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.helpers import DATA, cli, tree_digest

BINARY = DATA / "bad" / "usage-import-binary.bin"
TIMEOUT = 60  # seconds; a command that hangs on bad input fails the test


def _refused(ws: Path, *args: str) -> str:
    """Run a command that must refuse its input: exit 1 or 2, no traceback, nothing written in the
    clone; returns its error output."""
    before = tree_digest(ws)
    result = cli(ws, *args, check=False, timeout=TIMEOUT)
    assert result.returncode in (1, 2), (args, result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stdout == ""
    assert tree_digest(ws) == before, args
    return result.stderr


USAGE = ("usage", "add", "--model", "claude-haiku-4-5-20251001", "--input", "10", "--output", "1")


@pytest.mark.parametrize("usd", ["nan", "NaN", "inf", "-inf", "-1", "1e400"])
def test_usage_add_refuses_a_cost_that_is_not_a_finite_positive_number(workspace: Path, usd: str) -> None:
    error = _refused(workspace, *USAGE, "--usd", usd)
    assert "Invalid value for '--usd'" in error


def test_usage_import_of_a_binary_file_names_the_file_and_the_line(workspace: Path) -> None:
    error = _refused(workspace, "usage", "import", str(BINARY))
    assert error == f"cloisterctl: error: {BINARY}:2: not UTF-8 text (invalid start byte); nothing recorded\n"


def test_replay_of_a_line_nested_300000_deep_is_a_one_line_error(workspace: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 300_000 + "]" * 300_000 + "\n")
    error = _refused(workspace, "replay", str(deep))
    assert error == f"cloisterctl: error: {deep}:1: JSON nested too deeply\n"


@pytest.mark.parametrize(
    "args",
    [
        ("route", "--", "-x"),
        ("route", "../../etc/passwd"),
        ("complexity", "set", "bd-1\nCloister-Commit: bookkeeping", "simple"),
        ("outcomes", "verify", "--", "--status=closed", "pass"),
        ("spawn", "../x"),
        ("stop", "../../evil"),
        ("handoff", "a b", "opus"),
        ("approve", "../d1"),
        ("reject", "d1\nx"),
        ("flags", "clear", ".hidden"),
        (*USAGE, "--task", "../x"),
        (*USAGE, "--session", "s\n1"),
        (*USAGE, "--agent", "-rf"),
        ("init", "--agent", "x" * 200),
    ],
)
def test_a_name_that_is_not_safe_is_refused_before_anything_runs(workspace: Path, args: tuple[str, ...]) -> None:
    error = _refused(workspace, *args)
    assert error.startswith("cloisterctl: error: ") and "is not a safe name" in error
    assert len(error.splitlines()) == 1
