"""A team through git: two clones of one repo and a bare remote, each with its own agent work,
ticks, cost and decisions; A pushes, B pulls (a merge), B pushes, A pulls with --rebase. Both
fold to the same state, STATE.md never needs a person, no tree is left dirty, and `git log -p`
shows every decision once. Then the same with a clone that has no merge driver configured.

Real git, a real bare remote and the real pre-commit (this checkout's hooks); each clone has its
own Claude Code config dir, as two machines would.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.ledger import statefile
from cloisterctl.ledger.projection import front_matter
from cloisterctl.ledger.store import snapshot
from cloisterctl.workspace.layout import Workspace
from testing.helpers import TASKS, cli, git, install_hooks, ledger_events, write_tasks
from testing.transcripts import assistant, usage_of, write_lines

pytestmark = pytest.mark.slow

SONNET = "claude-sonnet-4-5-20250929"


class Clone:
    def __init__(self, root: Path, claude: Path) -> None:
        self.root = root
        self.env = {"CLAUDE_CONFIG_DIR": str(claude)}
        self.sessions = 0

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return cli(self.root, *args, env=self.env, check=check)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, env={**os.environ, **self.env}, check=check
        )

    def work(self, tokens: int) -> None:
        """An agent session's transcript grows (on this machine only)."""
        self.sessions += 1
        session = f"{self.root.name}-s{self.sessions}"
        path = Path(self.env["CLAUDE_CONFIG_DIR"]) / "projects" / project_dir_name(self.root) / f"{session}.jsonl"
        write_lines(path, [assistant(session, f"m-{session}", f"r-{session}", SONNET, _now(), usage_of(tokens, 10))])

    def tick(self) -> dict[str, object]:
        reports = json.loads(self.run("tick", "--json").stdout)
        expected = ("conflict", "a merge is in progress")
        assert not [p for p in reports[0]["problems"] if not any(x in p for x in expected)], reports[0]["problems"]
        return reports[0]

    def clean(self) -> bool:
        return self.git("status", "--porcelain").stdout == ""

    def folded(self) -> dict[str, object]:
        return front_matter(snapshot(Workspace(self.root)).state)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def team(
    workspace: Path,
    tmp_path: Path,
    hooks_repo: tuple[Path, str],
    pc_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Clone, Clone, Path]:
    monkeypatch.setenv("PRE_COMMIT_HOME", pc_env["PRE_COMMIT_HOME"])
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    a = Clone(workspace, tmp_path / "claude-a")
    write_tasks(workspace, TASKS)
    install_hooks(workspace, hooks_repo, pc_env)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister set up, with tasks")
    git(workspace, "remote", "add", "origin", str(remote))
    git(workspace, "push", "-q", "-u", "origin", "main")
    git(tmp_path, "clone", "-q", str(remote), str(tmp_path / "b"))
    b = Clone(tmp_path / "b", tmp_path / "claude-b")
    install_hooks(b.root, hooks_repo, pc_env)
    return a, b, remote


def decisions_in_history(clone: Clone) -> dict[str, int]:
    """How many times `git log -p` adds each route and decision line."""
    added: dict[str, int] = {}
    for line in clone.git("log", "-p", "--format=").stdout.splitlines():
        if line.startswith("+{") and ('"type":"route"' in line or '"type":"decision"' in line):
            event_id = json.loads(line[1:])["id"]
            added[event_id] = added.get(event_id, 0) + 1
    return added


def both_ways(a: Clone, b: Clone, *, b_has_driver: bool) -> None:
    if b_has_driver:
        b.run("install", "git")
    a.run("usage", "add", "--model", SONNET, "--input", "100000", "--output", "0")
    a.work(50_000)
    a.tick()  # usage and cost are bookkeeping: no commit, a clean tree
    assert a.clean() and a.git("log", "-1", "--format=%s").stdout.strip() == "cloister set up, with tasks"
    a.run("route", "app-plan", "--record")  # a commit of its own, and the bookkeeping rides it
    assert a.clean()
    b.work(70_000)
    b.tick()
    b.run("route", "app-1", "--record")
    assert b.clean()

    a.git("push", "-q")
    pulled = b.git("pull", "-q", "--no-rebase", "--no-edit", check=False)
    if b_has_driver:
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr  # no STATE.md conflict, ever
    else:
        # git's text merge leaves markers in the cloister block; tick rebuilds it from the ledger.
        assert pulled.returncode != 0 and "CONFLICT (content): Merge conflict in STATE.md" in pulled.stdout
        report = b.tick()
        assert any("rebuilt from the ledger" in p for p in report["problems"])  # type: ignore[union-attr]
        assert "<<<<<<<" not in (b.root / "STATE.md").read_text()
        b.git("add", "STATE.md")
        b.git("commit", "-q", "--no-edit")
    b.tick()
    assert b.clean()
    b.git("push", "-q")

    a.work(30_000)  # more work on A before it pulls: the rebase replays it
    a.tick()
    a.run("complexity", "set", "app-2", "simple")  # what a person decided carries A's latest cost
    rebased = a.git("pull", "-q", "--rebase", check=False)
    assert rebased.returncode == 0, rebased.stdout + rebased.stderr
    a.tick()
    assert a.clean()
    a.git("push", "-q")
    b.git("pull", "-q", "--no-rebase", "--no-edit")
    b.tick()
    assert b.clean() and a.clean()
    a.git("pull", "-q", "--rebase")

    assert a.git("rev-parse", "HEAD").stdout == b.git("rev-parse", "HEAD").stdout
    # Each clone's state is its own agent's (``ledger.ownership``): the other's work is history.
    # The ledgers are the same; STATE.md's block is the view of the clone that committed last, less
    # the bookkeeping (cost) each clone took in since, which rides its next commit.
    assert ledger_events(a.root) == ledger_events(b.root)
    assert (a.folded()["agent"], b.folded()["agent"]) == ("repo", "b")

    def decided(view: dict[str, object]) -> dict[str, object]:
        return {key: value for key, value in view.items() if key not in ("cost", "budgets")}

    assert decided(statefile.read(a.root / "STATE.md").cloister) in (decided(a.folded()), decided(b.folded()))
    cost_a, cost_b = a.folded()["cost"], b.folded()["cost"]
    assert isinstance(cost_a, dict) and cost_a["total_usd"] > 0.3  # A's work and the usage, not B's
    assert isinstance(cost_b, dict) and 0 < cost_b["total_usd"] < cost_a["total_usd"]
    routes = [e for e in ledger_events(a.root) if e["type"] == "route"]
    assert sorted(e["task"] for e in routes) == ["app-1", "app-plan"]
    history = decisions_in_history(a)
    assert set(history) >= {e["id"] for e in routes} and set(history.values()) == {1}
    assert "<<<<<<<" not in (a.root / "STATE.md").read_text()


def test_two_clones_through_a_remote_with_the_merge_driver(team: tuple[Clone, Clone, Path]) -> None:
    a, b, _remote = team
    both_ways(a, b, b_has_driver=True)


def test_two_clones_through_a_remote_when_one_has_no_merge_driver(team: tuple[Clone, Clone, Path]) -> None:
    a, b, _remote = team
    assert b.git("config", "--get", "merge.cloister-state.driver", check=False).returncode == 1  # a fresh clone
    both_ways(a, b, b_has_driver=False)
