"""Identity is per worktree, not per branch (issue 19, findings 1 and 4): an agent worktree on its
own branch names its own agent; merging that branch into main brings its history and outcomes but
never changes main's agent, its session or its successes; a worktree made after `init` is not the
other agent before its own `init`, does not count the other agent's cost, and reads the tasks from
the main checkout.

Real git worktrees, a real tmux server, stand-in agents in both worktrees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cloisterctl.ledger import statefile
from cloisterctl.tasks.beads import open_tracker
from testing.helpers import TASKS, cli, git, standin_config, tick_json, tmux_sessions, write_config, write_tasks


def _status(ws: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cli(ws, "status", "--json").stdout)
    return data


def _close(ws: Path, task_id: str) -> None:
    write_tasks(ws, [{**task, "status": "closed"} if task["id"] == task_id else task for task in TASKS])


def _commit(ws: Path, message: str) -> None:
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "--allow-empty", "-m", message)


def test_merging_an_agents_branch_keeps_this_worktrees_agent_and_its_successes(
    agent_ws: Path, tmux_socket: str, tmp_path: Path
) -> None:
    main = agent_ws
    # Decisions wait for a person: nothing hands off by itself in this test.
    config = standin_config() + "handoffs:\n  guards: {require_approval: true}\n"
    write_config(main, config)
    assert cli(main, "init", "--agent", "alice-bot").returncode == 0
    write_tasks(main, TASKS)
    _commit(main, "alice-bot and the tasks")
    alice = json.loads(cli(main, "spawn", "app-2", "--json").stdout)
    tick_json(main)
    _commit(main, "alice-bot at work")

    docs = tmp_path / "docs"
    git(main, "worktree", "add", "-q", "-b", "docs", str(docs))
    # Finding 4: before its own init, the new worktree is not alice-bot and has spent nothing.
    before = _status(docs)
    assert before["agent"] == "docs" and before["status"] == "new" and before["session"] is None
    assert before["cost"] is None or before["cost"]["total_usd"] == 0
    assert [m["agent"] for m in before["teammates"]] == ["alice-bot"]
    assert before["teammates"][0]["where"] == "in worktree main"

    assert cli(docs, "init", "--agent", "docs-bot").returncode == 0
    write_config(docs, config)  # the same file, trusted in this work tree too
    docs_bot = json.loads(cli(docs, "spawn", "app-1", "--tier", "haiku", "--json").stdout)
    tick_json(docs)
    _commit(docs, "docs-bot at work")
    assert _status(docs)["agent"] == "docs-bot"

    # Alice's task closes in the main checkout: the docs worktree reads the same tasks at once.
    _close(main, "app-2")
    assert open_tracker(docs, use_cli="never").all_tasks()["app-2"].status == "closed"
    tick_json(main)
    _commit(main, "app-2 done")

    git(main, "merge", "-q", "--no-edit", "-X", "ours", "docs")  # STATE.md: main's (a tick rebuilds it anyway)
    tick_json(main)
    after = _status(main)
    assert after["agent"] == "alice-bot" and after["session"] == alice["session"]
    assert after["status"] in ("working", "idle", "awaiting-approval")
    assert statefile.read(main / "STATE.md").cloister["agent"] == "alice-bot"
    [mate] = [m for m in after["teammates"] if m["agent"] == "docs-bot"]
    assert mate["where"] == "in worktree docs" and mate["reported"] == "working"
    # Outcomes: alice-bot's close is still a success; docs-bot's attempt is its own, still open.
    attempts = json.loads(cli(main, "outcomes", "--json").stdout)["attempts"]
    by_agent = {(a["agent"], a["task"]): a for a in attempts}
    assert by_agent[("alice-bot", "app-2")]["ending"] == "closed" and by_agent[("alice-bot", "app-2")]["success"]
    assert by_agent[("docs-bot", "app-1")]["ending"] == "open"
    listed = {row["agent"]: row for row in json.loads(cli(main, "agents", "--all", "--json").stdout)}
    assert listed["alice-bot"]["owner"] == "here" and listed["docs-bot"]["owner"] == "here"  # each its worktree's
    assert listed["docs-bot"]["session"] == docs_bot["session"]
    assert cli(main, "stop", "alice-bot").returncode == 0
    stopped = _status(main)
    assert stopped["session"] is None and stopped["runtime"] == "stopped"
    assert _status(docs)["session"] == docs_bot["session"]  # the other worktree's agent runs on
    assert len(tmux_sessions(tmux_socket)) == 1
