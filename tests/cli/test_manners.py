"""CLI manners: -q, colour only on a terminal (NO_COLOR, --no-color), and shell completion through
the lazy command group, run as a user would (a real bash, a real pseudo-terminal)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing.helpers import run
from testing.terminal import on_a_terminal

RED_OR_GREEN_OR_YELLOW = ("\x1b[31m", "\x1b[32m", "\x1b[33m")


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    return on_a_terminal(args, env, stderr_too=False)


def test_quiet_drops_chatter_but_keeps_data_and_json(workspace: Path) -> None:
    assert run(workspace, "install", "beads-hooks").output.startswith("updated ")
    assert run(workspace, "-q", "install", "beads-hooks").output == ""
    quiet_json = run(workspace, "-q", "install", "beads-hooks", "--json")
    assert '"unchanged"' in quiet_json.output
    assert run(workspace, "-q", "config", "validate").output == ""
    assert "agent " in run(workspace, "-q", "status").output  # data is not chatter


def test_quiet_tick_says_nothing_when_all_is_well(workspace: Path) -> None:
    assert run(workspace, "tick").output.endswith(": nothing new\n")
    quiet = run(workspace, "-q", "tick")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_quiet_keeps_the_warnings_of_chatter() -> None:
    from cloisterctl.cli.style import quiet_text

    text = "ws: nothing new\n  warning: the ledger has 1 bad line\nupdated x"
    assert quiet_text(text) == "  warning: the ledger has 1 bad line"


def test_colour_only_on_a_terminal(workspace: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    on_tty = _on_a_terminal(["-C", str(workspace), "config", "validate"], env)
    assert "\x1b[32mok\x1b[0m" in on_tty
    piped = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "config", "validate"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert piped.stdout.startswith("config ok") and "\x1b[" not in piped.stdout
    for off in (["--no-color"], []):
        extra = {} if off else {"NO_COLOR": "1"}
        text = _on_a_terminal([*off, "-C", str(workspace), "config", "validate"], {**env, **extra})
        assert "config ok" in text and not any(code in text for code in RED_OR_GREEN_OR_YELLOW), off
    # NO_COLOR set but empty does not count (no-color.org)
    assert "\x1b[32m" in _on_a_terminal(["-C", str(workspace), "config", "validate"], {**env, "NO_COLOR": ""})


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_lists_the_lazy_commands_and_their_choices(tmp_path: Path) -> None:
    script = (
        'eval "$(_CLOISTERCTL_COMPLETE=bash_source cloisterctl)"\n'
        'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=();\n'
        '  _cloisterctl_completion cloisterctl "${COMP_WORDS[COMP_CWORD]}" x; printf "%s\\n" "${COMPREPLY[@]}"; }\n'
        "complete_words cloisterctl st\n"
        "echo ---\n"
        "complete_words cloisterctl install ''\n"
        "echo ---\n"
        "complete_words cloisterctl cost --by ''\n"
    )
    bindir = os.path.dirname(sys.executable)
    result = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    commands, installs, groupings = (part.split() for part in result.stdout.split("---"))
    assert commands == ["status", "statusline", "stop"]
    assert {"agent-hooks", "beads-hooks", "git", "statusline"} <= set(installs)
    assert {"day", "week", "month", "session", "model"} <= set(groupings)


def test_zsh_and_fish_scripts_are_printed() -> None:
    for shell, marker in (("zsh", "#compdef cloisterctl"), ("fish", "complete --no-files --command cloisterctl")):
        result = subprocess.run(
            [sys.executable, "-m", "cloisterctl"],
            capture_output=True,
            text=True,
            env={**os.environ, "_CLOISTERCTL_COMPLETE": f"{shell}_source"},
        )
        assert result.returncode == 0 and marker in result.stdout, (shell, result.stdout[:200])
