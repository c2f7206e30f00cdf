from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testing.helpers import ledger_events, run

HOOKS = ("on_create", "on_update", "on_close")


def test_beads_hooks_install_fresh_and_idempotently(workspace: Path) -> None:
    result = run(workspace, "install", "beads-hooks", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.output)["changed"]) == sorted(f".beads/hooks/{h}" for h in HOOKS)
    for name in HOOKS:
        path = workspace / ".beads" / "hooks" / name
        assert os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/bin/sh\n# >>> cloisterctl >>>")
    before = {h: (workspace / ".beads" / "hooks" / h).read_bytes() for h in HOOKS}
    again = json.loads(run(workspace, "install", "beads-hooks", "--json").output)
    assert again["changed"] == [] and len(again["unchanged"]) == 3
    assert {h: (workspace / ".beads" / "hooks" / h).read_bytes() for h in HOOKS} == before
    json.loads(run(workspace, "uninstall", "beads-hooks", "--json").output)
    assert not any((workspace / ".beads" / "hooks" / h).exists() for h in HOOKS)


def fire(workspace: Path, name: str, issue: dict[str, object]) -> subprocess.CompletedProcess[str]:
    """Call a hook the way bd does: `HOOK <id> <event>` with the issue JSON on stdin."""
    event = name.removeprefix("on_")
    return subprocess.run(
        [str(workspace / ".beads" / "hooks" / name), str(issue["id"]), event],
        input=json.dumps(issue),
        capture_output=True,
        text=True,
        cwd=workspace,
        timeout=30,
    )


def test_an_existing_shell_hook_is_chained_and_gets_the_same_stdin(workspace: Path) -> None:
    hooks = workspace / ".beads" / "hooks"
    hooks.mkdir(parents=True)
    other = hooks / "on_close"
    original = '#!/bin/bash\n# another tool\nread -r line\necho "$1 $2 $line" >> "$(dirname "$0")/other.log"\n'
    other.write_text(original)
    other.chmod(0o755)
    run(workspace, "install", "beads-hooks")
    text = other.read_text()
    assert text.startswith("#!/bin/bash\n# >>> cloisterctl >>>") and text.endswith(original.split("\n", 1)[1])
    result = fire(workspace, "on_close", {"id": "bd-3", "title": "t", "status": "closed"})
    assert result.returncode == 0, result.stderr
    assert (hooks / "other.log").read_text().startswith('bd-3 close {"id": "bd-3"')
    assert ledger_events(workspace)[-1]["task"] == "bd-3"
    run(workspace, "uninstall", "beads-hooks")
    assert other.read_text() == original  # the other tool's hook, byte for byte


def test_an_existing_python_hook_is_kept_and_chained(workspace: Path) -> None:
    hooks = workspace / ".beads" / "hooks"
    hooks.mkdir(parents=True)
    other = hooks / "on_update"
    original = f"#!{sys.executable}\nimport sys, pathlib\npathlib.Path(__file__).with_name('py.log').write_text(sys.argv[1] + sys.stdin.read())\n"
    other.write_text(original)
    other.chmod(0o755)
    run(workspace, "install", "beads-hooks")
    assert (hooks / "on_update.chained").read_text() == original
    assert fire(workspace, "on_update", {"id": "bd-4", "status": "open"}).returncode == 0
    assert (hooks / "py.log").read_text().startswith('bd-4{"id": "bd-4"')
    assert ledger_events(workspace)[-1]["task"] == "bd-4"
    run(workspace, "uninstall", "beads-hooks")
    assert other.read_text() == original and not (hooks / "on_update.chained").exists()


def test_agent_hooks_merge_into_existing_settings(workspace: Path) -> None:
    settings = workspace / ".claude" / "settings.json"
    settings.parent.mkdir()
    existing = {
        "permissions": {"allow": ["Bash(npm test)"]},
        "hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}]},
        "model": "sonnet",
    }
    settings.write_text(json.dumps(existing, indent=4))
    assert run(workspace, "install", "agent-hooks").exit_code == 0
    merged = json.loads(settings.read_text())
    assert merged["permissions"] == existing["permissions"] and merged["model"] == "sonnet"
    assert set(merged["hooks"]) == {"PostToolUse", "Stop", "SubagentStop", "SessionStart"}
    stop_commands = [h["command"] for g in merged["hooks"]["Stop"] for h in g["hooks"]]
    assert stop_commands[0] == "notify-send done" and stop_commands[1].endswith("-m cloisterctl hook claude")
    before = settings.read_bytes()
    assert json.loads(run(workspace, "install", "agent-hooks", "--json").output)["changed"] == []
    assert settings.read_bytes() == before
    run(workspace, "uninstall", "agent-hooks")
    assert json.loads(settings.read_text()) == existing


def test_broken_settings_are_an_error_and_left_alone(workspace: Path) -> None:
    settings = workspace / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json")
    result = run(workspace, "install", "agent-hooks")
    assert result.exit_code == 1 and "settings.json: not valid JSON" in result.output
    assert settings.read_text() == "{ not json"
