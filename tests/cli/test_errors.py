"""One place maps exceptions to exit codes: our errors 1, usage 2, OS errors 1, bugs 3 with a log."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloisterctl import errors
from cloisterctl.cli.app import _report
from testing.helpers import run


def test_exit_codes_by_kind() -> None:
    assert errors.exit_code(errors.ConfigError("x")) == 1
    assert errors.exit_code(errors.LockTimeout("x")) == 1
    assert errors.exit_code(PermissionError(13, "Permission denied", "STATE.md")) == 1
    assert errors.exit_code(KeyError("x")) == errors.EXIT_INTERNAL == 3
    assert errors.describe(PermissionError(13, "Permission denied", "STATE.md")) == "STATE.md: Permission denied"


def test_a_bug_is_one_line_and_its_traceback_goes_to_the_workspace_log(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        {}["missing"]  # noqa: B018 - a real exception with a real traceback
    except KeyError as exc:
        code = _report(exc, workspace)
    assert code == 3
    err = capsys.readouterr().err
    log = workspace / ".cloister" / "local" / "errors.log"
    assert err.count("\n") == 1 and "internal error: KeyError" in err and str(log) in err
    assert "Traceback (most recent call last)" in log.read_text() and "KeyError: 'missing'" in log.read_text()


def test_outside_a_workspace_the_log_is_in_the_user_cache(tmp_path: Path, isolated_env: Path) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        assert _report(exc, tmp_path) == 3
    assert "RuntimeError: boom" in (isolated_env / ".cache" / "cloisterctl" / "errors.log").read_text()


def test_a_usage_mistake_is_exit_2_and_our_error_exit_1(workspace: Path, tmp_path: Path) -> None:
    assert run(workspace, "route").exit_code == 2  # missing TASK
    result = run(tmp_path, "status")  # not a git work tree
    assert result.exit_code == 1
    assert result.output.startswith("cloisterctl: error: ") and result.output.count("\n") == 1
