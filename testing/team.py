"""A teammate's machine, for tests of a team: its own HOME (and XDG dirs), Claude config dir and
tmux server, running the real CLI in one of its clone's work trees."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from testing.helpers import cli, git


class Machine:
    """One developer's machine: ``root`` is the work tree commands run in (``at`` gives another of
    the same machine, a linked worktree say, sharing its HOME and tmux server)."""

    def __init__(self, root: Path, home: Path, socket: str | None = None, **extra_env: str) -> None:
        self.root = root
        self.home = home
        self.socket = socket or f"cloister-test-{uuid.uuid4().hex[:8]}"
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "CLOISTER_TMUX_SOCKET": self.socket,
            "CLAUDE_CONFIG_DIR": str(home / "claude"),
            **extra_env,
        }

    def at(self, root: Path) -> Machine:
        """This machine, in another of its work trees."""
        other = Machine(root, self.home, self.socket)
        other.env = self.env
        return other

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return cli(self.root, *args, env=self.env, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """git with this machine's environment (its hooks run the CLI as this machine)."""
        result = subprocess.run(
            ["git", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            env={**os.environ, "GIT_EDITOR": "true", **self.env},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    def kill_tmux(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def bare_remote(parent: Path) -> Path:
    remote = parent / "remote.git"
    git(parent, "init", "-q", "--bare", "-b", "main", str(remote))
    return remote


def push_to_bare_remote(ws: Path, parent: Path) -> Path:
    """``ws``'s main pushed to a new bare remote under ``parent`` (its ``origin``): the remote."""
    remote = bare_remote(parent)
    git(ws, "remote", "add", "origin", str(remote))
    git(ws, "push", "-q", "-u", "origin", "main")
    return remote
