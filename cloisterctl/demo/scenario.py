"""`cloisterctl demo`: a throwaway repo where cloisterctl does its whole job, told in plain words.

Two agents, stand-ins for Claude Code (the model service cannot be reached from a demo), run in a
private tmux server: a planner on opus in the main checkout, and a docs agent on haiku in a git
worktree that never does anything. The planner closes the plan task -> the tick hands it to sonnet
with a packet; the quiet docs agent -> the tick escalates it to sonnet. Cost lands in STATE.md and
`cloisterctl cost`. Thresholds are shortened (seconds, not minutes) so it all happens in under a
minute; the workspace is left for inspection and the tmux server is shut down.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloisterctl.agents import control
from cloisterctl.demo.repo import close_task, make_repo, run_git
from cloisterctl.errors import ToolError
from cloisterctl.integrations.install import install_beads
from cloisterctl.ledger import statefile
from cloisterctl.ledger.clock import now, require_real
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.store import snapshot
from cloisterctl.routing.route import route_task, tracker_for
from cloisterctl.runtime.tmux import Tmux
from cloisterctl.tick.run import tick as run_tick
from cloisterctl.workspace.layout import Workspace

Say = Callable[[str], None]


def _context(root: Path, tmux: Tmux) -> Context:
    return Context.for_workspace(Workspace(root), tmux=tmux)


def _tick_until(root: Path, done: Callable[[], bool], say: Say, seen: set[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for report in run_tick(Workspace(root), every=True, dry_run=False, clock=now):
            name = Path(report.workspace).name
            for decision in report.decisions:
                say(f"  tick [{name}]: decided {decision['summary']}")
            if report.handoff:
                key = f"{report.handoff['id']}:{report.handoff['step']}"
                if key not in seen:
                    seen.add(key)
                    say(f"  tick [{name}]: handoff {report.handoff['id']} is at '{report.handoff['step']}'")
            if report.commit:
                say(f"  tick [{name}]: committed {report.commit}")
        if done():
            return
        time.sleep(0.5)
    raise ToolError("the demo did not finish in time")


def _handoff_steps(root: Path) -> list[dict[str, Any]]:
    state = snapshot(Workspace(root)).state
    return [
        {
            "id": h.id,
            "from": h.from_tier,
            "to": h.to_tier,
            "step": h.step,
            "trigger": h.fields.get("trigger"),
            "how_idle": h.steps.get("idle", {}).get("how"),
        }
        for h in state.handoffs.values()
    ]


def _completed(root: Path) -> bool:
    return any(h["step"] in ("completed", "failed") for h in _handoff_steps(root))


def _route_tasks(root: Path, docs: Path, tmux: Tmux, say: Say) -> None:
    say("")
    say("1. Routing each task to the cheapest tier that can do it:")
    planner = control.spawn(_context(root, tmux), "shop-plan", tier=None, role=None)
    say(f"  shop-plan 'Plan: checkout redesign' -> {planner['tier']} ({planner['model']}): {planner['reasons'][-1]}")
    ctx = _context(root, tmux)
    cart = route_task(ctx, tracker_for(ctx.ws, ctx.config), "shop-cart", None)
    why = next(r for r in cart.reasons if r.startswith("complexity "))
    say(
        f"  shop-cart 'Add a /api/cart endpoint with tests' -> {cart.tier} ({cart.model}): {why}"
        " (blocked until the plan is done)"
    )
    docs_agent = control.spawn(_context(docs, tmux), "shop-typo", tier=None, role=None)
    say(
        f"  shop-typo 'Fix typo in README' -> {docs_agent['tier']} ({docs_agent['model']}): {docs_agent['reasons'][-1]}"
    )
    say(f"  planner started in tmux session {planner['tmux']} from packet {planner['packet']}")
    say(f"  docs-agent started in tmux session {docs_agent['tmux']}; it will sit quiet, like a stuck agent")
    for _report in run_tick(Workspace(root), every=True, dry_run=False, clock=now):
        pass  # the first look at the tasks
    time.sleep(2.5)


def _hand_off(root: Path, docs: Path, say: Say, seen: set[str]) -> None:
    say("")
    say("2. The planner finishes planning and closes shop-plan (as `bd close` would; the beads hook records it).")
    close_task(root, "shop-plan")
    _tick_until(root, lambda: _completed(root), say, seen)
    plan_handoff = _handoff_steps(root)[0]
    say(f"  -> the planner is on {plan_handoff['to']} now; idle was detected because {plan_handoff['how_idle']}")
    say("")
    say("3. Meanwhile docs-agent on haiku has done nothing: once it is quiet past haiku's threshold,")
    say("   the tick escalates it to sonnet.")
    _tick_until(root, lambda: _completed(docs), say, seen)
    time.sleep(1.5)  # let the new sessions work a turn, then take in their usage
    for _report in run_tick(Workspace(root), every=True, dry_run=False, clock=now):
        pass


def _show_cost(root: Path, docs: Path, say: Say) -> None:
    say("")
    say("4. What it cost (from the agents' transcripts, priced per model):")
    for ws_root in (root, docs):
        block = statefile.read(ws_root / "STATE.md").cloister
        cost = block.get("cost") or {}
        say(
            f"  {ws_root.name} STATE.md front matter: tier {block.get('tier')}, handoffs {block.get('handoffs')}, "
            f"cost ${cost.get('total_usd', 0):.4f}, cache hit rate {cost.get('cache_hit_rate')}"
        )
    table = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(root), "cost", "--by", "model"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for line in (table.stdout or table.stderr).rstrip().splitlines():
        say(f"    {line}")


def _show_commits(root: Path, docs: Path, say: Say) -> list[str]:
    say("")
    say("5. Every decision is reviewable in git (cloisterctl's own commits, only STATE.md and .cloister/):")
    for ws_root in (root, docs):
        for line in run_git(ws_root, "log", "--author=cloisterctl", "--format=%h %s").splitlines()[:6]:
            say(f"  {ws_root.name}: {line}")
    packets = sorted(
        str(p.relative_to(p.parents[2]))
        for ws_root in (root, docs)
        for p in (ws_root / ".cloister" / "handoffs").glob("2*.md")
    )
    say(f"  handoff prompts: {', '.join(packets)}")
    return packets


def try_lines(base: Path, root: Path, claude_dir: Path) -> list[str]:
    """Commands to look at what the demo left, as they can be pasted into a shell: the agents'
    transcripts are in the demo's own directory, so `cost` is told where."""
    found = shutil.which("cloisterctl")
    same = found is not None and Path(found).parent == Path(sys.executable).parent
    program = "cloisterctl" if same else f"{shlex.quote(sys.executable)} -m cloisterctl"
    where = f"-C {shlex.quote(str(root))}"
    transcripts = f"CLAUDE_CONFIG_DIR={shlex.quote(str(claude_dir))}"
    return [
        f"{program} {where} status",
        f"{transcripts} {program} {where} cost --by tier",
        f"{transcripts} {program} {where} cost --html {shlex.quote(str(base / 'cost.html'))}",
    ]


