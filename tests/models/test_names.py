"""The one safe-name pattern: every real id passes, nothing that could be a path, a flag or a
trailer does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cloisterctl.errors import CloisterError
from cloisterctl.models.names import PATTERN, file_in, is_safe_name, name_problem, one_line
from cloisterctl.workspace.layout import slug
from testing.helpers import DATA

FIXTURES = DATA / "fixtures"


def _real_ids() -> set[str]:
    """Every issue id in the beads fixtures, every session id in the Claude Code ones."""
    found: set[str] = set()
    for path in (FIXTURES / "beads").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            data = json.loads(line)
            if data.get("_type", "issue") == "issue":
                found.add(data["id"])
                found.update(dep["depends_on_id"] for dep in data.get("dependencies") or [])
    for path in (FIXTURES / "claude-code").rglob("*.jsonl"):
        found.add(path.stem)
        for line in path.read_text().splitlines():
            session = json.loads(line).get("sessionId") if line.strip().startswith("{") else None
            if isinstance(session, str):
                found.add(session)
    return found


def test_every_real_id_is_a_safe_name() -> None:
    ids = _real_ids()
    assert len(ids) > 10 and any(len(i) == 36 for i in ids)  # beads ids and session UUIDs both seen
    ours = ["20261208T001020-1a2b3c", "next-20261208T001020-1a2b3c", "spawn-20261208T001020-1a2b3c", "0f1e2d3c4b5a6978"]
    for name in [*ids, *ours, "bd-a1b2", "cloister-3.1", "myapp-9k1x.1", "alice@laptop", slug("Planner One")]:
        assert is_safe_name(name), name
        assert re.fullmatch(PATTERN, name)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../../../../home/me/.claude/CLAUDE",
        "..",
        ".hidden",
        "a/b",
        "-rf",
        "--status=closed",
        "h\x00x",
        "bd-1\n\nCloister-Commit: bookkeeping",
        "tab\there",
        "space here",
        "é",
        "x" * 129,
        None,
        7,
    ],
)
def test_what_could_be_a_path_a_flag_or_a_trailer_is_not(bad: object) -> None:
    assert not is_safe_name(bad)
    assert not (isinstance(bad, str) and re.fullmatch(PATTERN, bad))
    assert "is not a safe name" in (name_problem("task id", bad) or "")


def test_file_in_keeps_a_path_inside_its_directory(tmp_path: Path) -> None:
    assert file_in(tmp_path, "h-1.json") == tmp_path / "h-1.json"
    for bad in ("../x.json", "/etc/passwd", "..", "a/../../b", "x\x00.md"):
        with pytest.raises(CloisterError, match="would leave the directory"):
            file_in(tmp_path, bad)


def test_one_line_leaves_no_line_break_or_control_character() -> None:
    text = one_line("stuck: haiku -> sonnet\n\nCloister-Commit: bookkeeping\r\x00\x1b[31m\u0085x")
    assert "\n" not in text and "\r" not in text and "\x00" not in text and "\x1b" not in text
    assert text == "stuck: haiku -> sonnet Cloister-Commit: bookkeeping [31m x"
    assert len(one_line("y" * 1000)) == 200
