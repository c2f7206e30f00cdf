"""Running cloisterctl with its output on a real pseudo-terminal, as a user at a terminal sees it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def on_a_terminal(args: list[str], env: dict[str, str], *, stderr_too: bool = True) -> str:
    """Run ``python -m cloisterctl ARGS`` with stdout (and stderr) on a pseudo-terminal; what it
    printed there."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "cloisterctl", *args],
            stdout=follower,
            stderr=follower if stderr_too else subprocess.DEVNULL,
            env=env,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done with it
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
    finally:
        os.close(leader)
    return b"".join(chunks).decode(errors="replace")