def run_demo(parent: Path | None, say: Say) -> dict[str, Any]:
    require_real("the demo")
    base = Path(tempfile.mkdtemp(prefix="cloister-demo-", dir=parent))
    claude_dir = base / "claude"
    os.environ["CLAUDE_CONFIG_DIR"] = str(claude_dir)  # where this process reads transcripts (cost)
    socket = f"cloister-demo-{uuid.uuid4().hex[:8]}"
    os.environ["CLOISTER_TMUX_SOCKET"] = socket
    tmux = Tmux(socket)
    root, docs = make_repo(base, claude_dir)
    install_beads(Workspace(root))
    say(f"Made a throwaway repo at {root} with three beads tasks, and a worktree at {docs}.")
    say("Two agents will work there, stand-ins for Claude Code in a private tmux server: 'planner' in the")
    say("main checkout and 'docs-agent' in the worktree. (Thresholds are seconds here, minutes in real use.)")
    try:
        _route_tasks(root, docs, tmux, say)
        _hand_off(root, docs, say, set())
        _show_cost(root, docs, say)
        packets = _show_commits(root, docs, say)
        result = {
            "workspace": str(root),
            "worktree": str(docs),
            "handoffs": {"planner": _handoff_steps(root), "docs-agent": _handoff_steps(docs)},
            "state": {ws_root.name: statefile.read(ws_root / "STATE.md").cloister for ws_root in (root, docs)},
            "packets": packets,
            "transcripts": str(claude_dir),
            "try": try_lines(base, root, claude_dir),
        }
    finally:
        for ws_root in (root, docs):
            try:
                control.stop(_context(ws_root, tmux))
            except Exception:  # noqa: BLE001 - best effort: the server is killed next anyway
                pass
        tmux.kill_server()
    say("")
    say(f"Stopped the agents and the demo's tmux server. The workspace is left at {root} (worktree {docs}),")
    say(f"with the agents' transcripts in {claude_dir}. Try:")
    for line in result["try"]:
        say(f"  {line}")
    return result
