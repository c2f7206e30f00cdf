"""What a line names is checked like its shape, and no line -- forged, huge, deep, or one of a
million bad ones -- breaks or floods a command (issue 20). The ledger is committed and merged from
other clones: every case here is one a teammate's push can bring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cloisterctl.ledger import segments
from cloisterctl.ledger.commit import commit_message
from cloisterctl.ledger.events import make_event
from cloisterctl.ledger.store import snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import DATA, at, cli, git, tree_digest

UNSAFE_NAMES = DATA / "bad" / "ledger-unsafe-names.jsonl"
TIMEOUT = 120  # seconds any one command may take here; a hang fails the test


def _pulled(ws: Path, data: bytes) -> Path:
    """``data`` appended to this month's segment and committed, as a pull from a teammate would."""
    path = Workspace(ws).ledger_files()[-1]
    with path.open("ab") as handle:
        handle.write(data)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "pulled from a teammate")
    return path


def _outside(root: Path, clone: Path) -> dict[str, str]:
    """Every file under ``root`` but the clone and the machine-local caches (which live outside the
    work tree by design: ``~/.cache/cloisterctl``)."""
    inside = f"{clone.relative_to(root)}/" if clone.is_relative_to(root) else None
    return {
        name: digest
        for name, digest in tree_digest(root).items()
        if not (inside and name.startswith(inside)) and "/.cache/cloisterctl/" not in f"/{name}"
    }


def test_every_unsafe_name_is_a_bad_line_reported_and_skipped(workspace: Path) -> None:
    lines = UNSAFE_NAMES.read_bytes()
    path = _pulled(workspace, lines)
    count = len(lines.splitlines())
    result = cli(workspace, "status", "--json", check=False, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    name = path.relative_to(workspace).as_posix()
    problems = [p for p in json.loads(result.stdout)["problems"] if p.startswith(f"{name}:")]
    assert len(problems) == count, problems
    assert all("safe name" in p or "wrong shape" in p for p in problems), problems
    kept = {event["id"] for event in snapshot(Workspace(workspace)).events or []}
    assert not kept & {json.loads(line)["id"] for line in lines.splitlines()}


def test_a_forged_handoff_id_is_refused_and_nothing_is_written_outside_the_clone(
    agent_ws: Path, isolated_env: Path, tmp_path: Path
) -> None:
    forged = UNSAFE_NAMES.read_bytes().splitlines()[0]
    assert b'"handoff":"../../../../home/me/.claude/CLAUDE"' in forged
    before = _outside(tmp_path, agent_ws), _outside(isolated_env, agent_ws)
    path = _pulled(agent_ws, forged + b"\n")
    number = len(path.read_bytes().splitlines())
    for _ in range(2):
        result = cli(agent_ws, "tick", "--json", check=False, timeout=TIMEOUT)
        assert result.returncode == 0, result.stderr
        [report] = json.loads(result.stdout)
        label = path.relative_to(agent_ws).as_posix()
        assert any(p.startswith(f"{label}:{number}: handoff event: field 'handoff'") for p in report["problems"])
    assert snapshot(Workspace(agent_ws)).state.handoffs == {}  # no handoff, so none carried out
    assert not [line for line in path.read_text().splitlines() if '"type":"handoff"' in line and "forged" not in line]
    assert not (tmp_path.parent / "home" / "me").exists() and not (isolated_env / ".claude").exists()
    assert (_outside(tmp_path, agent_ws), _outside(isolated_env, agent_ws)) == before


READ_AND_MEASURE = """
import resource, sys
from pathlib import Path
from cloisterctl.ledger import segments
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = segments.read_events(Path(sys.argv[1]), label="L")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, len(result.events), "|".join(result.problems))
"""


def test_a_huge_line_is_skipped_by_its_length_without_being_read_whole(workspace: Path, tmp_path: Path) -> None:
    ws = Workspace(workspace)
    segments.append_segments(ws, [make_event("route", "repo", at("2026-12-01T10:00:00Z"), task="bd-1", tier="haiku")])
    path = ws.ledger_files()[-1]
    huge = 50 * 1024 * 1024  # a 2 GB line peaked at 8.2 GB; this one must cost no more than a chunk or two
    with path.open("ab") as handle:
        handle.write(b'{"id":"big","ts":"2026-12-01T10:00:01.000000Z","type":"route","agent":"repo","pad":"')
        for _ in range(huge // (1 << 20)):
            handle.write(b"a" * (1 << 20))
        handle.write(b'"}\n')
    segments.append_segments(ws, [make_event("route", "repo", at("2026-12-01T10:00:02Z"), task="bd-2", tier="opus")])
    measured = subprocess.run(
        [sys.executable, "-c", READ_AND_MEASURE, str(path)], capture_output=True, text=True, timeout=TIMEOUT
    )
    grown_kib, events, problems = measured.stdout.split(" ", 2)
    assert int(grown_kib) < 16 * 1024, f"peak RSS grew by {int(grown_kib) // 1024} MiB reading a 50 MiB line"
    assert int(events) == 3  # the init event and the two routes around the huge line
    assert "longer than 1,048,576 (skipped unread)" in problems and problems.startswith("L:3: line of 52,428,")
    status = cli(workspace, "status", check=False, timeout=TIMEOUT)
    assert status.returncode == 0 and "longer than 1,048,576 (skipped unread)" in status.stdout + status.stderr


def test_a_million_bad_lines_print_a_few_dozen_warnings(workspace: Path) -> None:
    path = _pulled(workspace, b"not json\n" * 1_000_000)
    result = cli(workspace, "status", check=False, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    name = path.relative_to(workspace).as_posix()
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if name in line]
    assert 20 <= len(warnings) <= 30, len(warnings)
    assert f"{name}: ... and 999,980 more bad lines (skipped)" in result.stdout + result.stderr
    doctor = cli(workspace, "doctor", check=False, timeout=TIMEOUT)  # counts them all
    assert "1,000,000 bad lines skipped by every reader" in doctor.stdout


def test_a_line_nested_300000_deep_is_one_bad_line(workspace: Path) -> None:
    path = _pulled(workspace, b"[" * 300_000 + b"]" * 300_000 + b"\n")
    number = len(path.read_bytes().splitlines())
    for command in ("status", "tick"):
        result = cli(workspace, command, check=False, timeout=TIMEOUT)
        assert result.returncode == 0, result.stderr
        assert f"{number}: JSON nested too deeply (skipped)" in result.stdout + result.stderr


def test_no_text_of_an_event_adds_a_line_or_a_trailer_to_a_commit_message() -> None:
    decision = make_event(
        "decision",
        "repo",
        at("2026-12-01T10:00:00Z"),
        trigger="stuck",
        cause="stuck:bd-1",
        kind="escalation",
        status="applied",
        from_tier="haiku",
        to_tier="sonnet",
        reason="quiet\n\nCo-authored-by: Mallory <m@example.com>\nSigned-off-by: Mallory <m@example.com>\x00\x1b[2J",
    )
    route = make_event("route", "repo", at("2026-12-01T10:00:01Z"), task="bd-1", tier="sonnet")
    message = commit_message([decision, route])
    lines = message.splitlines()
    assert lines[0].startswith("cloister: stuck: haiku -> sonnet applied: quiet Co-authored-by: Mallory")
    assert lines[1:] == ["", "- route bd-1 -> sonnet"]
    assert not any(line.startswith(("Co-authored-by", "Signed-off-by")) for line in lines)
    assert "\x00" not in message and "\x1b" not in message
