from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cloisterctl.config.schema import DEFAULTS
from cloisterctl.testruns.outcome import is_test_command, outcome_from_tool_response
from cloisterctl.testruns.run import junit_counts
from testing.helpers import events, run, write_config


@pytest.mark.parametrize(
    ("response", "passed"),
    [
        ({"stdout": "====== 3 passed in 0.5s ======"}, True),
        ({"stdout": "FAILED tests/test_x.py::test_a - assert 1 == 2\n1 failed, 2 passed"}, False),
        ({"stdout": "--- FAIL: TestParse (0.00s)\nFAIL\n"}, False),
        ({"stdout": "test result: ok. 12 passed; 0 failed"}, True),
        ({"stdout": "Tests:       1 failed, 11 passed, 12 total"}, False),
        ({"stdout": "", "stderr": "", "exit_code": 0}, True),
        ({"stdout": "3 passed", "exitCode": 2}, False),
        ({"stdout": "collecting ...", "interrupted": True}, None),
        ({"stdout": "nothing to see"}, None),
        ("Error: Exit code 1\n...", False),
    ],
)
def test_outcomes_from_tool_responses(response: object, passed: bool | None) -> None:
    assert outcome_from_tool_response(response) is passed


@pytest.mark.parametrize(
    ("command", "is_test"),
    [
        ("pytest -q", True),
        ("python -m pytest tests/", True),
        ("npm run test", True),
        ("go test ./...", True),
        ("cargo test", True),
        ("make check", True),
        ("git status", False),
        ("cat pytest.ini", False),
        ("latest-build", False),
    ],
)
def test_test_command_patterns(command: str, is_test: bool) -> None:
    assert is_test_command(command, DEFAULTS["tests"]["patterns"]) is is_test


def test_junit_counts(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite tests="5" failures="1" errors="0" skipped="1"/>'
        '<testsuite tests="2" failures="0" errors="1" skipped="0"/></testsuites>'
    )
    assert junit_counts(report) == {"tests": 7, "failures": 1, "errors": 1, "skipped": 1}
    (tmp_path / "bad.xml").write_text("<nope")
    assert junit_counts(tmp_path / "bad.xml") is None


def test_cloisterctl_test_records_and_passes_the_exit_code_through(workspace: Path) -> None:
    junit = workspace / "junit.xml"
    (workspace / ".cloister" / "config.yaml").write_text("tests:\n  junit_xml: junit.xml\n")
    script = f'import pathlib; pathlib.Path({str(junit)!r}).write_text(\'<testsuite tests="4" failures="2" errors="0" skipped="0"/>\'); raise SystemExit(3)'
    result = run(workspace, "test", "--", sys.executable, "-c", script)
    assert result.exit_code == 3
    assert run(workspace, "test", "--", sys.executable, "-c", "pass").exit_code == 0
    runs = [e for e in events(workspace) if e["type"] == "test_run"]
    assert [(r["passed"], r["exit_code"], r.get("counts")) for r in runs] == [
        (False, 3, {"tests": 4, "failures": 2, "errors": 0, "skipped": 0}),
        (True, 0, None),
    ]


def test_a_missing_test_program(workspace: Path) -> None:
    result = run(workspace, "test", "--", "no-such-test-runner")
    assert result.exit_code == 1 and "`no-such-test-runner`: command not found" in result.output
    assert json.loads(run(workspace, "status", "--json").output)["problems"] == []


def test_cloisterctl_test_without_a_command_runs_tests_command(workspace: Path) -> None:
    missing = run(workspace, "test")
    assert missing.exit_code == 1
    assert "no test command: give one (`cloisterctl test -- pytest -q`) or set tests.command" in missing.output
    write_config(workspace, f"tests:\n  command: [{sys.executable}, -c, 'raise SystemExit(5)']\n")
    assert run(workspace, "test").exit_code == 5
    [recorded] = [e for e in events(workspace) if e["type"] == "test_run"]
    assert (recorded["passed"], recorded["exit_code"]) == (False, 5)
    write_config(workspace, "tests:\n  command: [pytest]\n", trusted=False)
    untrusted = run(workspace, "test")
    assert untrusted.exit_code == 1 and "it is not trusted: `cloisterctl trust`" in untrusted.output
