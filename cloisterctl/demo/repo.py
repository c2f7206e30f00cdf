"""The demo's throwaway repo: three beads tasks, a worktree, two initialised workspaces whose
agents are stand-ins, and `bd close` done by hand (the real `bd` is not needed for the demo).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cloisterctl.ledger.clock import now
from cloisterctl.ledger.init import init
from cloisterctl.workspace.layout import Workspace
from cloisterctl.workspace.trust import set_trust

TASKS = [
    {
        "_type": "issue",
        "id": "shop-plan",
        "title": "Plan: checkout redesign",
        "description": "Decide the architecture for carts, payments and order state.",
        "status": "open",
        "priority": 1,
        "issue_type": "task",
        "labels": ["planning"],
    },
    {
        "_type": "issue",
        "id": "shop-cart",
        "title": "Add a /api/cart endpoint with tests",
        "description": "New handler in src/api/cart.py with tests in tests/test_cart.py.",
        "status": "open",
        "priority": 2,
        "issue_type": "feature",
        "dependencies": [{"issue_id": "shop-cart", "depends_on_id": "shop-plan", "type": "blocks", "metadata": "{}"}],
    },
    {
        "_type": "issue",
        "id": "shop-typo",
        "title": "Fix typo in README",
        "status": "open",
        "priority": 3,
        "issue_type": "chore",
        "labels": ["docs"],
    },
]


def run_git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return result.stdout


def _config(claude_dir: Path, quiet: bool) -> str:
    spawn = [
        sys.executable,
        "-m",
        "cloisterctl.demo.standin_agent",
        "--model",
        "{model}",
        "--session-id",
        "{session_id}",
        "--turn-seconds",
        "1",
    ]
    if quiet:
        spawn += ["--quiet-models", "haiku"]  # stuck on haiku; the sonnet session it is handed to works
    spawn.append("{prompt}")
    # The stand-in resumes a session as `claude --resume` does (after a handoff that failed).
    resume = [*spawn[:3], "--resume", "{session_id}", *spawn[3:5], *spawn[7:]]
    return (
        "# The demo's config: stand-in agents, and seconds where real use has minutes.\n"
        "runtime:\n"
        f"  spawn: {json.dumps(spawn)}\n"
        f"  resume: {json.dumps(resume)}\n"
        f"  env: {{CLAUDE_CONFIG_DIR: {json.dumps(str(claude_dir))}}}\n"
        "  stop_timeout_seconds: 3\n"
        "handoffs:\n"
        "  idle_seconds: 1\n"
        "  save_timeout_seconds: 20\n"
        "  spawn_timeout_seconds: 20\n"
        "  guards: {cooldown_minutes: 0}\n"
        "  auto_triggers:\n"
        "    stuck:\n"
        "      thresholds: {haiku_to_sonnet_minutes: 0.1, sonnet_to_opus_minutes: 5, opus_flag_minutes: 10}\n"
    )


def make_repo(base: Path, claude_dir: Path) -> tuple[Path, Path]:
    """The repo (``base/shop``) and its worktree (``base/shop-docs``); the agents' transcripts go to
    ``claude_dir`` (``base/claude``: the demo keeps everything under its own directory)."""
    root = base / "shop"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "main")
    run_git(root, "config", "user.name", "Demo Dev")
    run_git(root, "config", "user.email", "demo@example.com")
    (root / "README.md").write_text("# shop\n\nA small web shop. Teh cart is next.\n")
    (root / ".beads").mkdir()
    (root / ".beads" / "issues.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", "initial: shop with its beads tasks")
    docs = base / "shop-docs"
    run_git(root, "worktree", "add", "-q", "-b", "docs", str(docs))
    for ws_root, agent, quiet in ((root, "planner", False), (docs, "docs-agent", True)):
        ws = Workspace(ws_root)
        init(ws, agent, now())
        ws.config_path.write_text(_config(claude_dir, quiet))
        set_trust(ws, trusted=True)  # the demo wrote this config itself: its stand-in agent may run
        run_git(ws_root, "add", "-A")
        run_git(ws_root, "commit", "-q", "-m", f"cloisterctl init ({agent})")
    return root, docs


def close_task(root: Path, task_id: str) -> dict[str, Any]:
    """What `bd close` does, for a demo without bd: update the export, fire the on_close hook."""
    path = root / ".beads" / "issues.jsonl"
    tasks = [json.loads(line) for line in path.read_text().splitlines()]
    closed = {}
    for task in tasks:
        if task["id"] == task_id:
            task.update(
                status="closed",
                closed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                close_reason="plan agreed",
            )
            closed = task
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    hook = root / ".beads" / "hooks" / "on_close"
    subprocess.run(
        [str(hook), task_id, "close"], input=json.dumps(closed), text=True, cwd=root, check=False, timeout=30
    )
    return closed
