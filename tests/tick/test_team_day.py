"""Issue 19's scenario: a day of two developers, end to end. Machine A (alice) and machine B (bob),
each with its own HOME, XDG dirs, Claude config dir and tmux server, clone one bare remote and
install the README's pre-commit block verbatim with the real pre-commit. A runs a stand-in agent
on main; B runs one in an agent worktree on its own branch `docs`; both tick; B merges `docs` into
its main and pushes; A pulls (a merge) and pushes; B pulls with --rebase; a rebase stops on a
conflict on A while a tick and `route --record` run; a tick on B's detached HEAD. Along the way and
at the end, every clone's `agents`, `status`, `outcomes` and `report routing` are checked against
what actually ran, and so are the events' origins, the committed files and cloisterctl's commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.workspace import origin
from testing.helpers import (
    TASKS,
    events,
    git,
    pre_commit,
    readme_pre_commit_config,
    standin_config,
    write_config,
    write_tasks,
)
from testing.team import Machine, bare_remote
from testing.transcripts import assistant, usage_of, write_lines

pytestmark = pytest.mark.slow

UNPRICED = "claude-opus-4-8[1m]"  # a model the price table does not know (yet)
SUFFIXED = "claude-sonnet-4-5[1m]"  # Claude Code's long-context suffix on a known model: priced
# Decisions wait for a person: nothing hands off by itself while the day is played.
CONFIG = standin_config() + "handoffs:\n  guards: {require_approval: true}\n"


class Team:
    def __init__(self, a: Machine, b: Machine, docs: Machine, tmp: Path) -> None:
        self.a, self.b, self.docs, self.tmp = a, b, docs, tmp

    def tick(self, where: Machine) -> dict[str, Any]:
        """A tick, and what must hold after every tick: no problem, no tracked file touched."""
        [report] = where.json("tick")
        assert where.git("status", "--porcelain").stdout == "", report
        return report


@pytest.fixture
def team(workspace: Path, tmp_path: Path, pc_env: dict[str, str]) -> Iterator[Team]:
    remote = bare_remote(tmp_path)
    a = Machine(workspace, tmp_path / "home-alice", PRE_COMMIT_HOME=pc_env["PRE_COMMIT_HOME"])
    write_config(a.root, CONFIG, trusted=False)
    write_tasks(a.root, TASKS)
    (a.root / ".pre-commit-config.yaml").write_text(readme_pre_commit_config())  # the README's, verbatim
    (a.root / "notes.txt").write_text("base\n")
    a.commit("cloister, tasks and the hooks")
    git(a.root, "remote", "add", "origin", str(remote))
    git(a.root, "push", "-q", "-u", "origin", "main")
    git(tmp_path, "clone", "-q", str(remote), str(tmp_path / "bob"))
    b = Machine(tmp_path / "bob", tmp_path / "home-bob", PRE_COMMIT_HOME=pc_env["PRE_COMMIT_HOME"])
    for machine in (a, b):  # README "Working as a team", once per clone
        machine.run("install", "git")
        machine.run("trust")
        pre_commit("install", cwd=machine.root, env={**pc_env, **machine.env})
    docs = b.at(tmp_path / "docs")  # git names the worktree `docs`
    try:
        yield Team(a, b, docs, tmp_path)
    finally:
        for machine in (a, b):
            machine.kill_tmux()


def _transcript(machine: Machine, session: str, model: str, tokens: int) -> None:
    """A session's transcript on this machine only (Claude Code's layout under its config dir)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    path = Path(machine.env["CLAUDE_CONFIG_DIR"]) / "projects" / project_dir_name(machine.root) / f"{session}.jsonl"
    write_lines(path, [assistant(session, f"m-{session}", f"r-{session}", model, now, usage_of(tokens, 10))])


def _teammate(view: dict[str, Any], agent: str) -> dict[str, Any]:
    [mate] = [m for m in view["teammates"] if m["agent"] == agent]
    return mate


