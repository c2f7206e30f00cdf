from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cloisterctl.ledger import statefile
from testing.helpers import git, run, tree_digest


def test_init_lays_down_the_workspace(repo: Path) -> None:
    result = run(repo, "init", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    segment = f".cloister/ledger/{datetime.now(UTC):%Y-%m}.jsonl"  # the ledger grows in monthly segments
    assert sorted(report["created"]) == sorted(
        ["STATE.md", ".cloister/.gitignore", ".cloister/config.yaml", segment, ".gitattributes"]
    )
    assert report["agent"] == "repo"
    assert (
        repo / ".gitattributes"
    ).read_text() == ".cloister/ledger/*.jsonl merge=union\nSTATE.md merge=cloister-state\n"
    doc = statefile.read(repo / "STATE.md")
    assert doc.cloister == {"agent": "repo", "status": "new", "handoffs": 0}
    assert doc.front_matter["title"] == "repo"
    assert "## Decisions" in doc.body
    # The commented config is valid as shipped, and changes nothing.
    assert run(repo, "config", "validate").exit_code == 0
    # .cloister/local/ is ignored by git; the rest is tracked.
    (repo / ".cloister" / "local").mkdir(exist_ok=True)
    (repo / ".cloister" / "local" / "offsets.json").write_text("{}")
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    assert ".cloister/local" not in status
    assert f"?? {segment}" in status
    assert "?? STATE.md" in status


def test_second_init_changes_no_byte(repo: Path) -> None:
    assert run(repo, "init").exit_code == 0
    before = tree_digest(repo)
    result = run(repo, "init", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["created"] == []
    assert json.loads(result.output)["updated"] == []
    assert tree_digest(repo) == before


def test_init_never_overwrites_what_a_user_wrote(repo: Path) -> None:
    (repo / "STATE.md").write_text("# My notes\r\n\r\nkeep me\r\n")
    (repo / ".cloister").mkdir()
    (repo / ".cloister" / "config.yaml").write_text("tick:\n  commit: false\n")
    (repo / ".gitattributes").write_text("*.png binary")
    assert run(repo, "init").exit_code == 0
    assert (repo / ".cloister" / "config.yaml").read_text() == "tick:\n  commit: false\n"
    assert (
        repo / ".gitattributes"
    ).read_text() == "*.png binary\n.cloister/ledger/*.jsonl merge=union\nSTATE.md merge=cloister-state\n"
    text = (repo / "STATE.md").read_bytes()
    # The user's file keeps every byte; only a front-matter block is added in front, in CRLF.
    assert text.endswith(b"# My notes\r\n\r\nkeep me\r\n")
    assert text.startswith(b"---\r\ncloister:\r\n  agent: repo\r\n")
    before = tree_digest(repo)
    assert run(repo, "init").exit_code == 0
    assert tree_digest(repo) == before


def test_init_names_the_agent_once(repo: Path) -> None:
    assert run(repo, "init", "--agent", "Planner One").exit_code == 0
    assert statefile.read(repo / "STATE.md").cloister["agent"] == "Planner-One"
    before = tree_digest(repo)
    assert run(repo, "init", "--agent", "Planner One").exit_code == 0
    assert tree_digest(repo) == before


def test_naming_the_agent_of_a_committed_workspace_is_a_commit_of_its_own(repo: Path) -> None:
    """A clone or a worktree whose ledger is in git: `init --agent` commits what it recorded, saying
    so, and leaves the tree clean; the first init leaves its files for the user to commit."""
    first = json.loads(run(repo, "init", "--json").output)
    assert first["commit"] is None and git(repo, "log", "--format=%s").splitlines() == ["initial"]
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "cloister")
    (repo / "work.txt").write_text("staged, the user's\n")
    git(repo, "add", "work.txt")
    named = json.loads(run(repo, "init", "--agent", "bob-bot", "--json").output)
    assert named["commit"] and git(repo, "log", "-1", "--format=%s").strip() == "cloister: init bob-bot"
    assert git(repo, "status", "--porcelain") == "A  work.txt\n"  # the user's staged file stays theirs
    assert json.loads(run(repo, "init", "--agent", "bob-bot", "--json").output)["commit"] is None


def test_init_outside_git_is_a_one_line_error(tmp_path: Path) -> None:
    result = run(tmp_path, "init")
    assert result.exit_code == 1
    assert (
        result.output
        == f"cloisterctl: error: {tmp_path.resolve()}: not inside a git work tree (run `git init` first)\n"
    )


def test_init_with_invalid_state_md_fails_and_leaves_it(repo: Path) -> None:
    (repo / "STATE.md").write_text("---\ntitle: [broken\n---\n")
    result = run(repo, "init")
    assert result.exit_code == 1
    assert "STATE.md:3: invalid YAML in front matter" in result.output
    assert (repo / "STATE.md").read_text() == "---\ntitle: [broken\n---\n"


def test_init_from_a_subdirectory_uses_the_work_tree_root(repo: Path) -> None:
    sub = repo / "src" / "pkg"
    sub.mkdir(parents=True)
    assert run(sub, "init").exit_code == 0
    assert (repo / "STATE.md").is_file()
    assert not (sub / "STATE.md").exists()
