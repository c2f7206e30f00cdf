"""The real Claude Code CLI runs the statusLine `cloisterctl install statusline` writes, and shows its
line in its status bar; the same CLI reports a statusLine of the wrong shape (the control).

Claude Code cannot reach its service here, so it is started the way a user who has finished its
onboarding starts it: a home with `.claude.json` (onboarding done, this project trusted, an API
key approved) and a dummy `ANTHROPIC_API_KEY`. Its interactive prompt and status bar come up
without a network. Skipped without the CLI (scripts/setup.sh installs it under .cache/npm) or tmux.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from cloisterctl.runtime.tmux import Tmux
from testing.claude import claude_binary, onboarded_home, screen
from testing.helpers import run, write_tasks

CLAUDE = claude_binary()
pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the claude CLI is not installed (npm @anthropic-ai/claude-code)"
)
KEY = "sk-ant-api03-" + "statusline-test-" * 4


def test_claude_shows_the_installed_statusline_and_reports_a_broken_one(
    workspace: Path, tmux_socket: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CLAUDE is not None
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    # cloisterctl found by name, as the installed command calls it: this interpreter's console script.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{Path(CLAUDE).parent}:/usr/bin:/bin")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    onboarded_home(isolated_env, workspace, KEY)
    write_tasks(workspace, [{"_type": "issue", "id": "app-7", "title": "Fix", "status": "open", "issue_type": "task"}])
    assert run(workspace, "route", "app-7", "--record").exit_code == 0
    assert run(workspace, "install", "statusline").exit_code == 0
    tmux = Tmux(tmux_socket)

    tmux.start("ours", [CLAUDE, "--model", "sonnet"], workspace, {})
    text = screen(tmux, "ours", ("| app-7 |", "Settings Error"))
    tmux.stop("ours", "", 2)
    assert "Settings Error" not in text, text
    assert "| app-7 |" in text and "$0.00 today" in text, text
    [status] = [row for row in text.splitlines() if "| app-7 |" in row]
    assert status.strip().startswith("[sonnet] "), status  # the routed tier, the model as Claude Code names it

    # The control: a statusLine of the wrong shape is what Claude Code's validation reports.
    (workspace / ".claude" / "settings.local.json").write_text(json.dumps({"statusLine": {"type": "cloister"}}))
    tmux.start("broken", [CLAUDE, "--model", "sonnet"], workspace, {})
    text = screen(tmux, "broken", ("Settings Error", "| app-7 |"))
    tmux.stop("broken", "", 2)
    assert "Settings Error" in text and "statusLine" in text, text
