"""`cloisterctl tick`: one pass over a workspace (or all of them), with no resident process.

A pass: take in usage and activity, notice task changes the hooks missed, evaluate the triggers,
record their decisions, start or advance the handoff, refresh STATE.md, and commit what it decided
(only STATE.md and .cloister/, as cloisterctl, naming the decision). Two ticks never overlap: the
second waits ``tick.wait_seconds`` and then leaves, saying so. With nothing new, a tick writes
nothing at all.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import decisions, git, handoff, ledger
from cloisterctl.beads import JsonlTracker, Task
from cloisterctl.config import Config, load_config
from cloisterctl.errors import CloisterError, LockTimeout, ToolError
from cloisterctl.locking import locked
from cloisterctl.runtime import Tmux
from cloisterctl.state import WorkspaceState
from cloisterctl.store import append, refresh_state_md, snapshot
from cloisterctl.workspace import Workspace

COMMIT_PATHS = ("STATE.md", ".cloister")


@dataclass
class Report:
    workspace: str
    skipped: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float | None = None
    state_md_changed: bool = False
    commit: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def did_something(self) -> bool:
        return bool(self.decisions or self.handoff or self.tasks or self.state_md_changed or self.commit)


def _events_of(ws: Workspace, before: int) -> list[ledger.Event]:
    """Ledger events appended after byte offset ``before`` (this tick's own)."""
    try:
        with ws.ledger_path.open("rb") as handle:
            handle.seek(before)
            data = handle.read()
    except FileNotFoundError:
        return []
    import json

    events = []
    for line in data.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tasks(ws: Workspace, config: Config, report: Report) -> dict[str, Task]:
    from cloisterctl.routing import tracker_for

    beads = config.get("beads")
    if not ((ws.root / beads["jsonl"]).exists() or (ws.root / ".beads").is_dir()):
        return {}
    try:
        return tracker_for(ws, config).all_tasks()
    except CloisterError as exc:
        report.problems.append(str(exc))
        return {}


def _rules_need_tasks(state: WorkspaceState) -> bool:
    """Whether a trigger could look at the tracker's tasks now: the agent's task closed without a
    decision yet, or a task closed on this tier that a plan/implement rule has not decided on.
    Most ticks need neither, and skip reading thousands of tasks."""
    current = state.tasks.get(state.task or "", {})
    if current.get("closed") and f"task_completed:{state.task}" not in state.causes:
        return True
    since = state.tier_since or ""
    for task_id, info in state.tasks.items():
        if info.get("closed") and str(info["closed"]) >= since:
            if not {f"planning_complete:{task_id}", f"implementation_complete:{task_id}"} <= state.causes:
                return True
    return False


def _tracker_stamp(ws: Workspace, config: Config) -> list[int] | None:
    """Identity of the JSONL export when it is the tracker (unchanged file: nothing to reconcile)."""
    from cloisterctl.beads import open_tracker

    beads = config.get("beads")
    if not isinstance(open_tracker(ws.root, beads["command"], beads["jsonl"], beads["use_cli"]), JsonlTracker):
        return None  # bd is the source of truth: ask it every time
    try:
        stat = (ws.root / beads["jsonl"]).stat()
    except FileNotFoundError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _transcript_activity(engine: handoff.Engine, state: WorkspaceState) -> list[ledger.Event]:
    """An activity signal when the current session's transcript grew since it was last seen."""
    from datetime import UTC

    path = handoff._transcript(engine, state.session)
    if path is None:
        return []
    grown = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if ledger.format_ts(grown) <= state.activity.get("transcript", ""):
        return []
    return [ledger.make_event("activity", state.agent, grown, source="transcript", session=state.session)]


def live_sessions(tmux: Tmux) -> set[str] | None:
    """The tmux sessions running now (one call for a whole `tick --all`); None when tmux is missing."""
    try:
        return set(tmux.sessions())
    except ToolError:
        return None


def _alive(engine: handoff.Engine, state: WorkspaceState, live: set[str] | None) -> bool | None:
    if state.session is None or live is None:
        return None  # nothing started, or no tmux here: liveness unknown
    return engine.tmux_name(state.agent) in live


def _refresh_cost(ws: Workspace, config: Config, now: datetime, report: Report) -> None:
    try:
        from cloisterctl.costs import refresh_cost
    except ImportError:  # pragma: no cover - cost tracking not installed
        return
    try:
        summary = refresh_cost(ws, config, now)
    except CloisterError as exc:
        report.problems.append(f"cost: {exc}")
        return
    if summary:
        report.cost_usd = summary.get("total_usd")


def tick_workspace(
    ws: Workspace,
    *,
    dry_run: bool = False,
    clock: Callable[[], datetime],
    tmux: Tmux | None = None,
    live: set[str] | None = None,
) -> Report:
    report = Report(str(ws.root))
    ws.require_initialised()
    config = load_config(ws.config_path)
    engine = handoff.Engine(ws, config, tmux or Tmux.from_env(), clock)
    if live is None:
        live = live_sessions(engine.tmux)
    wait = float(config.get("tick", "wait_seconds"))
    try:
        with locked(ws.tick_lock_path, wait, what="a tick"):
            _tick_locked(engine, report, dry_run, live)
    except LockTimeout:
        report.skipped = f"another tick is running here (waited {wait:g}s); skipped"
    return report


def _tick_locked(engine: handoff.Engine, report: Report, dry_run: bool, live: set[str] | None) -> None:
    from cloisterctl import taskwatch
    from cloisterctl.routing import prices_for
    from cloisterctl.triggers import Inputs, evaluate

    ws, config = engine.ws, engine.config
    ledger_before = _size(ws.ledger_path)
    if not dry_run:
        _refresh_cost(ws, config, engine.clock(), report)
    current = snapshot(ws)
    report.problems += current.problems
    state = current.state

    pending: list[ledger.Event] = []
    local: list[ledger.Event] = _transcript_activity(engine, state)
    tasks: dict[str, Task] | None = None
    seen, seen_stamp = taskwatch.read_seen(ws)
    stamp = _tracker_stamp(ws, config)
    changed: list[dict[str, Any]]
    if seen is not None and stamp is not None and stamp == seen_stamp:
        changed, now_seen = [], seen  # the export has not changed since the last look
    else:
        tasks = _tasks(ws, config, report)
        changed, now_seen = taskwatch.changes(seen, tasks, state.tasks)
    pending += [ledger.make_event("task", state.agent, engine.clock(), **fields) for fields in changed]
    report.tasks = [{"task": c["task"], "status": c["status"]} for c in changed]
    if dry_run:
        from cloisterctl.state import fold

        state = fold([*current.events, *pending, *local], agent=ws.default_agent)
    else:
        if pending:
            append(ws, pending, timeout=config.lock_timeout)
        if local:
            append(ws, local, timeout=config.lock_timeout, local=True)
        if now_seen != seen or stamp != seen_stamp:
            taskwatch.write_seen(ws, now_seen, stamp)
        if pending or local:
            state = snapshot(ws).state

    from cloisterctl.routing import read_overrides

    if tasks is None:
        tasks = _tasks(ws, config, report) if _rules_need_tasks(state) else {}
    inputs = Inputs(
        state, tasks, config, prices_for(config), engine.clock(), _alive(engine, state, live), read_overrides(ws)
    )
    proposals = evaluate(inputs)
    if dry_run:
        report.decisions = [{**p.event_fields(), "status": decisions.status_for(p), "dry_run": True} for p in proposals]
        return

    recorded = decisions.record(engine, state, proposals)
    state = snapshot(ws).state if recorded else state
    for event in recorded:
        decision = state.decisions[event["id"]]
        report.decisions.append({"id": decision.id, "summary": decision.summary(), "status": decision.status})
        if decision.status == "applied":
            decisions.apply(engine, decision, mark_applied=False)
    state = snapshot(ws).state
    for decision in list(state.decisions.values()):
        if decision.status == "approved" and state.handoff_in_flight is None:
            decisions.apply(engine, decision, mark_applied=True)
            state = snapshot(ws).state

    in_flight = state.handoff_in_flight
    if in_flight is not None:
        after = handoff.advance(engine, in_flight.id, wait=False)
        report.handoff = {"id": after.id, "step": after.step, "from": after.from_tier, "to": after.to_tier}
        if after.step == "failed":
            report.handoff["reason"] = after.fields.get("reason")
        state = snapshot(ws).state

    report.state_md_changed = refresh_state_md(ws, state, timeout=config.lock_timeout)

    snapshot(ws, store_cache=True)  # the next tick folds only what is appended after this one
    own = _events_of(ws, ledger_before)
    significant = [e for e in own if e["type"] != "cost"]
    if significant and config.get("tick", "commit"):
        report.commit = _commit(ws, config, significant, report)


def _commit_message(events: list[ledger.Event]) -> str:
    """Decisions first (the subject names the first), then handoff steps, task changes, test runs."""
    rank = {"decision": 0, "handoff": 1, "task": 2, "test_run": 3}
    lines: list[str] = []
    steps: dict[str, list[str]] = {}
    for event in events:
        if event["type"] == "handoff" and event.get("status", "done") == "done":
            steps.setdefault(str(event.get("handoff")), []).append(str(event.get("step")))
    for event in sorted(events, key=lambda e: rank.get(e["type"], 4)):
        if event["type"] == "decision":
            move = f"{event.get('from_tier') or '?'} -> {event.get('to_tier') or '?'}"
            lines.append(f"{event.get('trigger')}: {move} {event.get('status')}: {event.get('reason')}")
        elif event["type"] == "handoff" and str(event.get("handoff")) in steps:
            done = steps.pop(str(event.get("handoff")))
            lines.append(f"handoff {event.get('handoff')}: {', '.join(done)}")
        elif event["type"] == "task":
            lines.append(f"task {event.get('task')} {event.get('status')}")
        elif event["type"] == "test_run":
            lines.append(f"test run {'passed' if event.get('passed') else 'failed'}")
    subject = lines[0] if lines else "record activity"
    body = "\n".join(f"- {line}" for line in lines[1:])
    return f"cloister: {subject}" + (f"\n\n{body}" if body else "")


def _commit(ws: Workspace, config: Config, events: list[ledger.Event], report: Report) -> str | None:
    tick = config.get("tick")
    try:
        busy = git.busy_reason(ws.root)
        if busy:
            report.problems.append(f"not committing: {busy}; the next tick will")
            return None
        return git.commit_paths(
            ws.root, COMMIT_PATHS, _commit_message(events), tick["author_name"], tick["author_email"]
        )
    except ToolError as exc:
        report.problems.append(f"not committing: {exc}")
        return None


def all_workspaces(start: Workspace, config: Config) -> list[Workspace]:
    """This workspace, its git worktrees (``tick.worktrees``) and ``tick.workspaces``: the initialised ones."""
    found: list[Path] = [start.root]
    if config.get("tick", "worktrees"):
        try:
            found += git.worktrees(start.root)
        except ToolError:
            pass
    for pattern in config.get("tick", "workspaces"):
        expanded = os.path.expanduser(pattern)
        found += [Path(p) for p in sorted(glob.glob(expanded))] or [Path(expanded)]
    unique: dict[Path, Workspace] = {}
    for path in found:
        resolved = path.resolve()
        if resolved not in unique and (resolved / ".cloister").is_dir():
            unique[resolved] = Workspace(resolved)
    return list(unique.values())


PARALLEL_FROM = 4  # workspaces; below this, starting workers costs more than it saves


def _tick_one(ws: Workspace, dry_run: bool, clock: Callable[[], datetime], live: set[str] | None) -> Report:
    """One workspace of a `tick --all`; its trouble becomes its report, not the whole run's."""
    try:
        return tick_workspace(ws, dry_run=dry_run, clock=clock, tmux=Tmux.from_env(), live=live)
    except CloisterError as exc:
        return Report(str(ws.root), problems=[str(exc)], skipped="error")


def tick(start: Workspace, *, every: bool, dry_run: bool, clock: Callable[[], datetime]) -> list[Report]:
    if not every:
        return [tick_workspace(start, dry_run=dry_run, clock=clock)]
    targets = all_workspaces(start, load_config(start.config_path))
    live = live_sessions(Tmux.from_env())
    workers = min(os.cpu_count() or 1, 4)
    if len(targets) < PARALLEL_FROM or workers < 2:
        return [_tick_one(ws, dry_run, clock, live) for ws in targets]
    # Workspaces are independent (each has its own locks and files): spread them over the cores.
    # Forked workers inherit the imports, so they start at once.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_tick_one, ws, dry_run, clock, live) for ws in targets]
        return [future.result() for future in futures]
