from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloisterctl.ledger import statefile
from testing.helpers import REPO_ROOT, git, ledger_events


@pytest.fixture
def demo_run(tmp_path: Path) -> dict[str, object]:
    """The README's main command, as a user runs it (a separate process), with --json."""
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "demo", "--dir", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_the_demo_plays_the_whole_scenario(demo_run: dict[str, object], tmp_path: Path) -> None:
    root = Path(str(demo_run["workspace"]))
    docs = Path(str(demo_run["worktree"]))
    assert root.is_relative_to(tmp_path) and docs.is_relative_to(tmp_path)
    handoffs = demo_run["handoffs"]
    assert isinstance(handoffs, dict)
    [planner] = handoffs["planner"]
    assert (planner["trigger"], planner["from"], planner["to"], planner["step"]) == (
        "planning_complete",
        "opus",
        "sonnet",
        "completed",
    )
    [docs_agent] = handoffs["docs-agent"]
    assert (docs_agent["trigger"], docs_agent["from"], docs_agent["to"], docs_agent["step"]) == (
        "stuck",
        "haiku",
        "sonnet",
        "completed",
    )
    # Cost in STATE.md front matter, from the stand-ins' transcripts.
    for ws_root in (root, docs):
        block = statefile.read(ws_root / "STATE.md").cloister
        assert block["tier"] == "sonnet" and block["handoffs"] == 1
        assert block["cost"]["total_usd"] > 0 and set(block["cost"]["by_tier"]) >= {"sonnet"}
    # A reviewable trail: packets and cloisterctl's commits.
    assert len(list((root / ".cloister" / "handoffs").glob("2*.json"))) == 1
    subjects = git(root, "log", "--author=cloisterctl", "--format=%s")
    assert "cloister: planning_complete: opus -> sonnet applied" in subjects
    # Everything under the demo's own directory, and its "Try" lines work as printed.
    base = root.parent
    assert docs.parent == base and Path(str(demo_run["transcripts"])).parent == base
    [status_line, cost_line, html_line] = demo_run["try"]  # type: ignore[misc]
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_CONFIG_DIR"}
    status = subprocess.run(["sh", "-c", status_line], capture_output=True, text=True, env=env, timeout=60)
    assert status.returncode == 0 and "tier           sonnet" in status.stdout, status.stderr
    cost = subprocess.run(["sh", "-c", cost_line + " --json"], capture_output=True, text=True, env=env, timeout=60)
    assert cost.returncode == 0 and json.loads(cost.stdout)["total_usd"] > 0, cost.stderr
    page = subprocess.run(["sh", "-c", html_line], capture_output=True, text=True, env=env, timeout=60)
    assert page.returncode == 0 and (base / "cost.html").is_file() and "(total $0.0000)" not in page.stdout
    # The demo cleaned up its tmux server: no agent is left running.
    sessions = [e for e in ledger_events(root) if e["type"] == "session" and e.get("event") == "end"]
    assert sessions


def test_the_demo_narrates_in_plain_words(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for expected in (
        "1. Routing each task",
        "2. The planner finishes planning",
        "3. Meanwhile docs-agent",
        "4. What it cost",
        "5. Every decision is reviewable",
        "The workspace is left at",
        "with the agents' transcripts in",
        "CLAUDE_CONFIG_DIR=",
    ):
        assert expected in text
    assert "-> opus" in text and "-> haiku" in text and "-> sonnet" in text


def test_demo_sh_s_quiet_flag_after_the_subcommand_prints_only_the_directory(tmp_path: Path) -> None:
    """`bash scripts/demo.sh -q` runs `cloisterctl demo -q` (its arguments go after the subcommand)."""
    script = (REPO_ROOT / "scripts" / "demo.sh").read_text()
    assert 'cloisterctl demo "$@"' in script
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "demo", "-q", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert Path(line).is_relative_to(tmp_path) and Path(line, ".cloister").is_dir()
