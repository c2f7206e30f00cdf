"""`cloisterctl tick`: one pass over a workspace (or all of them), with no resident process.

A tick is a pipeline, under the workspace's tick lock (a second tick waits ``tick.wait_seconds``,
then leaves, saying so):

1. **read** (``read_inputs``): the folded ledger once, what is new in the transcripts, the task
   tracker (only when it changed or a rule could need it), the agent's liveness, the results of
   the verifications under way (``testruns.verification``);
2. **decide** (``decide``, no I/O): cost checkpoints, task changes the hooks missed, transcript
   activity, the verdicts of verifications that ended and the start of the verification of the
   agent's task's close (``testruns.verification_plan``), the triggers' (and budgets') decisions
   through the guards, the events that carry them
   out, and the budget warnings whose level changed, all folded into a draft state;
3. **apply** (``apply_plan``): one ledger batch and one signal batch, the verifications recorded
   as started started (detached) and failed closes reopened in the tracker, what a decision tells the
   running agent (its next task's brief, that nothing is ready; ``followups``), the handoff in flight
   advanced as far as it goes without waiting, STATE.md written once, and one commit of what it
   decided (only STATE.md and .cloister/, as cloisterctl, naming the decision).

With nothing new, a tick writes nothing at all. While a git operation is in progress (a merge,
rebase, cherry-pick, revert or bisect) or HEAD is detached, it touches no tracked file: what it
records goes to the machine-local spool (``Context.held``; ``held`` in its report says why), no
checkpoint, STATE.md or subagent definition is written, and the first tick after the operation
ends moves it all to the ledger and commits it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.cost import collect
from cloisterctl.cost.reports import CostData
from cloisterctl.cost.transcripts.locate import session_transcript
from cloisterctl.errors import CloisterError, LockTimeout, StateFileError, ToolError
from cloisterctl.handoff import followups, machine, review
from cloisterctl.handoff.steps import exit_file
from cloisterctl.integrations.merge_driver import repair as repair_state_md
from cloisterctl.integrations.subagents_install import sync_subagents
from cloisterctl.ledger import statefile
from cloisterctl.ledger.commit import finish, take_up
from cloisterctl.ledger.context import Context, Draft
from cloisterctl.ledger.events import Event, format_ts, make_event
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.ownership import started_here
from cloisterctl.ledger.projection import unpriced_models
from cloisterctl.ledger.upkeep import upkeep
from cloisterctl.models.tiers import normalise_model_id
from cloisterctl.routing.overrides import read_overrides
from cloisterctl.routing.route import tracker_for
from cloisterctl.runtime.launch import read_exit_file
from cloisterctl.runtime.tmux import Tmux
from cloisterctl.tasks import seen as seen_file
from cloisterctl.tasks import watch
from cloisterctl.tasks.beads import JsonlTracker, jsonl_path, open_tracker
from cloisterctl.tasks.records import Task
from cloisterctl.testruns import verification, verification_plan
from cloisterctl.tick import stamp
from cloisterctl.triggers import decisions
from cloisterctl.triggers.budgets import warning_events
from cloisterctl.triggers.guards import evaluate, status_for
from cloisterctl.triggers.rules import Inputs, Proposal
from cloisterctl.triggers.specs import rules_need_tasks
from cloisterctl.workspace.covered import all_workspaces
from cloisterctl.workspace.layout import Workspace


@dataclass
class Report:
    workspace: str
    skipped: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    brief: dict[str, Any] | None = None  # what the running agent was told (its next task, idle) or if it was stopped
    tasks: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float | None = None
    state_md_changed: bool = False
    ledger: list[str] = field(default_factory=list)  # files the ledger's upkeep changed (ledger.upkeep)
    commit: str | None = None
    problems: list[str] = field(default_factory=list)
    # Exactly what this tick wrote: committed ledger events by type, and lines of the signal spool.
    ledger_events: dict[str, int] = field(default_factory=dict)
    signals: int = 0
    subagents: list[str] = field(default_factory=list)  # definitions rewritten because the config changed
    # Verifications of closes (testruns.verification): {"task", "result"} started (pending) or ended.
    verifications: list[dict[str, Any]] = field(default_factory=list)
    held: str | None = None  # why it recorded locally only (a git operation in progress, a detached HEAD)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ read


@dataclass
class TickInputs:
    """Everything a tick reads before it decides."""

    # What cost is read from now (``collect.read_cost``: the data, or the last refresh's result
    # when nothing changed); None on a dry run (reading transcripts updates their cache).
    cost: CostData | dict[str, Any] | None
    activity: list[Event]  # transcript growth, for the signal spool
    tasks: dict[str, Task]  # {} when no rule needs them and the tracker did not change
    tasks_read: bool
    seen: dict[str, str] | None
    seen_stamp: list[int] | None
    stamp: list[int] | None
    overrides: Mapping[str, str]
    alive: bool | None
    state_md_ok: bool  # STATE.md can be updated (valid front matter, not read-only)
    ended: dict[str, Any] | None = None  # how the current session's process ended, when it is gone
    verified: list[dict[str, Any]] = field(default_factory=list)  # verifications that ended (event fields)


def _tasks(ctx: Context, problems: list[str]) -> dict[str, Task]:
    beads = ctx.config.beads
    if not ((ctx.ws.root / beads.jsonl).exists() or (ctx.ws.root / ".beads").is_dir()):
        return {}
    try:
        return tracker_for(ctx.ws, ctx.config).all_tasks()
    except CloisterError as exc:
        problems.append(str(exc))
        return {}


def _tracker_stamp(ctx: Context) -> list[int] | None:
    """Identity of the JSONL export when it is the tracker (unchanged file: nothing to reconcile)."""
    beads = ctx.config.beads
    try:
        tracker = open_tracker(ctx.ws.root, beads.command, beads.jsonl, beads.use_cli)
    except ToolError:
        return None  # bd is required and missing: reading the tasks says so
    if not isinstance(tracker, JsonlTracker):
        return None  # bd is the source of truth: ask it every time
    try:
        stat = jsonl_path(ctx.ws.root, beads.jsonl).stat()
    except FileNotFoundError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _transcript_activity(ctx: Context, state: WorkspaceState) -> list[Event]:
    """An activity signal when the current session's transcript grew since it was last seen."""
    path = session_transcript(ctx.ws.root, state.session)
    if path is None:
        return []
    grown = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if format_ts(grown) <= state.activity.get("transcript", ""):
        return []
    return [make_event("activity", state.agent, grown, source="transcript", session=state.session)]


