"""`cloisterctl statusline`: the line for Claude Code's status bar, from its real statusLine input and
the summary every publishing command keeps; fast (json, but no click, pathlib or datetime) and never loud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.cli.fast_statusline import compose, line, summary_version
from cloisterctl.config.load import load_config
from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.files.codedigest import source_digest
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.fold import fold
from cloisterctl.ledger.statusline import summary as statusline_summary
from cloisterctl.ledger.statusline_file import summary_path
from cloisterctl.triggers.rules import Inputs, stuck
from cloisterctl.workspace.layout import Workspace
from testing.helpers import FIXTURES, run, write_config, write_tasks
from testing.transcripts import assistant, usage_of, write_lines

REAL_INPUT = json.loads((FIXTURES / "claude-code" / "statusline-input.json").read_text())
SESSION = REAL_INPUT["session_id"]
HAIKU = "claude-haiku-4-5-20251001"
TASK = {"_type": "issue", "id": "app-1", "title": "Fix the cart", "status": "open", "issue_type": "task"}
QUIET = "handoffs:\n  guards: {bleed_usd: 0}\n"

# Runs the real entry point and says on stderr which modules the run imported.
PROBE = (
    "import sys\n"
    "from cloisterctl.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "heavy = ('click', 'json', 're', 'datetime', 'pathlib', 'msgspec', 'yaml', 'hashlib', 'importlib.util')\n"
    "heavy = sorted(m for m in heavy if m in sys.modules)\n"
    "sys.stderr.write('IMPORTED=' + ','.join(heavy) + '\\n')\n"
    "raise SystemExit(code)\n"
)


def statusline(stdin: bytes, cwd: Path | None, env: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(stdout, stderr, the heavy modules imported) of `cloisterctl statusline` fed ``stdin``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "statusline"],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr.decode()
    assert "Traceback" not in err, err
    return done.stdout.decode(), err, err.rsplit("IMPORTED=", 1)[1].strip()


def claude_input(workspace: Path, transcript: Path | None = None, **changes: Any) -> bytes:
    """Claude Code's real statusLine input, for a session in ``workspace``."""
    data = json.loads(json.dumps(REAL_INPUT))
    data["cwd"] = str(workspace)
    data["workspace"] = {"current_dir": str(workspace / "src"), "project_dir": str(workspace), "added_dirs": []}
    data["transcript_path"] = str(transcript) if transcript else "/nowhere.jsonl"
    data["model"] = {"id": HAIKU, "display_name": "Haiku 4.5"}
    data.update(changes)
    return json.dumps(data).encode()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def agent(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose agent is on app-1 (haiku), with a session of its own ($2.00, 90% cached
    reads) and another session earlier today ($1.00); the tick has run. Returns the transcript."""
    config_dir = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    (workspace / "src").mkdir()
    write_tasks(workspace, [TASK])
    write_config(workspace, QUIET)
    assert run(workspace, "route", "app-1", "--record").exit_code == 0
    project = config_dir / "projects" / project_dir_name(workspace)
    time.sleep(0.002)
    now = datetime.now(UTC)
    mine = project / f"{SESSION}.jsonl"
    # Haiku 4.5: $1 a million fresh input tokens, $0.10 a million cached: 1.1M + 9M read is $2.00.
    write_lines(mine, [assistant(SESSION, "m1", "r1", HAIKU, stamp(now), usage_of(1_100_000, 0, read=9_000_000))])
    write_lines(project / "other.jsonl", [assistant("other", "m2", "r2", HAIKU, stamp(now), usage_of(1_000_000, 0))])
    assert run(workspace, "tick").exit_code == 0
    return mine


def test_the_line_for_a_working_agent(workspace: Path, agent: Path) -> None:
    out, _, imported = statusline(claude_input(workspace, agent), workspace / "src")
    assert out == "[haiku] Haiku 4.5 | app-1 | $2.00 session | $3.00 today | cache 89%\n"
    # json (which imports re), hashlib, os, sys, time, workspace.layout and files.codedigest: nothing else
    assert imported == "hashlib,json,re"
    # Another session of the same workspace: Claude Code's own figure, the workspace's hit rate.
    other = claude_input(workspace, None, session_id="not-known", cost={"total_cost_usd": 0.4567})
    out, _, _ = statusline(other, Path("/"))
    assert out == "[haiku] Haiku 4.5 | app-1 | $0.46 session | $3.00 today | cache 81%\n"  # 9M of 11.1M


def test_the_summary_is_kept_by_publishing_commands_and_written_only_when_it_changes(
    workspace: Path, agent: Path
) -> None:
    path = summary_path(Workspace(workspace))
    before = path.stat().st_mtime_ns
    summary = json.loads(path.read_text())
    assert summary["task"] == "app-1" and summary["tier"] == "sonnet"  # as routed
    # Versioned by the code that says what a summary holds: the statusline computes the same digest.
    assert summary["version"] == summary_version() == source_digest("cloisterctl.ledger.statusline")
    assert run(workspace, "tick").exit_code == 0
    assert path.stat().st_mtime_ns == before  # nothing new: not written
    write_tasks(workspace, [TASK, {**TASK, "id": "app-2"}])
    assert run(workspace, "route", "app-2", "--record").exit_code == 0  # no tick: route publishes
    assert json.loads(path.read_text())["task"] == "app-2"
    assert run(workspace, "status").exit_code == 0  # read-only: status writes no summary either


def test_minutes_to_the_stuck_threshold_count_from_progress_or_the_growing_transcript(
    workspace: Path, agent: Path
) -> None:
    path = summary_path(Workspace(workspace))
    summary = json.loads(path.read_text())
    session_started = {**summary, "session": SESSION, "stuck_minutes": 10.0, "quiet_since": time.time() - 4 * 60}
    data = json.loads(claude_input(workspace, agent))
    os.utime(agent, (time.time() - 3600, time.time() - 3600))
    assert "stuck in 6m" in compose(data, session_started, time.time())
    os.utime(agent, None)  # it writes now: the countdown starts over
    assert "stuck in 10m" in compose(data, session_started, time.time())
    late = {**session_started, "quiet_since": time.time() - 11 * 60}
    os.utime(agent, (time.time() - 3600, time.time() - 3600))
    assert "stuck now" in compose(data, late, time.time())
    assert "stuck" not in compose(data, {**late, "stuck_minutes": None}, time.time())


@pytest.mark.parametrize("dead", [False, True])
def test_the_line_says_stuck_now_exactly_when_the_stuck_rule_fires(dead: bool) -> None:
    """The summary carries the rule's own reading; the line applies the rule's formula to it. A
    dead agent's commits do not count for the rule, nor for the line."""
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    config = load_config(None, environ={})  # haiku: stuck after 10 minutes without progress

    def at(minute: float, type_: str, **fields: Any) -> dict[str, Any]:
        return make_event(type_, "a", start + timedelta(minutes=minute), **fields)

    events = [
        at(0, "session", session="s1", tier="haiku", model=HAIKU, source="spawn", task="app-1"),
        at(2, "activity", source="agent", session="s1"),
        *([at(3, "exit", session="s1")] if dead else []),
        at(5, "activity", source="git", hook="post-commit", commit="abc"),
    ]
    state = fold(events, "a")
    summary = json.loads(json.dumps(statusline_summary(state, config)))
    data = {"session_id": "another", "model": {"id": HAIKU, "display_name": "Haiku 4.5"}}
    quiet_from = 2 if dead else 5
    said, fired = [], []
    for seconds in (-300, -60, -1, 0, 1, 60):
        now = start + timedelta(minutes=quiet_from + 10, seconds=seconds)
        line_now = compose(data, summary, now.timestamp())
        said.append("stuck now" in line_now)
        fired.append(bool(stuck(Inputs(state, {}, config, config.prices, now, alive=not dead))))
        if seconds == -300:
            assert "stuck in 5m" in line_now
    assert said == fired == [False, False, False, False, True, True]


def test_budget_warnings_and_flags_show(workspace: Path, agent: Path) -> None:
    write_config(workspace, QUIET + "budgets: {day_usd: 3.5, task_usd: 2, agent_usd: 100}\n")
    assert run(workspace, "tick").exit_code == 0
    out, _, _ = statusline(claude_input(workspace, agent), workspace)
    assert out.endswith("| budget task 150%! | budget day 86% | FLAG budget_task\n"), out


def test_days_are_utc_days(workspace: Path, agent: Path) -> None:
    summary = json.loads(summary_path(Workspace(workspace)).read_text())
    data = json.loads(claude_input(workspace, agent))
    tomorrow = time.time() + 86_400
    assert "$0.00 today" in compose(data, summary, tomorrow)
    yesterday_noon = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12).timestamp()
    summary["days"] = {datetime.fromtimestamp(yesterday_noon, UTC).strftime("%Y-%m-%d"): 7.0}
    assert "$7.00 today" in compose(data, summary, yesterday_noon)


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (b"", "cloisterctl: no statusLine input"),
        (b"not json", "cloisterctl: no statusLine input"),
        (b"\xff\xfe", "cloisterctl: no statusLine input"),
        (b"[" * 100_000, "cloisterctl: no statusLine input"),
        (b'{"cost": {"total_cost_usd": NaN}}', "cloisterctl: no statusLine input"),  # not JSON, json's extension
        (b"[1, 2]", "? | not a cloisterctl workspace"),
        (b'{"model": 5, "cost": {"total_cost_usd": "x"}, "workspace": {"project_dir": 7}}', "? | not a cloisterctl"),
    ],
)
def test_bad_input_is_a_short_line_and_exit_code_0(tmp_path: Path, stdin: bytes, expected: str) -> None:
    out, _, _ = statusline(stdin, tmp_path)
    assert out.startswith(expected) and out.count("\n") == 1


