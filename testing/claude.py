"""Starting the real Claude Code CLI offline, as a user who finished its onboarding would: a home
with ``.claude.json`` (onboarding done, the project trusted, an API key approved) and a dummy
``ANTHROPIC_API_KEY``. Its interactive prompt, status bar and `/agents` view come up without a
network."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from testing.helpers import REPO_ROOT, pane_text


def claude_binary() -> str | None:
    """This clone's CLI (scripts/setup.sh installs it under .cache/npm), else one on PATH."""
    local = REPO_ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "claude"
    return str(local) if local.exists() else shutil.which("claude")


def onboarded_home(home: Path, project: Path, key: str) -> None:
    """What Claude Code keeps in ``~/.claude.json`` once its first-run questions are answered."""
    state = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
        "projects": {str(project.resolve()): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}},
    }
    (home / ".claude.json").write_text(json.dumps(state))


def screen(tmux: Any, name: str, wanted: tuple[str, ...], seconds: float = 45) -> str:
    """The tmux window ``name``'s text once it shows any of ``wanted`` (or at ``seconds``, as it is)."""
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = pane_text(tmux.socket, name)
        if any(word in text for word in wanted):
            return text
        time.sleep(0.5)
    return text
