"""The real Claude Code CLI, started in tmux with the argv cloisterctl generates, accepts the flags.

It cannot reach its service from here, so "accepts" means: it starts its interactive session
(welcome screen) instead of rejecting an option. Skipped when the CLI is not installed
(scripts/setup.sh installs it under .cache/npm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from cloisterctl.config.load import load_config
from cloisterctl.handoff.steps import spawn
from cloisterctl.ledger.clock import now
from cloisterctl.ledger.context import Context
from cloisterctl.runtime.tmux import Tmux
from cloisterctl.workspace.layout import Workspace
from testing.helpers import REPO_ROOT, pane_text


def claude_binary() -> str | None:
    local = REPO_ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "claude"
    return str(local) if local.exists() else shutil.which("claude")


CLAUDE = claude_binary()
pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the claude CLI is not installed (npm @anthropic-ai/claude-code)"
)


def screen_after_start(tmux_socket: str, name: str, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = pane_text(tmux_socket, name)
        if "Welcome to Claude Code" in text or "unknown option" in text or "error:" in text.lower():
            break
        time.sleep(0.5)
    return text


@pytest.fixture
def keep_dead_panes(tmux_socket: str) -> None:
    """Keep a pane whose program exited, so what it printed can still be read."""
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-s", "keeper", "sleep 600"], check=True)
    subprocess.run(["tmux", "-L", tmux_socket, "set-option", "-g", "remain-on-exit", "on"], check=True)


def test_the_default_spawn_argv_starts_the_real_claude(
    workspace: Path, tmux_socket: str, keep_dead_panes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CLAUDE is not None
    monkeypatch.setenv("PATH", f"{Path(CLAUDE).parent}{os.pathsep}{os.environ['PATH']}")
    ws = Workspace(workspace)
    config = load_config(ws.config_path)
    assert config.runtime.spawn[:5] == ("claude", "--model", "{model}", "--session-id", "{session_id}")
    engine = Context(ws, config, Tmux(tmux_socket), now)
    prompt = tmp_path / "packet.md"
    prompt.write_text("# Continuing work\n\nRead STATE.md; then continue.\n")
    spawn(engine, "repo", str(uuid.uuid4()), config.tier_model("sonnet"), "sonnet", prompt, None)
    text = screen_after_start(tmux_socket, engine.tmux_name("repo"))
    assert "unknown option" not in text and "error:" not in text.lower(), text
    assert "Welcome to Claude Code" in text, text


def test_a_flag_claude_does_not_know_is_visible_in_the_pane(
    tmux_socket: str, keep_dead_panes: None, tmp_path: Path
) -> None:
    """The control for the test above: a rejected flag shows, so its absence means something."""
    assert CLAUDE is not None
    Tmux(tmux_socket).start("bogus", [CLAUDE, "--model", "sonnet", "--no-such-flag"], tmp_path, {})
    assert "unknown option '--no-such-flag'" in screen_after_start(tmux_socket, "bogus")


def test_the_default_resume_argv_starts_the_real_claude(
    workspace: Path, tmux_socket: str, keep_dead_panes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restart after a failed handoff: `claude --resume SESSION --model M PROMPT` is accepted (it
    gets as far as the spawn argv does: to the service, which cannot be reached from here)."""
    assert CLAUDE is not None
    monkeypatch.setenv("PATH", f"{Path(CLAUDE).parent}{os.pathsep}{os.environ['PATH']}")
    ws = Workspace(workspace)
    config = load_config(ws.config_path)
    assert config.runtime.resume[:3] == ("claude", "--resume", "{session_id}")
    engine = Context(ws, config, Tmux(tmux_socket), now)
    prompt = tmp_path / "restart.md"
    prompt.write_text("cloisterctl: the handoff failed; continue.\n")
    name = engine.tmux_name("repo")
    spawn(
        engine,
        "repo",
        str(uuid.uuid4()),
        config.tier_model("sonnet"),
        "sonnet",
        prompt,
        None,
        template=config.runtime.resume,
    )
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        text = pane_text(tmux_socket, name)
        if "Unable to connect" in text or "Welcome to Claude Code" in text or "unknown option" in text:
            break
        time.sleep(0.5)
    assert "unknown option" not in text and "error:" not in text.lower(), text
    assert "Unable to connect" in text or "Welcome to Claude Code" in text, text
