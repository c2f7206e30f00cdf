from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testing.helpers import git, ledger_events, run, spooled_events

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
    assert spooled_events(workspace)[-1]["task"] == "bd-3" and ledger_events(workspace)[-1]["type"] == "init"
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
    assert spooled_events(workspace)[-1]["task"] == "bd-4"
    run(workspace, "uninstall", "beads-hooks")
    assert other.read_text() == original and not (hooks / "on_update.chained").exists()


def test_beads_hooks_hold_no_path_of_this_machine_and_are_silent_without_cloisterctl(
    workspace: Path, tmp_path: Path
) -> None:
    hooks = workspace / ".beads" / "hooks"
    hooks.mkdir(parents=True)
    other = hooks / "on_close"
    other.write_text('#!/bin/sh\nread -r line\necho "$1" >> "$(dirname "$0")/other.log"\n')
    other.chmod(0o755)
    run(workspace, "install", "beads-hooks")
    for name in HOOKS:
        text = (hooks / name).read_text()
        assert sys.executable not in text and str(Path(sys.executable).parent) not in text
    # A teammate's machine with no cloisterctl: nothing printed, exit 0, the other hook still runs.
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(hooks / "on_close"), "bd-5", "close"],
        input=json.dumps({"id": "bd-5"}),
        capture_output=True,
        text=True,
        cwd=workspace,
        env=bare,
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (hooks / "other.log").read_text() == "bd-5\n" and spooled_events(workspace) == []


def settings_of(workspace: Path, name: str) -> dict[str, object]:
    return json.loads((workspace / ".claude" / name).read_text())


def commands(settings: dict[str, object], event: str) -> list[str]:
    hooks = settings["hooks"]
    assert isinstance(hooks, dict)
    return [h["command"] for g in hooks[event] for h in g["hooks"]]


def test_agent_hooks_go_to_the_local_settings_by_name_and_merge_with_what_is_there(workspace: Path) -> None:
    local = workspace / ".claude" / "settings.local.json"
    local.parent.mkdir()
    existing = {
        "permissions": {"allow": ["Bash(npm test)"]},
        "hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}]},
        "model": "sonnet",
    }
    local.write_text(json.dumps(existing, indent=4))
    assert run(workspace, "install", "agent-hooks").exit_code == 0
    merged = settings_of(workspace, "settings.local.json")
    assert merged["permissions"] == existing["permissions"] and merged["model"] == "sonnet"
    assert set(merged["hooks"]) == {"PostToolUse", "Stop", "SubagentStop", "SessionStart"}  # type: ignore[arg-type]
    stop = commands(merged, "Stop")
    assert stop[0] == "notify-send done"
    assert stop[1] == "command -v cloisterctl >/dev/null 2>&1 && cloisterctl hook claude || true"
    assert not (workspace / ".claude" / "settings.json").exists()  # the shared file is not touched
    assert git(workspace, "check-ignore", ".claude/settings.local.json").strip()  # and the local one is not committed
    before = local.read_bytes()
    assert json.loads(run(workspace, "install", "agent-hooks", "--json").output)["changed"] == []
    assert local.read_bytes() == before
    run(workspace, "uninstall", "agent-hooks")
    assert settings_of(workspace, "settings.local.json") == existing


def test_shared_agent_hooks_and_an_earlier_versions_absolute_path_moved_out(workspace: Path, tmp_path: Path) -> None:
    shared = workspace / ".claude" / "settings.json"
    shared.parent.mkdir()
    old = f"{sys.executable} -m cloisterctl hook claude"  # what an earlier version wrote
    shared.write_text(
        json.dumps({"hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": old}]}]}})
    )
    report = json.loads(run(workspace, "install", "agent-hooks", "--json").output)
    assert report["changed"] == [".claude/settings.local.json"] and report["removed"] == [".claude/settings.json"]
    assert json.loads(shared.read_text()) == {}
    assert json.loads(run(workspace, "install", "agent-hooks", "--shared", "--json").output)["removed"] == [
        ".claude/settings.local.json"
    ]
    text = shared.read_text()
    for machine_path in (sys.executable, str(Path(sys.executable).parent), str(workspace), str(Path.home())):
        assert machine_path not in text
    # The committed hook run on a machine without cloisterctl: silent, exit 0.
    command = commands(json.loads(text), "PostToolUse")[0]
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        input="{}",
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_broken_settings_are_an_error_and_left_alone(workspace: Path) -> None:
    settings = workspace / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json")
    result = run(workspace, "install", "agent-hooks")
    assert result.exit_code == 1 and "settings.json: not valid JSON" in result.output
    assert settings.read_text() == "{ not json"


def test_committed_symlinks_and_fifos_are_never_followed_by_install_or_doctor(workspace: Path, tmp_path: Path) -> None:
    """A clone can commit `.claude/settings.json`, a beads hook or `.pre-commit-config.yaml` as a
    symlink out of the work tree, or a FIFO: installing writes nothing through it, doctor does not
    hang on it, and each says which file it refused."""
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's file\n")
    settings = workspace / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.symlink_to(outside)
    hooks = workspace / ".beads" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "on_create").symlink_to(outside)
    os.mkfifo(workspace / ".pre-commit-config.yaml")

    shared = run(workspace, "install", "agent-hooks", "--shared")
    assert shared.exit_code == 1 and ".claude/settings.json" in shared.output and "symlink" in shared.output
    beads = run(workspace, "install", "beads-hooks")
    assert beads.exit_code == 1 and ".beads/hooks/on_create" in beads.output
    assert outside.read_text() == "someone else's file\n"
    assert settings.is_symlink() and (hooks / "on_create").is_symlink()

    doctor = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "doctor", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["pre-commit hooks"]["level"] == "problem", checks["pre-commit hooks"]
    assert ".pre-commit-config.yaml: cannot be read" in checks["pre-commit hooks"]["detail"]
    assert "settings.json" in checks["agent hooks"]["detail"] + str(checks["agent hooks"]["fix"])
    assert outside.read_text() == "someone else's file\n"