def _all_events(*machines: Machine) -> list[dict[str, Any]]:
    return [e for m in machines for e in events(m.root)]


def test_a_day_of_two_developers_with_merges_both_ways(team: Team) -> None:
    a, b, docs = team.a, team.b, team.docs
    clone_a, clone_b = origin.clone_id(str(a.root)), origin.clone_id(str(b.root))
    assert clone_a != clone_b

    # Morning, A: alice-bot on main, at work on app-2; a session of an unpriced model on A.
    a.run("init", "--agent", "alice-bot")
    alice = a.json("spawn", "app-2", "--tier", "haiku")
    _transcript(a, "a-by-hand", UNPRICED, 40_000)
    _transcript(a, "a-long", SUFFIXED, 10_000)
    team.tick(a)
    assert a.json("status")["unpriced_models"] == [UNPRICED]  # named; the suffixed id has its family's price
    a.run("complexity", "set", "app-plan", "expert")  # a person's decision: a commit, the cost rides it
    assert a.git("log", "-1", "--format=%s").stdout.strip() == "cloister: task app-plan complexity expert"
    committed_state = a.git("show", "HEAD:STATE.md").stdout
    assert f"unpriced_models:\n  - {UNPRICED}" in committed_state or f"unpriced_models: [{UNPRICED}" in committed_state
    (a.root / "alice.txt").write_text("alice's work\n")
    a.commit("alice: first work")
    a.git("push", "-q")

    # B pulls, makes an agent worktree on its own branch and runs docs-bot there.
    b.git("pull", "-q", "--no-rebase", "--no-edit")
    b.run("init", "--agent", "bob-bot")
    b.git("worktree", "add", "-q", "-b", "docs", str(docs.root))
    docs.run("trust")
    docs.run("init", "--agent", "docs-bot")
    docs_bot = docs.json("spawn", "app-1", "--tier", "haiku")
    for where in (a, b, docs):
        team.tick(where)
    seen = b.json("status")
    assert (seen["agent"], seen["session"]) == ("bob-bot", None)
    assert _teammate(seen, "alice-bot")["where"] == f"on clone {clone_a} (main)"
    assert _teammate(seen, "alice-bot")["reported"] == "working"
    assert _teammate(docs.json("status"), "alice-bot")["where"] == f"on clone {clone_a} (main)"
    (docs.root / "GUIDE.md").write_text("# guide\n")
    docs.commit("docs: a guide")
    team.tick(docs)

    # B merges docs into its main and pushes.
    b.git("merge", "-q", "--no-edit", "docs")
    team.tick(b)
    merged = b.json("status")
    assert merged["agent"] == "bob-bot" and merged["session"] is None
    assert _teammate(merged, "docs-bot")["where"] == "in worktree docs"  # its history came with the merge
    assert _teammate(merged, "docs-bot")["reported"] == "working"
    assert docs.json("status")["session"] == docs_bot["session"]
    b.git("push", "-q")

    # A pulls (a merge), ticks, pushes.
    (a.root / "alice.txt").write_text("alice's work, more\n")
    a.commit("alice: more work")
    a.git("pull", "-q", "--no-rebase", "--no-edit")
    for _ in range(2):
        team.tick(a)  # docs-bot's session is not on A's tmux server: not A's to find gone
    mine = a.json("status")
    assert mine["agent"] == "alice-bot" and mine["session"] == alice["session"] and mine["status"] == "working"
    assert _teammate(mine, "docs-bot")["where"] == f"on clone {clone_b} (docs)"
    assert _teammate(mine, "docs-bot")["reported"] == "working"
    a.git("push", "-q")

    # B pulls with --rebase over a commit of its own.
    (b.root / "bob.txt").write_text("bob's work\n")
    b.commit("bob: work")
    b.git("pull", "-q", "--rebase")
    team.tick(b)
    b.git("push", "-q")

    # A rebase stopped on a conflict (A and B both changed notes.txt) on B: a tick and a route during it.
    a.git("pull", "-q", "--no-rebase", "--no-edit")  # a fast-forward
    team.tick(a)
    (a.root / "notes.txt").write_text("alice\n")
    a.commit("alice: notes")
    a.git("push", "-q")
    (b.root / "notes.txt").write_text("bob\n")
    b.commit("bob: notes")
    stopped = b.git("pull", "--rebase", check=False)
    assert stopped.returncode != 0 and "CONFLICT" in stopped.stdout + stopped.stderr
    [held] = b.json("tick")
    assert held["held"] == "a rebase is in progress" and held["commit"] is None
    routed = b.run("route", "app-plan", "--record")
    assert "recorded locally" in routed.stdout
    assert routed.stderr.strip() == (  # one whole sentence, never cut
        "cloisterctl: a rebase is in progress: recorded locally (.cloister/local/); "
        "the next tick after it finishes commits it"
    )
    assert b.git("status", "--porcelain").stdout.splitlines() == ["UU notes.txt"]
    assert b.json("status")["waiting"].startswith("a rebase is in progress")
    (b.root / "notes.txt").write_text("alice and bob\n")
    b.git("add", "notes.txt")
    b.git("rebase", "--continue")  # just works: nothing of cloisterctl's in the index or the tree
    assert team.tick(b)["commit"]
    assert b.git("log", "-1", "--format=%s").stdout.strip().startswith("cloister: route app-plan -> ")
    b.git("push", "-q")

    # A detached HEAD on B: a route is recorded locally, nothing committed; back on main the next
    # tick commits it. `complexity set` would write a tracked file: it refuses, writing nothing.
    b.git("checkout", "-q", "--detach")
    head = b.git("rev-parse", "HEAD").stdout
    refused = b.run("complexity", "set", "app-2", "simple", check=False)
    assert refused.returncode == 1 and "HEAD is detached" in refused.stderr
    b.run("route", "app-2", "--record")
    detached = team.tick(b)
    assert detached["held"] == "HEAD is detached" and detached["commit"] is None
    assert b.git("rev-parse", "HEAD").stdout == head
    b.git("checkout", "-q", "main")
    assert team.tick(b)["commit"]
    assert b.git("log", "-1", "--format=%s").stdout.strip().startswith("cloister: route app-2 -> ")
    b.git("push", "-q")
    a.git("pull", "-q", "--rebase")
    team.tick(a)

    _check_views(team, alice, docs_bot, clone_a, clone_b)
    _check_origins(team, clone_a, clone_b, alice, docs_bot)
    _check_committed(team)