def test_outside_a_workspace_and_before_any_summary(workspace: Path, tmp_path: Path) -> None:
    data = json.loads(claude_input(workspace))
    elsewhere = {**data, "workspace": {"project_dir": str(tmp_path)}, "cwd": str(tmp_path)}
    assert line(json.dumps(elsewhere).encode(), str(tmp_path), time.time()) == (
        "Haiku 4.5 | $0.00 session | not a cloisterctl workspace"
    )
    assert line(json.dumps(data).encode(), "/", time.time()) == (
        "Haiku 4.5 | $0.00 session | cloisterctl: no summary yet (cloisterctl tick writes it)"
    )
    assert run(workspace, "tick").exit_code == 0
    path = summary_path(Workspace(workspace))
    assert line(json.dumps(data).encode(), "/", time.time()).startswith("[haiku] Haiku 4.5 | no task | $0.00 session")
    written = json.loads(path.read_text())
    for broken in ("{", '{"version": 99}', "[]", "\udc80", json.dumps({**written, "version": "0123456789abcdef"})):
        path.write_text(broken, encoding="utf-8", errors="surrogateescape")
        assert "no summary yet" in line(json.dumps(data).encode(), "/", time.time())
    gone = tmp_path / "gone"
    gone.mkdir()
    here = os.getcwd()
    os.chdir(gone)
    try:
        gone.rmdir()  # even a working directory that no longer exists
        out, _, _ = statusline(b"{}", None)
    finally:
        os.chdir(here)
    assert out.startswith("?")


def test_run_through_click_it_prints_the_same_line(workspace: Path, agent: Path) -> None:
    done = run(workspace, "statusline", input=claude_input(workspace, agent).decode())
    assert done.exit_code == 0 and done.output.startswith("[haiku] Haiku 4.5 | app-1 | $2.00 session")
    helped = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "statusline", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(helped.stdout.split())
    assert "Claude Code's status bar" in text and "cloisterctl install statusline" in text
