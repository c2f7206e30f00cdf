from __future__ import annotations

import json
from pathlib import Path

from cloisterctl import statefile

from .conftest import run


def test_demo_leaves_an_initialised_workspace(tmp_path: Path) -> None:
    result = run(tmp_path, "demo", "--dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    workspace = Path(report["workspace"])
    assert workspace.is_relative_to(tmp_path)
    assert statefile.read(workspace / "STATE.md").cloister["agent"] == "shop-agent"
    assert (workspace / ".cloister" / "ledger.jsonl").is_file()


def test_demo_narrates_in_plain_words(tmp_path: Path) -> None:
    result = run(tmp_path, "demo", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "The workspace is left at" in result.output
