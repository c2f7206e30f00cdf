"""The pytest fixtures every test directory shares (``tests/conftest.py`` exposes them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.helpers import REPO_ROOT, STANDIN_BD, git, run, standin_config, write_config


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME (no user config leaks in), no CLOISTER_* overrides, a git identity, and this
    interpreter's `cloisterctl` on the PATH."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)  # the user config is under this HOME
    for name in list(os.environ):
        if name.startswith("CLOISTER_") or name.startswith("GIT_") or name == "CLAUDE_CONFIG_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Dev")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Dev")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # cloisterctl on the PATH, as for a user who installed it: hooks call it by name.
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield home


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


@pytest.fixture
def workspace(repo: Path) -> Path:
    result = run(repo, "init")
    assert result.exit_code == 0, result.output
    return repo


@pytest.fixture
def tmux_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A private tmux server for the test (killed afterwards), so tests never touch the user's."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/setup.sh installs it)")
    name = f"cloister-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CLOISTER_TMUX_SOCKET", name)
    yield name
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def agent_ws(workspace: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An initialised workspace whose agents are stand-ins in a private tmux, with transcripts in tmp."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    write_config(
        workspace,
        standin_config() + "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 20\n  spawn_timeout_seconds: 20\n",
    )
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "cloister init")
    return workspace


@pytest.fixture
def bd_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in bd (the real one cannot be installed here) first on PATH; returns its call log."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(STANDIN_BD, bindir / "bd")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "bd-calls.jsonl"
    monkeypatch.setenv("BD_STANDIN_LOG", str(log))
    monkeypatch.setenv("BD_NO_HOOKS", "1")
    return log


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's files (tracked and new, not ignored), committed to a scratch repo."""
    snapshot = tmp_path_factory.mktemp("hooks-repo")
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=snapshot, check=True, env=env)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=snapshot, capture_output=True, text=True, check=True
    ).stdout.strip()
    return snapshot, sha


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def pc_env(pre_commit_home: Path) -> Iterator[dict[str, str]]:
    yield {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home)}
