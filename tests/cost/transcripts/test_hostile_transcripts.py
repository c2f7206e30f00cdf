"""Broken transcripts are a problem for that line or that file only: a symlink loop in the projects
dir, a line nested too deep, a token count no request has."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cloisterctl.cost.transcripts.locate import discover, project_dir_name
from testing.helpers import run
from testing.transcripts import assistant, usage_of, write_lines

HAIKU = "claude-haiku-4-5-20251001"


def test_a_symlink_loop_skips_that_entry_only(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    write_lines(projects / "p" / "s.jsonl", [assistant("s", "m1", "q1", HAIKU, "2026-11-01T10:00:00Z", usage_of(1, 1))])
    os.symlink("loop", projects / "loop")
    os.symlink("self.jsonl", projects / "p" / "self.jsonl")
    os.symlink("x", projects / "p" / "x")
    (projects / "p" / "x").unlink()
    os.symlink("x", projects / "p" / "x")  # a directory entry that points at itself
    found = discover([tmp_path])
    assert [f.path.name for f in found] == ["s.jsonl"]


def test_bad_lines_are_reported_and_the_rest_is_counted(workspace: Path, isolated_env: Path) -> None:
    path = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "s.jsonl"
    good = assistant("s", "m1", "q1", HAIKU, "2026-11-01T10:00:00Z", usage_of(1_000_000, 0))
    deep = '{"type":"assistant","usage":' + "[" * 100_000 + "]" * 100_000 + "}"
    absurd = assistant("s", "m2", "q2", HAIKU, "2026-11-01T10:00:01Z", usage_of(10**30, 0))
    write_lines(path, [good, deep, absurd])
    result = run(workspace, "cost", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total_usd"] == 1.0  # the good line: 1M input tokens of haiku 4.5
    problems = " ".join(data["problems"])
    assert "line 2: not valid JSON (skipped)" in problems
    assert "line 3: message.usage has a token count past 10^12, which no request has (skipped)" in problems