def live_sessions(tmux: Tmux) -> set[str] | None:
    """The tmux sessions running now (one call for a whole `tick --all`); None when tmux is missing."""
    try:
        return set(tmux.sessions())
    except ToolError:
        return None


def read_inputs(ctx: Context, report: Report, live: set[str] | None, *, dry_run: bool) -> TickInputs:
    state = ctx.state
    report.problems += ctx.problems
    if ctx.config.untrusted_note:
        report.problems.append(ctx.config.untrusted_note)
    report.problems += ctx.config.warnings
    seen, seen_stamp = seen_file.read_seen(ctx.ws)
    stamp = _tracker_stamp(ctx)
    # A changed export may hold task changes the hooks missed; otherwise the tasks are read only
    # when a rule could need them (task events come only from a read, so this is known now).
    tasks_read = seen is None or stamp is None or stamp != seen_stamp or rules_need_tasks(state)
    alive = None if state.session is None or live is None else ctx.tmux_name(state.agent) in live
    ended = read_exit_file(exit_file(ctx, state.session)) if alive is False and state.session else None
    report.problems += repair_state_md(ctx)  # conflict markers a merge left in the cloister block
    try:
        statefile.check_writable(ctx.ws.state_md)
        state_md_ok = True
    except StateFileError as exc:
        report.problems.append(f"{exc}; STATE.md is not updated until it is fixed (the ledger is)")
        state_md_ok = False
    return TickInputs(
        cost=None if dry_run else _read_cost(ctx, report),
        activity=_transcript_activity(ctx, state),
        tasks=_tasks(ctx, report.problems) if tasks_read else {},
        tasks_read=tasks_read,
        seen=seen,
        seen_stamp=seen_stamp,
        stamp=stamp,
        overrides=read_overrides(ctx.ws),
        alive=alive,
        state_md_ok=state_md_ok,
        ended=ended,
        verified=[] if dry_run else _verdicts(ctx, verification_plan.pending(state)),
    )


def _read_cost(ctx: Context, report: Report) -> CostData | dict[str, Any] | None:
    try:
        return collect.read_cost(ctx)
    except CloisterError as exc:
        report.problems.append(f"cost: {exc}")
        return None


# ------------------------------------------------------------------------------------------ decide


@dataclass
class Plan:
    draft: Draft
    proposals: list[Proposal]
    decided: list[str]  # ids of the decision events
    task_changes: list[dict[str, Any]]
    seen: dict[str, str] | None
    started: str | None  # the handoff the decisions start


