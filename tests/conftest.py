from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cloisterctl.cli import cli

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME (no user config leaks in), no CLOISTER_* overrides, a git identity."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if name.startswith("CLOISTER_") or name.startswith("GIT_") or name == "CLAUDE_CONFIG_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Dev")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Dev")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield home


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repo with one commit on main."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# demo\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "initial")
    return path


def run(cwd: Path, *args: str, input: str | None = None) -> Result:
    """Invoke the real CLI in-process, as if started in ``cwd``."""
    return CliRunner().invoke(cli, ["-C", str(cwd), *args], input=input, catch_exceptions=False)


@pytest.fixture
def workspace(repo: Path) -> Path:
    result = run(repo, "init")
    assert result.exit_code == 0, result.output
    return repo


@pytest.fixture
def tmux_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A private tmux server for the test (killed afterwards), so tests never touch the user's."""
    import shutil
    import uuid

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/setup.sh installs it)")
    name = f"cloister-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CLOISTER_TMUX_SOCKET", name)
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


STANDIN_SPAWN = (
    "runtime:\n"
    "  spawn: [{python}, -m, cloisterctl.standin_agent, --model, '{{model}}', --session-id, '{{session_id}}',"
    " --turn-seconds, '{turn}', {extra}'{{prompt}}']\n"
    "  stop_timeout_seconds: 3\n"
)


def standin_config(quiet: bool = False, turn: float = 0.5, extra: str = "") -> str:
    import sys

    flags = "--quiet, " if quiet else ""
    return STANDIN_SPAWN.format(python=sys.executable, turn=turn, extra=flags) + extra


@pytest.fixture
def agent_ws(workspace: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An initialised workspace whose agents are stand-ins in a private tmux, with transcripts in tmp."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    (workspace / ".cloister" / "config.yaml").write_text(
        standin_config() + "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n"
    )
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister init")
    return workspace