def _check_views(team: Team, alice: dict[str, Any], docs_bot: dict[str, Any], clone_a: str, clone_b: str) -> None:
    """Each clone's agents, status, outcomes and report routing tell the truth about every agent."""
    a, b, docs = team.a, team.b, team.docs
    expected_own = {a: ("alice-bot", alice["session"]), b: ("bob-bot", None), docs: ("docs-bot", docs_bot["session"])}
    for where, (agent, session) in expected_own.items():
        view = where.json("status")
        assert (view["agent"], view["session"]) == (agent, session), where.root
        for mate in view["teammates"]:
            assert "dead" not in mate["reported"] and not mate["reported"].startswith("exited"), mate
        listed = {row["agent"]: row for row in where.json("agents", "--all")}
        assert {"alice-bot", "docs-bot"} <= set(listed), listed
        for row in listed.values():
            assert row["status"] != "dead", row
        assert listed["alice-bot"]["session"] == alice["session"]
        assert listed["docs-bot"]["session"] == docs_bot["session"]
        attempts = {(x["agent"], x["task"]): x for x in where.json("outcomes")["attempts"]}
        assert attempts[("alice-bot", "app-2")]["ending"] == "open", attempts[("alice-bot", "app-2")]
        assert attempts[("docs-bot", "app-1")]["ending"] == "open", attempts
        # An attempt ends only by its owner: bob-bot's route of app-2 (on the detached HEAD) ends its
        # app-plan attempt; no merge, pull or other clone's view ends any.
        ended = [(x["agent"], x["task"]) for x in attempts.values() if x["ending"] in ("abandoned", "failed")]
        if ("bob-bot", "app-2") in attempts:  # not in the docs worktree: its branch has not merged main since
            assert ended == [("bob-bot", "app-plan")], attempts
            assert attempts[("bob-bot", "app-2")]["n"] > attempts[("bob-bot", "app-plan")]["n"]
        else:
            assert ended == [], attempts
        cells = where.json("report", "routing")["cells"]
        assert sum(cell["failures"] for cell in cells) == 0, cells  # nothing learned a failure that was not
    a_view = a.json("status")
    assert _teammate(a_view, "docs-bot")["where"] == f"on clone {clone_b} (docs)"
    assert _teammate(a_view, "bob-bot")["where"] == f"on clone {clone_b} (main)"
    assert _teammate(b.json("status"), "alice-bot")["where"] == f"on clone {clone_a} (main)"
    assert UNPRICED in a_view["unpriced_models"]


