"""Two developers' machines, one bare remote (issue 19, finding 2): each clone's tick speaks only
of the agents it started. Clone B pulls clone A's running agent (a fast-forward) and ticks with
its own tmux server and HOME, where A's agent's session does not exist: B records no exit for it
and shows it as A's; B's own agent and its failed test runs come back to A as history, and A's
agent is still working, its attempt still open.

Real git and a bare remote, two private tmux servers, two HOMEs, stand-in agents on both.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloisterctl.workspace import origin
from testing.helpers import TASKS, events, git, standin_config, write_config, write_tasks
from testing.team import Machine, bare_remote


@pytest.fixture
def machines(workspace: Path, tmp_path: Path) -> Iterator[tuple[Machine, Machine]]:
    remote = bare_remote(tmp_path)
    a = Machine(workspace, tmp_path / "home-a")
    write_config(a.root, standin_config(), trusted=False)
    write_tasks(a.root, TASKS)
    a.commit("cloister set up, with tasks")
    git(a.root, "remote", "add", "origin", str(remote))
    git(a.root, "push", "-q", "-u", "origin", "main")
    git(tmp_path, "clone", "-q", str(remote), str(tmp_path / "b"))
    b = Machine(tmp_path / "b", tmp_path / "home-b")
    for machine in (a, b):  # each machine trusts its own clone's config, under its own HOME
        machine.run("trust")
    try:
        yield a, b
    finally:
        for machine in (a, b):
            machine.kill_tmux()


def test_each_clone_speaks_only_of_the_agents_it_started(machines: tuple[Machine, Machine]) -> None:
    a, b = machines
    a.run("init", "--agent", "alice-bot")
    alice = a.json("spawn", "app-2", "--tier", "haiku")
    a.json("tick")
    a.commit("alice-bot at work")
    git(a.root, "push", "-q")

    git(b.root, "pull", "-q", "--ff-only")  # the fast-forward pull
    seen = b.json("status")
    assert seen["agent"] == "b" and seen["session"] is None  # B is not alice-bot
    [mate] = [m for m in seen["teammates"] if m["agent"] == "alice-bot"]
    assert mate["where"].startswith(f"on clone {origin.clone_id(str(a.root))}") and mate["reported"] == "working"
    for _ in range(2):
        b.json("tick")  # alice-bot's tmux session is not on B's server: not B's to find gone
    b_clone = origin.clone_id(str(b.root))
    assert [e for e in events(b.root, "exit") if e.get("clone") == b_clone] == []
    b.run("init", "--agent", "bob-bot")
    bob = b.json("spawn", "app-1", "--tier", "haiku")
    b.run("test", "--", sys.executable, "-c", "raise SystemExit(1)", check=False)
    b.json("tick")
    b.commit("bob-bot at work")
    git(b.root, "push", "-q")

    git(a.root, "pull", "-q", "--no-rebase", "--no-edit")
    a.json("tick")
    mine = a.json("status")
    assert mine["agent"] == "alice-bot" and mine["session"] == alice["session"] and mine["status"] == "working"
    [bob_seen] = [m for m in mine["teammates"] if m["agent"] == "bob-bot"]
    assert bob_seen["where"].startswith(f"on clone {b_clone}") and bob_seen["session"] == bob["session"]
    attempts = {(x["agent"], x["task"]): x for x in a.json("outcomes")["attempts"]}
    assert attempts[("alice-bot", "app-2")]["ending"] == "open"  # not abandoned by B's view
    assert attempts[("bob-bot", "app-1")]["ending"] == "open"
    listed = {row["agent"]: row for row in a.json("agents", "--all")}
    assert listed["bob-bot"]["runtime"] == "elsewhere" and listed["bob-bot"]["status"] == "working"
    # B's failing test run is bob-bot's, not alice-bot's: nothing of it reaches alice-bot's state.
    assert "test_failure" not in mine["flags"]
    state = b.json("status")
    assert state["agent"] == "bob-bot" and state["session"] == bob["session"]
