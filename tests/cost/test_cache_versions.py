"""The transcript cache and its running tally are versioned by the code that shapes them: a change
to the tally's code rebuilds the tally from the rows held (no transcript read again), a change to
how rows are read reads the transcripts again, and neither code takes the other's files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cloisterctl.cost.cache_versions import REFRESH_MODULES, ROW_MODULES, TALLY_MODULES, rows_version, tally_version
from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.workspace.layout import Workspace
from testing.codecopy import copy_cli, copy_eval, edited_copy
from testing.helpers import cli
from testing.imports import imported
from testing.transcripts import assistant, usage_of, write_lines

HAIKU45 = "claude-haiku-4-5-20251001"
M = 1_000_000
VERSIONS = "cloisterctl.cost.cache_versions"


def test_each_version_covers_what_its_modules_import() -> None:
    # What a row is: the records and the reader of transcript lines (and what it checks them with).
    rows = imported(
        "cloisterctl.cost.usage",
        "cloisterctl.cost.transcripts.parse",
        "cloisterctl.cost.dedup",
        within=("cloisterctl",),
    )
    assert rows - {"cloisterctl.errors"} - set(ROW_MODULES) == set()
    # What the tally's sums are. The ledger reaches it only as the attribution, and the config as
    # prices and tier patterns: data, in the tally's basis.
    tally = imported(
        "cloisterctl.cost.running_tally",
        "cloisterctl.cost.tally",
        "cloisterctl.cost.attribution",
        within=("cloisterctl.cost", "cloisterctl.models"),
    )
    assert tally - set(TALLY_MODULES) == set()
    assert set(ROW_MODULES) | set(TALLY_MODULES) <= set(REFRESH_MODULES)


def _files(cache: Path) -> dict[str, Any]:
    """The manifest's and the tally's version and generation."""
    manifest = json.loads((cache / "manifest.json").read_bytes())
    tally = json.loads((cache / "tally.json").read_bytes())
    return {
        "manifest": (manifest["version"], manifest["generation"]),
        "tally": (tally["version"], tally["generation"]),
    }


def _total(output: str) -> float:
    total: float = json.loads(output)["total_usd"]
    return total


def test_changed_cost_code_rebuilds_what_it_shapes_and_nothing_else(
    workspace: Path, isolated_env: Path, tmp_path: Path
) -> None:
    transcript = isolated_env / ".claude" / "projects" / project_dir_name(workspace) / "s.jsonl"
    write_lines(transcript, [assistant("s", "m1", "q1", HAIKU45, "2026-11-01T10:00:00Z", usage_of(M, 0))])
    # --record: a command the `cost` output memo never answers, so each run reads its caches.
    assert _total(cli(workspace, "cost", "--record", "--json").stdout) == 1.0
    cache = Workspace(workspace).cache_dir / "usage" / "workspace"
    before = _files(cache)
    assert before["manifest"][0] == rows_version() and before["tally"][0] == tally_version()

    tally_code = edited_copy(tmp_path / "tally-code", "cost/tally.py")
    assert _total(copy_cli(tally_code, workspace, "cost", "--record", "--json")) == 1.0
    after = _files(cache)
    assert after["manifest"] == before["manifest"]  # the rows were kept: no transcript read again
    assert after["tally"][0] == copy_eval(tally_code, f"{VERSIONS}.tally_version()", VERSIONS) != tally_version()

    row_code = edited_copy(tmp_path / "row-code", "cost/transcripts/parse.py")
    assert _total(copy_cli(row_code, workspace, "cost", "--record", "--json")) == 1.0
    again = _files(cache)
    # Read again and saved under the new version (a cache taken as it was would not be saved).
    assert again["manifest"][0] == copy_eval(row_code, f"{VERSIONS}.rows_version()", VERSIONS) != rows_version()
    assert again["manifest"][1] != before["manifest"][1]

    assert _total(cli(workspace, "cost", "--record", "--json").stdout) == 1.0  # and back
    assert _files(cache)["manifest"][0] == rows_version() and _files(cache)["tally"][0] == tally_version()