def _check_origins(team: Team, clone_a: str, clone_b: str, alice: dict[str, Any], docs_bot: dict[str, Any]) -> None:
    """Every event says its clone and worktree; a machine's facts are only about its own agents."""
    a, b = team.a, team.b
    found = _all_events(a, b, team.docs)
    assert [e for e in found if not e.get("clone") or not e.get("worktree")] == []
    started = {
        e["session"]: e["clone"]
        for e in found
        if e["type"] == "session" and e.get("event") == "start" and e.get("source") == "spawn"
    }
    assert started == {alice["session"]: clone_a, docs_bot["session"]: clone_b}
    for event in found:  # a session's exit or end is observed only by the clone that started it
        if event["type"] == "exit" or (event["type"] == "session" and event.get("event") == "end"):
            assert started.get(event.get("session"), event["clone"]) == event["clone"], event
    # Whatever is about an agent was written where that agent lives.
    owner = {"alice-bot": (clone_a, "main"), "docs-bot": (clone_b, "docs"), "bob-bot": (clone_b, "main")}
    misplaced = [e for e in found if e.get("agent") in owner and (e["clone"], e["worktree"]) != owner[e["agent"]]]
    assert misplaced == []
    # The README's hooks ran on both machines: commits, merges, checkouts and rewrites were recorded.
    hooks = {(e["clone"], e.get("hook")) for e in found if e["type"] == "activity"}
    assert {(clone_a, "post-commit"), (clone_a, "post-merge")} <= hooks, hooks
    assert {(clone_b, hook) for hook in ("post-commit", "post-merge", "post-checkout", "post-rewrite")} <= hooks, hooks


def _check_committed(team: Team) -> None:
    """No machine path is committed; cloisterctl's own commits are few, distinct and say what happened."""
    a = team.a
    machine_paths = (str(team.a.home), str(team.b.home), str(team.tmp))
    leaks = [
        (name, line.strip()[:200])
        for name in a.git("ls-files").stdout.splitlines()
        if (a.root / name).is_file()
        for line in (a.root / name).read_text(encoding="utf-8", errors="replace").splitlines()
        if any(path in line for path in machine_paths)
    ]
    assert leaks == []
    own = a.git("log", "--author=cloisterctl", "--format=%s").stdout.splitlines()
    assert sorted(own) == sorted(
        [
            "cloister: init alice-bot",
            "cloister: spawn alice-bot on app-2 (haiku)",
            "cloister: task app-plan complexity expert",
            "cloister: init bob-bot",
            "cloister: init docs-bot",
            "cloister: spawn docs-bot on app-1 (haiku)",
            "cloister: route app-plan -> opus",
            "cloister: route app-2 -> haiku",
        ]
    ), own  # a handful, each saying what happened, none twice, no bookkeeping of its own
    assert len(own) < len(a.git("log", "--format=%s").stdout.splitlines()) / 2
