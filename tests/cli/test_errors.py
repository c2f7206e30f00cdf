"""One place maps exceptions to exit codes: our errors 1, usage 2, OS errors 1, bugs 3 with a log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloisterctl import errors
from cloisterctl.cli.app import _report
from testing.helpers import cli, run


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


def test_with_json_an_error_is_json_on_stderr(repo: Path, tmp_path: Path) -> None:
    outside = cli(tmp_path, "status", "--json", check=False)
    assert outside.returncode == 1 and outside.stdout == ""
    assert json.loads(outside.stderr) == {
        "error": f"{tmp_path}: not inside a git work tree (run `git init` first)",
        "code": "workspace",
    }
    usage = cli(tmp_path, "whatif", "--from", "opus", "--to", "haiku", "--context", "lots", "--json", check=False)
    assert usage.returncode == 2 and json.loads(usage.stderr)["code"] == "usage"
    uninitialised = cli(repo, "status", "--json", check=False)
    assert json.loads(uninitialised.stderr)["code"] == "workspace"
    plain = cli(repo, "status", check=False)
    assert plain.stderr.startswith("cloisterctl: error: ")  # without --json: one line of text, as before
    passed_on = cli(repo, "test", "--", "no-such-runner", "--json", check=False)
    assert passed_on.stderr.startswith("cloisterctl: error: ")  # --json there is the test command's


def test_error_codes_name_the_kind() -> None:
    assert errors.error_code(errors.LockTimeout("x")) == "lock_timeout"
    assert errors.error_code(errors.ToolError("x")) == "tool"
    assert errors.error_code(errors.CloisterError("x")) == "error"
    assert errors.error_code(FileNotFoundError(2, "gone")) == "os_error"
    assert errors.error_code(KeyError("x")) == "internal"
