"""The verification's trust (only named commands from trusted config run) and its crash recovery."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from cloisterctl.config.load import load_config
from cloisterctl.testruns.verification import failure_names
from cloisterctl.testruns.verification_plan import commands_for
from testing.helpers import cli, events, git, tick_json, write_config, write_tasks

CHECK = f"[{sys.executable}, -c, 'import sys; sys.exit(0)']"


def test_a_label_names_a_trusted_command_and_never_carries_one(workspace: Path) -> None:
    text = f"verification:\n  commands:\n    smoke: {CHECK}\n"
    write_config(workspace, text, trusted=False)
    untrusted = load_config(workspace / ".cloister" / "config.yaml")
    assert untrusted.verification.commands == {} and "verification.commands" in untrusted.untrusted
    assert commands_for(["verify:smoke"], untrusted) == ((), ("smoke",))
    write_config(workspace, text, trusted=True)
    trusted = load_config(workspace / ".cloister" / "config.yaml")
    labels = ["verify:smoke", "verify:rm -rf /", "docs"]
    assert commands_for(labels, trusted) == (("smoke",), ("rm -rf /",))
    assert trusted.verifies and not untrusted.verifies


def _closed_and_pending(ws: Path, command: str) -> None:
    write_config(ws, f"tests:\n  command: {command}\n")
    task = {"_type": "issue", "id": "w-1", "title": "Tidy", "status": "open", "metadata": {"complexity": "trivial"}}
    write_tasks(ws, [task])
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "tasks")
    tick_json(ws)
    cli(ws, "route", "w-1", "--record")
    write_tasks(ws, [{**task, "status": "closed"}])


def _run_file(ws: Path) -> Path:
    return ws / ".cloister" / "local" / "verify" / "w-1.run.json"


def test_a_verification_the_tick_did_not_start_is_started_by_the_next(workspace: Path) -> None:
    _closed_and_pending(workspace, f"[{sys.executable}, -c, 'pass']")
    assert tick_json(workspace)[0]["verifications"] == [{"task": "w-1", "result": "pending"}]
    for _ in range(40):  # the first run ends; then its files go, as if the tick had stopped before starting it
        if (workspace / ".cloister" / "local" / "verify" / "w-1.json").exists():
            break
        time.sleep(0.25)
    for leftover in (workspace / ".cloister" / "local" / "verify").iterdir():
        leftover.unlink()
    tick_json(workspace)  # nothing to read: it starts it
    assert _run_file(workspace).exists()
    for _ in range(40):
        done = [v for v in tick_json(workspace)[0]["verifications"] if v["result"] != "pending"]
        if done:
            assert done == [{"task": "w-1", "result": "pass"}]
            return
        time.sleep(0.25)
    raise AssertionError(events(workspace, "verification"))


def test_a_verification_whose_process_died_twice_is_recorded_failed_to_run(workspace: Path) -> None:
    _closed_and_pending(workspace, f"[{sys.executable}, -c, 'import time; time.sleep(30)']")
    tick_json(workspace)
    run = json.loads(_run_file(workspace).read_text())
    os.killpg(run["pid"], signal.SIGKILL)  # its process group: the worker and the test it runs
    time.sleep(0.5)
    tick_json(workspace)  # dead with no result: started once more
    again = json.loads(_run_file(workspace).read_text())
    assert again["restarts"] == 1 and again["pid"] != run["pid"]
    os.killpg(again["pid"], signal.SIGKILL)
    time.sleep(0.5)
    report = tick_json(workspace)[0]
    assert report["verifications"] == [{"task": "w-1", "result": "error"}]
    error = events(workspace, "verification")[-1]
    assert "ended without a result" in error["note"]
    assert json.loads(cli(workspace, "outcomes", "--json").stdout)["attempts"][0]["success"] is True  # no verdict


def test_failing_tests_are_named_from_a_junit_report_or_the_output(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuite tests="3" failures="1" errors="1">'
        '<testcase classname="t.a" name="ok"/>'
        '<testcase classname="t.a" name="wrong"><failure message="no"/></testcase>'
        '<testcase classname="t.b" name="boom"><error message="x"/></testcase>'
        "</testsuite>"
    )
    assert failure_names("FAILED ignored_when_a_report_exists", report) == {"t.a::wrong", "t.b::boom"}
    output = "FAILED tests/test_x.py::test_one - AssertionError\n--- FAIL: TestTwo (0.00s)\nok 3 passed\n"
    assert failure_names(output, None) == {"tests/test_x.py::test_one", "TestTwo"}


def _until_verdict(ws: Path) -> list[dict[str, str]]:
    for _ in range(60):
        done = [v for v in tick_json(ws)[0]["verifications"] if v["result"] != "pending"]
        if done:
            return done
        time.sleep(0.25)
    raise AssertionError(events(ws, "verification"))


def test_a_failed_close_is_reopened_until_the_tracker_says_so_and_a_later_close_is_kept(workspace: Path) -> None:
    failing = f"[{sys.executable}, -c, 'print(\"FAILED test_w\"); raise SystemExit(1)']"
    _closed_and_pending(workspace, failing)
    (workspace / ".cloister" / "config.yaml").write_text(
        f"tests:\n  command: {failing}\nverification:\n  compare_base: false\n"
    )
    write_config(workspace, (workspace / ".cloister" / "config.yaml").read_text())
    tick_json(workspace)
    assert _until_verdict(workspace) == [{"task": "w-1", "result": "fail"}]
    export = workspace / ".beads" / "issues.jsonl"
    assert json.loads(export.read_text())["status"] == "open"
    assert tick_json(workspace)[0]["tasks"] == [{"task": "w-1", "status": "open"}]  # the tracker says so now
    closed_by_hand = export.read_text().replace('"status":"open"', '"status":"closed"')
    export.write_text(closed_by_hand)
    time.sleep(0.01)
    tick_json(workspace)
    assert export.read_text() == closed_by_hand  # a person's close after the failed one is theirs
    assert tick_json(workspace)[0]["verifications"] == []


def test_a_teammates_failed_verdict_never_reopens_the_task_from_here(workspace: Path) -> None:
    """A verdict another clone recorded is that clone's to act on (issue 20: nothing another clone
    wrote acts here by itself): this tick shows it, and leaves the shared tracker alone."""
    _closed_and_pending(workspace, f"[{sys.executable}, -c, 'import time; time.sleep(60)']")
    assert tick_json(workspace)[0]["verifications"] == [{"task": "w-1", "result": "pending"}]
    [pending] = [e for e in events(workspace, "verification") if e["result"] == "pending"]
    forged = {
        **pending,
        "id": "feedfacefeedface",
        "ts": pending["ts"][:-7] + "999999Z",  # later in the same second
        "result": "fail",
        "clone": "0123456789ab",  # a teammate's clone
        "output": ["FAILED test_w"],
    }
    segment = next(iter(sorted((workspace / ".cloister" / "ledger").glob("*.jsonl"))))
    with segment.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(forged) + "\n")
    export = workspace / ".beads" / "issues.jsonl"
    before = export.read_bytes()
    tick_json(workspace)
    tick_json(workspace)
    assert export.read_bytes() == before  # still closed: not reopened from here
    status = json.loads(cli(workspace, "status", "--json").stdout)
    assert status["verification"]["result"] == "fail"  # shown, as history
