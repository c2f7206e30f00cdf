"""`cloisterctl install|uninstall subagents` and `tick`'s sync, in real repos: definitions from the
routing config, only cloisterctl's own files touched, rewritten only when the config changes."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.integrations.subagents import MARKER, front_matter
from testing.helpers import run, tick_json, write_config

AGENTS = ".claude/agents"


def _definitions(ws: Path) -> dict[str, dict[str, str]]:
    return {path.stem: dict(front_matter(path.read_text())) for path in sorted((ws / AGENTS).glob("*.md"))}


def test_install_writes_a_definition_per_tier_and_role(workspace: Path) -> None:
    result = run(workspace, "install", "subagents", "--json")
    assert result.exit_code == 0, result.output
    found = _definitions(workspace)
    assert sorted(found) == [
        "cloister-haiku",
        "cloister-implementation",
        "cloister-opus",
        "cloister-planning",
        "cloister-sonnet",
        "cloister-test-agent",
    ]
    assert found["cloister-haiku"]["model"] == "claude-haiku-4-5-20251001"
    assert found["cloister-opus"]["model"] == "claude-opus-4-7"
    haiku = found["cloister-haiku"]["description"]
    assert "trivial (typos" in haiku and "simple (" in haiku and "medium" not in haiku and "test-agent role" in haiku
    assert "expert (architecture" in found["cloister-opus"]["description"]
    for definition in found.values():
        assert set(definition) == {"name", "description", "model"}
    text = (workspace / AGENTS / "cloister-sonnet.md").read_text()
    assert text.splitlines()[1] == MARKER and str(workspace) not in text  # no machine path in a committed file
    again = run(workspace, "install", "subagents", "--json")
    assert json.loads(again.output)["changed"] == [] and len(json.loads(again.output)["unchanged"]) == 6


def test_a_users_file_is_never_replaced_or_removed(workspace: Path) -> None:
    (workspace / AGENTS).mkdir(parents=True)
    mine = workspace / AGENTS / "cloister-haiku.md"
    mine.write_text("---\nname: cloister-haiku\ndescription: mine\n---\nmy own\n")
    other = workspace / AGENTS / "reviewer.md"
    other.write_text("---\nname: reviewer\ndescription: reviews\n---\n")
    result = run(workspace, "install", "subagents")
    assert result.exit_code == 1
    assert "cloister-haiku.md exists and was not written by cloisterctl" in result.output
    assert sorted(p.name for p in (workspace / AGENTS).iterdir()) == ["cloister-haiku.md", "reviewer.md"]
    mine.unlink()
    assert run(workspace, "install", "subagents").exit_code == 0
    removed = run(workspace, "uninstall", "subagents", "--json")
    assert len(json.loads(removed.output)["removed"]) == 6
    assert [p.name for p in (workspace / AGENTS).iterdir()] == ["reviewer.md"]


def test_tick_keeps_them_in_sync_with_the_config(workspace: Path) -> None:
    [report] = tick_json(workspace)
    assert report["subagents"] == [] and not (workspace / AGENTS).exists()  # not installed: nothing
    assert run(workspace, "install", "subagents").exit_code == 0
    [report] = tick_json(workspace)
    assert report["subagents"] == []
    before = (workspace / AGENTS / "cloister-opus.md").stat().st_mtime_ns

    write_config(
        workspace,
        "complexity_routing:\n  complex: opus\nroles:\n  reviewer: sonnet\n  test-agent: haiku\n"
        "  planning: opus\n  implementation: sonnet\n",
    )
    [report] = tick_json(workspace)
    assert ".claude/agents/cloister-opus.md" in report["subagents"]
    assert ".claude/agents/cloister-reviewer.md" in report["subagents"]
    assert "complex (a multi-file" in _definitions(workspace)["cloister-opus"]["description"]
    assert "complex (" not in _definitions(workspace)["cloister-sonnet"]["description"]
    assert (workspace / AGENTS / "cloister-opus.md").stat().st_mtime_ns != before
    [report] = tick_json(workspace)
    assert report["subagents"] == []  # the hash matches: nothing rewritten

    write_config(workspace, "roles:\n  planning: opus\n")  # the other roles are the built-in ones again
    [report] = tick_json(workspace)
    assert ".claude/agents/cloister-reviewer.md" in report["subagents"]
    assert not (workspace / AGENTS / "cloister-reviewer.md").exists()


def test_a_fresh_clone_with_committed_definitions_is_synced(workspace: Path) -> None:
    assert run(workspace, "install", "subagents").exit_code == 0
    (workspace / ".cloister" / "local" / "subagents.json").unlink()  # as in a new clone
    write_config(workspace, "tiers:\n  haiku:\n    model: claude-haiku-4-6\n")
    [report] = tick_json(workspace)
    assert report["subagents"] == [".claude/agents/cloister-haiku.md", ".claude/agents/cloister-test-agent.md"]
    assert _definitions(workspace)["cloister-haiku"]["model"] == "claude-haiku-4-6"


def test_a_model_that_is_not_a_claude_id_gets_the_tier_alias(workspace: Path) -> None:
    write_config(workspace, "tiers:\n  sonnet:\n    model: us.anthropic.claude-sonnet-4-6-v1:0\n")
    assert run(workspace, "install", "subagents").exit_code == 0
    assert _definitions(workspace)["cloister-sonnet"]["model"] == "sonnet"
