"""Process control for agents hosted in tmux: start, probe, message, stop. Nothing goes through a shell.

- Targets are exact (``-t =NAME``): a bare name prefix-matches other sessions.
- Text is sent with ``send-keys -l`` (literal) and Enter as a separate key.
- Stopping is graceful: the configured exit text, then an interrupt, then ``kill-session``, each
  followed by a check that the session is gone.
- Spawn commands are argv templates (``runtime.spawn``) with ``{model}``, ``{tier}``,
  ``{session_id}``, ``{prompt}``, ``{prompt_file}``, ``{workspace}`` and ``{agent}`` filled in per
  argument, then handed to tmux as separate arguments (tmux runs them without a shell).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cloisterctl.errors import ToolError
from cloisterctl.models.names import is_safe_name
from cloisterctl.runtime.launch import fill_template

__all__ = ["SOCKET_ENV", "Tmux", "fill_template", "session_name"]

SOCKET_ENV = "CLOISTER_TMUX_SOCKET"


def session_name(prefix: str, agent: str, workspace: Path) -> str:
    """tmux session for an agent: readable, and unique per workspace (two repos may share agent names).

    tmux forbids '.' and ':' in session names. ``agent`` must be a safe name (``models.names``).
    """
    if not is_safe_name(agent):
        raise ToolError(f"agent name {agent[:60]!r} is not a safe name; refusing to make a tmux session of it")
    digest = hashlib.sha1(str(workspace.resolve()).encode()).hexdigest()[:6]
    return f"{prefix}{agent}-{digest}".replace(".", "_").replace(":", "_")


@dataclass(frozen=True)
class Tmux:
    """A tmux server: the user's default one, or a named socket (``CLOISTER_TMUX_SOCKET``, for isolation)."""

    socket: str | None = None

    @classmethod
    def from_env(cls) -> Tmux:
        return cls(os.environ.get(SOCKET_ENV) or None)

    def _base(self) -> list[str]:
        executable = shutil.which("tmux")
        if executable is None:
            raise ToolError("tmux is not installed (no `tmux` on PATH); install it, e.g. `apt-get install tmux`")
        return [executable, *(["-L", self.socket] if self.socket else [])]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self._base(), *args], capture_output=True, text=True, timeout=30, check=False)
        if check and result.returncode != 0:
            raise ToolError(f"`tmux {' '.join(args[:3])}` failed: {result.stderr.strip() or result.returncode}")
        return result

    def alive(self, name: str) -> bool:
        return self._run("has-session", "-t", f"={name}", check=False).returncode == 0

    def sessions(self) -> list[str]:
        result = self._run("list-sessions", "-F", "#{session_name}", check=False)
        return result.stdout.split() if result.returncode == 0 else []

    def pane_pid(self, name: str) -> int | None:
        result = self._run("list-panes", "-t", f"={name}", "-F", "#{pane_pid}", check=False)
        try:
            return int(result.stdout.split()[0]) if result.returncode == 0 else None
        except (IndexError, ValueError):
            return None

    def start(self, name: str, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int | None:
        """Start ``argv`` in a new detached session; returns the pane's pid."""
        if self.alive(name):
            raise ToolError(f"tmux session {name!r} already exists; refusing to start a second agent there")
        env_args = [part for key, value in env.items() for part in ("-e", f"{key}={value}")]
        self._run("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(cwd), *env_args, "--", *argv)
        return self.pane_pid(name)

    def environment(self, name: str, variable: str) -> str | None:
        """A variable of the session's environment (set with ``-e`` at start), or None."""
        result = self._run("show-environment", "-t", f"={name}", variable, check=False)
        line = result.stdout.strip()
        if result.returncode != 0 or not line.startswith(f"{variable}="):
            return None
        return line.split("=", 1)[1]

    def send_text(self, name: str, text: str) -> None:
        """Type ``text`` into the agent's terminal literally, then press Enter."""
        if not self.alive(name):
            raise ToolError(f"tmux session {name!r} is not running")
        self._run("send-keys", "-t", f"={name}:", "-l", text)
        self._run("send-keys", "-t", f"={name}:", "Enter")

    def stop(self, name: str, exit_text: str, timeout: float) -> str:
        """Stop gracefully; returns how it ended ("not running", "exit text", "interrupt", "killed")."""
        if not self.alive(name):
            return "not running"
        steps = max(timeout, 0.3) / 3
        if exit_text:
            self._run("send-keys", "-t", f"={name}:", "-l", exit_text, check=False)
            self._run("send-keys", "-t", f"={name}:", "Enter", check=False)
            if self._wait_gone(name, steps):
                return "exit text"
        self._run("send-keys", "-t", f"={name}:", "C-c", check=False)
        if self._wait_gone(name, steps):
            return "interrupt"
        self._run("kill-session", "-t", f"={name}", check=False)
        if self._wait_gone(name, steps):
            return "killed"
        raise ToolError(f"tmux session {name!r} is still running after kill-session")

    def _wait_gone(self, name: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.alive(name):
                return True
            time.sleep(0.05)
        return not self.alive(name)

    def kill_server(self) -> None:
        self._run("kill-server", check=False)
