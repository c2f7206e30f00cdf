from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cloisterctl.model.events import make_event
from cloisterctl.state import ledger
from cloisterctl.state.workspace import Workspace
from testing.helpers import run, tree_digest


def test_status_of_a_fresh_workspace(workspace: Path) -> None:
    result = run(workspace, "status", "--json")
    assert result.exit_code == 0
    view = json.loads(result.output)
    assert view["agent"] == "repo"
    assert view["status"] == "new"
    assert view["tier"] is None
    assert view["state_md"] == "in sync"
    text = run(workspace, "status").output
    assert "agent          repo (new)" in text


def test_status_shows_routing_cost_and_last_decision(workspace: Path) -> None:
    ws = Workspace(workspace)
    t = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    ledger.append_segments(
        ws,
        [
            make_event(
                "route",
                "repo",
                t,
                task="bd-7",
                tier="sonnet",
                model="claude-sonnet-4-6",
                rule="complexity_routing.medium",
                complexity={"level": "medium", "source": "keywords", "confidence": 0.6},
            ),
            make_event(
                "cost",
                "repo",
                t,
                session="s1",
                usd=1.23456,
                by_model={"claude-sonnet-4-6": 1.23456},
                by_tier={"sonnet": 1.23456},
                tokens={"input": 100, "output": 50, "cache_write": 100, "cache_read": 800},
            ),
        ],
    )
    before = tree_digest(workspace)
    view = json.loads(run(workspace, "status", "--json").output)
    assert tree_digest(workspace) == before  # read-only
    assert (view["tier"], view["model"], view["task"]) == ("sonnet", "claude-sonnet-4-6", "bd-7")
    assert view["complexity"]["level"] == "medium"
    assert view["cost"]["total_usd"] == 1.2346
    assert view["cost"]["cache_hit_rate"] == 0.8
    assert view["last_decision"] == "route: bd-7 -> sonnet (complexity_routing.medium)"
    assert view["state_md"] == "stale"
    text = run(workspace, "status").output
    assert "cost           $1.23, cache hit rate 80.0%" in text


def test_status_in_an_uninitialised_repo_says_to_init(repo: Path) -> None:
    result = run(repo, "status")
    assert result.exit_code == 1
    assert (
        result.output
        == f"cloisterctl: error: {repo}: not a cloister workspace (no .cloister/); run `cloisterctl init`\n"
    )