def decide(ctx: Context, inputs: TickInputs) -> Plan:
    """Everything this tick will record, folded into a draft; nothing is written."""
    draft = ctx.draft()
    now = ctx.clock()
    state = ctx.state
    if inputs.cost is not None:
        draft.add(collect.cost_events(inputs.cost, state, ctx))
    changes: list[dict[str, Any]] = []
    now_seen = inputs.seen
    if inputs.tasks_read:
        changes, now_seen = watch.changes(inputs.seen, inputs.tasks, state.tasks)
    draft.add([make_event("task", state.agent, now, **fields) for fields in changes])
    draft.add([make_event("reopen", state.agent, now, **fields) for fields in watch.reopens(changes, state.tasks)])
    draft.add(inputs.activity, local=True)
    draft.add(_exit_events(state, inputs, now))
    draft.add(_verification_events(draft.state, ctx.config, inputs, now))

    config = ctx.config
    observed = draft.state
    proposals = evaluate(Inputs(observed, inputs.tasks, config, config.prices, now, inputs.alive, inputs.overrides))
    made = decisions.decision_events(observed, now, proposals)
    draft.add(made)
    started = None
    for event in made:
        decision = draft.state.decisions[event["id"]]
        if decision.status == "applied":
            events, begun = decisions.apply_events(draft.state, config, now, decision, mark_applied=False)
            draft.add(events)
            started = started or begun
    for decision in list(draft.state.decisions.values()):
        if decision.status == "approved" and draft.state.handoff_in_flight is None:
            events, begun = decisions.apply_events(draft.state, config, now, decision, mark_applied=True)
            draft.add(events)
            started = started or begun
    draft.add(warning_events(draft.state, config.budgets, now))  # a budget's level changed
    return Plan(draft, proposals, [event["id"] for event in made], changes, now_seen, started)


def _verdicts(ctx: Context, pending: list[verification_plan.Plan]) -> list[dict[str, Any]]:
    """The verifications that ended: their commands' verdicts, a pass waiting on its reviewer held
    back, the reviewer's verdict once written (``handoff.review``)."""
    return review.reviewed(ctx, pending, verification.finished(ctx, pending))


def _verification_events(state: WorkspaceState, config: Config, inputs: TickInputs, now: datetime) -> list[Event]:
    """The verdicts of verifications that ended, and the start of the current task's close's own."""
    events = [make_event("verification", state.agent, now, **fields) for fields in inputs.verified]
    plan = verification_plan.to_verify(state, config)
    if plan is not None:
        unknown = ", ".join(plan.unknown)
        events.append(
            make_event(
                "verification",
                state.agent,
                now,
                task=plan.task,
                result="pending",
                attempt=plan.attempt,
                tier=plan.tier,
                commands=list(plan.commands),
                **({"review": plan.review} if plan.review else {}),
                source="tick",
                note=f"labels name commands verification.commands does not define: {unknown}" if unknown else None,
            )
        )
    return events


def _exit_events(state: WorkspaceState, inputs: TickInputs, now: datetime) -> list[Event]:
    """The agent's process is gone while the ledger calls its session current (and no handoff is
    moving it): record that once, with how it ended, so STATE.md says dead, not working. Only about
    a session this clone started (``ledger.ownership.started_here``): another machine's process is
    not this one's to find gone."""
    if inputs.alive is not False or not state.session or state.handoff_in_flight is not None:
        return []
    if not started_here(state):
        return []
    if state.session in state.exited:
        return []
    ended = inputs.ended or {}
    return [
        make_event(
            "exit",
            state.agent,
            now,
            session=state.session,
            exit_code=ended.get("exit_code"),
            output=ended.get("output") or None,
            how="its tmux session is gone",
        )
    ]


# ------------------------------------------------------------------------------------------ apply


def apply_plan(ctx: Context, inputs: TickInputs, plan: Plan, report: Report) -> None:
    plan.draft.write()
    if plan.started is not None:
        ctx.maybe_crash("requested", "done")
    _carry_out_verifications(ctx, plan, report)
    if plan.seen != inputs.seen or inputs.stamp != inputs.seen_stamp:
        if plan.seen is not None:
            seen_file.write_seen(ctx.ws, plan.seen, inputs.stamp)
    for decision_id in plan.decided:
        decision = ctx.state.decisions[decision_id]
        report.decisions.append({"id": decision.id, "summary": decision.summary(), "status": decision.status})
    report.brief = followups.carry_out(ctx)
    in_flight = ctx.state.handoff_in_flight
    if in_flight is not None:
        after = machine.advance(ctx, in_flight.id, wait=False)
        report.handoff = {"id": after.id, "step": after.step, "from": after.from_tier, "to": after.to_tier}
        if after.step == "failed":
            report.handoff["reason"] = after.fields.get("reason")
    report.ledger_events = dict(sorted(Counter(event["type"] for event in ctx.written).items()))
    report.signals = len(plan.draft.local) + len(ctx.kept_local)
    # One write of STATE.md, and the fold kept for the next tick (it folds only what is appended after).
    if inputs.state_md_ok:
        report.state_md_changed = ctx.publish(store_cache=True)
    else:
        ctx.refresh(store_cache=True)
    maintained = upkeep(ctx, report.problems) if ctx.held is None else []
    report.ledger = maintained
    # After the upkeep: a first checkpoint creates its directory in the ledger's, which the
    # cost memo is stamped with.
    if inputs.cost is not None:
        refreshed = collect.remember_cost(ctx, inputs.cost, sum(1 for e in plan.draft.committed if e["type"] == "cost"))
        if refreshed:
            report.cost_usd = refreshed.get("total_usd")
    report.commit, troubles = finish(ctx, extra=maintained)
    report.problems += troubles


