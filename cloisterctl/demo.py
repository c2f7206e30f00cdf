"""`cloisterctl demo`: a throwaway repo where cloisterctl does its job, narrated in plain words."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloisterctl.clock import now
from cloisterctl.init_workspace import init
from cloisterctl.status import render_status, status_view
from cloisterctl.store import snapshot
from cloisterctl.workspace import Workspace

Say = Callable[[str], None]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(parent: Path | None) -> Path:
    base = Path(tempfile.mkdtemp(prefix="cloister-demo-", dir=parent))
    root = base / "shop"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "Demo Dev")
    _git(root, "config", "user.email", "demo@example.com")
    (root / "README.md").write_text("# shop\n\nA small web shop.\n")
    _git(root, "add", "README.md")
    _git(root, "commit", "-q", "-m", "initial")
    return root


def run_demo(parent: Path | None, say: Say) -> dict[str, Any]:
    root = make_repo(parent)
    ws = Workspace(root)
    say(f"Made a throwaway git repo at {root}")
    report = init(ws, "shop-agent", now())
    say(f"`cloisterctl init` created {', '.join(report.created)}")
    view = status_view(ws, snapshot(ws))
    say("`cloisterctl status` now shows:")
    for line in render_status(view).splitlines():
        say(f"    {line}")
    return {"workspace": str(root), "status": view}
