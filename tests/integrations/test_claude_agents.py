"""The real Claude Code CLI loads the subagents `cloisterctl install subagents` writes: its `/agents`
view lists each under the project's agents with the model cloisterctl gave it, and leaves out a
definition it rejects (the control: front matter without a description).

`claude agents` of this CLI version manages background sessions and lists no definitions, so the
check is its interactive `/agents` view, started offline the way the statusline test starts it
(``tests/integrations/test_claude_statusline.py``). Skipped without the CLI or tmux.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloisterctl.runtime.tmux import Tmux
from testing.claude import claude_binary, onboarded_home, screen
from testing.helpers import run

CLAUDE = claude_binary()
pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the claude CLI is not installed (npm @anthropic-ai/claude-code)"
)
KEY = "sk-ant-api03-" + "subagents-test-" * 4


def test_claude_lists_the_installed_subagents_with_their_models(
    workspace: Path, tmux_socket: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CLAUDE is not None
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{Path(CLAUDE).parent}:/usr/bin:/bin")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    onboarded_home(isolated_env, workspace, KEY)
    assert run(workspace, "install", "subagents").exit_code == 0
    (workspace / ".claude" / "agents" / "no-description.md").write_text(
        "---\nname: no-description\nmodel: haiku\n---\nx\n"
    )
    tmux = Tmux(tmux_socket)
    tmux.start("agents", [CLAUDE, "--model", "sonnet"], workspace, {})
    try:
        screen(tmux, "agents", ("❯",))
        tmux.send_text("agents", "/agents")
        screen(tmux, "agents", ("Library",))
        # The second tab lists the definitions.
        subprocess.run(["tmux", "-L", tmux_socket, "send-keys", "-t", "=agents:", "Right"], check=True)
        text = screen(tmux, "agents", ("Built-in agents",))
    finally:
        tmux.stop("agents", "", 2)
    assert "Project agents" in text, text
    listed = {line.strip() for line in text.splitlines()}
    for expected in (
        "cloister-haiku · claude-haiku-4-5-20251001",
        "cloister-sonnet · claude-sonnet-4-6",
        "cloister-opus · claude-opus-4-7",
        "cloister-planning · claude-opus-4-7",
        "cloister-implementation · claude-sonnet-4-6",
        "cloister-test-agent · claude-haiku-4-5-20251001",
    ):
        assert expected in listed, text
    assert "no-description" not in text  # what Claude Code rejects, it does not list