def _newly_unpriced(before: WorkspaceState, after: WorkspaceState) -> list[str]:
    """A warning for each model this tick's cost counts at $0 that the cost named no price for
    before: said once, when it first appears (STATE.md and `status` keep saying it)."""
    known = set(unpriced_models(before))
    return [
        f"cost: model {model} has no price, so it counts as $0 and every cost and budget figure is a lower bound "
        f"(add cost.prices.{normalise_model_id(model)} to the config)"
        for model in unpriced_models(after)
        if model not in known
    ]


def _carry_out_verifications(ctx: Context, plan: Plan, report: Report) -> None:
    """A failed close reopened in the tracker; the verifications recorded as started (now, or by
    a tick that stopped before it started them) started, or started again once after a crash."""
    for event in plan.draft.committed:
        if event["type"] == "verification" and event.get("source") == "tick":
            report.verifications.append({"task": event["task"], "result": event["result"]})
    for task in verification_plan.to_reopen(ctx.state):
        try:
            tracker_for(ctx.ws, ctx.config).reopen(task)
        except CloisterError as exc:
            report.problems.append(f"verification failed, but {task} was not reopened: {exc}")
    pending = verification_plan.pending(ctx.state)
    try:
        verification.resume(ctx, pending)
    except OSError as exc:
        report.problems.append(f"verification not started: {exc}")
    try:
        review.resume(ctx, pending)
    except (CloisterError, OSError) as exc:
        report.problems.append(f"reviewer not started: {exc}")


def _sync_subagents(ctx: Context, report: Report) -> None:
    """The installed subagent definitions rewritten when the config changed what they say (one hash
    compared when it did not)."""
    try:
        synced = sync_subagents(ctx.ws, ctx.config)
    except (CloisterError, OSError) as exc:
        report.problems.append(f"subagents not updated: {exc}")
        return
    if synced is not None:
        report.subagents = synced.changed + synced.removed


def tick_workspace(ctx: Context, *, dry_run: bool = False, live: set[str] | None = None) -> Report:
    report = Report(str(ctx.ws.root))
    ctx.ws.require_initialised()
    ctx.require_private()
    if live is None:
        live = live_sessions(ctx.tmux)
    try:
        with ctx.tick_lock():
            report.held = ctx.held
            if not dry_run:  # what a git operation held back, or a killed command left uncommitted
                take_up(ctx)
            inputs = read_inputs(ctx, report, live, dry_run=dry_run)
            plan = decide(ctx, inputs)
            report.problems += _newly_unpriced(ctx.state, plan.draft.state)
            report.tasks = [{"task": change["task"], "status": change["status"]} for change in plan.task_changes]
            if dry_run:
                report.decisions = [
                    {**p.event_fields(), "status": status_for(p), "dry_run": True} for p in plan.proposals
                ]
                return report
            apply_plan(ctx, inputs, plan, report)
            if report.held is None:
                _sync_subagents(ctx, report)
            stamp.stamp(ctx.ws)  # for `doctor`: when tick last ran here
    except LockTimeout as exc:
        if exc.path != ctx.ws.tick_lock_path:
            raise
        wait = ctx.config.tick.wait_seconds
        report.skipped = (
            f"another tick is running here: its lock .cloister/local/tick.lock is held (waited {wait:g}s); skipped"
        )
    return report


# ------------------------------------------------------------------------------------------ --all

PARALLEL_FROM = 4  # workspaces; below this, starting workers costs more than it saves


def _tick_one(ws: Workspace, dry_run: bool, clock: Callable[[], datetime], live: set[str] | None) -> Report:
    """One workspace of a `tick --all`; its trouble becomes its report, not the whole run's."""
    try:
        ctx = Context.for_workspace(ws, load_config(ws.config_path), tmux=Tmux.from_env(), clock=clock)
        return tick_workspace(ctx, dry_run=dry_run, live=live)
    except CloisterError as exc:
        return Report(str(ws.root), problems=[str(exc)], skipped="error")


def tick(start: Workspace, *, every: bool, dry_run: bool, clock: Callable[[], datetime]) -> list[Report]:
    if not every:
        ctx = Context.for_workspace(start, load_config(start.config_path), clock=clock)
        return [tick_workspace(ctx, dry_run=dry_run)]
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
