"""Trigger rules: (folded state, tasks, config, now) -> proposed decisions. Pure.

Each rule is registered with its trigger's spec (``triggers.specs``), which gives the order they
are evaluated in (at most one tier change is proposed per evaluation; the others wait):

- planning_complete: a "plan" task (by label or title word) closed while the agent is on the
  trigger's ``from_model`` tier -> ``to_model`` (opus -> sonnet).
- implementation_complete: an "implement" task closed and no implement work remains open -> the
  ``to_specialist`` role (test-agent, haiku).
- task_completed: the agent's current task closed -> route the next ready task; a different tier
  means a handoff (a downgrade only when the economics say it pays); the same tier just moves on.

All three hand the agent the next ready task of the same tree (``routing.succession``): the handoff
carries it, or the session it keeps is told about it. When nothing is ready the decision is
``idle``: no tier change, and the agent is told to stop.
- test_failures: N failed test runs in a row on the current tier -> one tier up (opus: flagged).
- verification_failed: the verification of the agent's current task's close failed
  (``testruns.verification_plan``) -> one tier up, the failure's evidence in the reason (and so in
  the handoff packet). While a close's verification is pending or failed, the three triggers
  above do not act on that close.
- stuck: no progress for longer than the current tier's threshold (haiku 10 min -> sonnet,
  sonnet 20 min -> opus; opus is flagged after ``opus_flag_minutes``, never escalated). An idle
  agent (nothing ready) is not stuck.
- bleed: more than ``guards.bleed_usd`` spent since the last progress (a commit, a task change, a
  passing test) -> flagged, or with ``guards.bleed_action: stop`` stopped.

The guards that every proposal passes before it becomes a decision are in ``cloisterctl.triggers.guards``.
Decision kinds and trigger names are defined in ``ledger.decisions``; causes are built by ``triggers.cause``.

Tiers are always compared as tiers: configured models (aliases or full ids) go through
``Config.tier_of`` first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cloisterctl.config.settings import Config, KindTrigger
from cloisterctl.ledger.agent_state import stuck_reading
from cloisterctl.ledger.decisions import TIER_CHANGES, DecisionKind
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.models.prices import PriceTable
from cloisterctl.models.tiers import tier_above, tier_rank
from cloisterctl.routing.economics import downgrade_whatif, warm_context
from cloisterctl.routing.succession import NextTask, next_task
from cloisterctl.tasks.records import Task
from cloisterctl.testruns.verification_plan import failed_verification, holds
from cloisterctl.triggers.cause import Cause
from cloisterctl.triggers.names import TriggerName


@dataclass(frozen=True)
class Proposal:
    trigger: TriggerName
    cause: str  # Cause.format()
    kind: DecisionKind
    reason: str
    task: str | None = None
    from_tier: str | None = None
    to_tier: str | None = None
    to_model: str | None = None
    to_role: str | None = None
    next_task: str | None = None
    economics: dict[str, Any] | None = None
    reasons: tuple[str, ...] = ()
    next_complexity: dict[str, Any] | None = None
    adaptive: dict[str, Any] | None = None  # the adaptive policy's figures for the next task's start tier
    skipped: bool = False  # recorded for review, not acted on (a downgrade that does not pay)
    needs_approval: bool = False

    @property
    def changes_tier(self) -> bool:
        return self.kind in TIER_CHANGES and not self.skipped

    def event_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "trigger": self.trigger,
            "cause": self.cause,
            "kind": self.kind,
            "task": self.task,
            "from_tier": self.from_tier,
            "to_tier": self.to_tier,
            "reason": self.reason,
        }
        for key in ("to_model", "to_role", "next_task", "economics", "adaptive"):
            value = getattr(self, key)
            if value is not None:
                fields[key] = value
        if self.reasons:
            fields["reasons"] = list(self.reasons)
        if self.next_complexity is not None:
            fields["complexity"] = self.next_complexity
        return fields


@dataclass(frozen=True)
class Inputs:
    state: WorkspaceState
    tasks: Mapping[str, Task]
    config: Config
    prices: PriceTable
    now: datetime
    alive: bool | None = None  # the agent's process: running, gone, or unknown
    overrides: Mapping[str, str] = field(default_factory=dict)


def _kind(from_tier: str | None, to_tier: str) -> Literal["continue", "downgrade", "upgrade"]:
    if from_tier is None or tier_rank(to_tier) == tier_rank(from_tier):
        return "continue"
    return "downgrade" if tier_rank(to_tier) < tier_rank(from_tier) else "upgrade"


@functools.lru_cache(maxsize=64)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in words) or "(?!)"
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])", re.IGNORECASE)


def _matches(task_id: str, inputs: Inputs, spec: KindTrigger) -> bool:
    """Is the task one of a kind (a "plan" task, an "implement" task): by label or by title word."""
    task = inputs.tasks.get(task_id)
    known = inputs.state.tasks.get(task_id, {})
    task_labels = task.labels if task else known.get("labels") or []
    wanted = {label.lower() for label in spec.labels}
    if any(label.lower() in wanted for label in task_labels):
        return True
    title = task.title if task else str(known.get("title") or "")
    return _word_pattern(spec.title_words).search(title) is not None


def _closed(inputs: Inputs, since: str | None = None) -> list[tuple[str, str]]:
    """(closed ts, task id) of tasks the ledger has seen close (since ``since``), oldest first;
    not a close whose verification is running or failed (it does not count yet)."""
    found = [
        (str(info["closed"]), task_id)
        for task_id, info in inputs.state.tasks.items()
        if info.get("closed") and (since is None or str(info["closed"]) >= since) and not holds(inputs.state, task_id)
    ]
    return sorted(found)


def _downgrade_economics(inputs: Inputs, to_model: str) -> dict[str, Any] | None:
    state = inputs.state
    if not state.model or not state.tier:
        return None
    from_price, to_price = inputs.prices.lookup(state.model), inputs.prices.lookup(to_model)
    if from_price is None or to_price is None:
        return None
    defaults = inputs.config.whatif_defaults
    context = warm_context(state.session_context.get(state.session or ""), defaults.context_tokens)
    return downgrade_whatif(from_price, to_price, context, defaults).as_dict()


def tier_change(
    inputs: Inputs, trigger: TriggerName, cause: str, task: str | None, to_tier: str, reason: str, **extra: Any
) -> Proposal:
    """A tier change proposal; a downgrade carries its economics and is skipped when it does not pay.

    (Also used for a manual handoff, which shows the economics but is not skipped.)"""
    state, config = inputs.state, inputs.config
    to_model = config.tier_model(to_tier)
    kind = _kind(state.tier, to_tier)
    economics = None
    skipped = False
    reasons: tuple[str, ...] = ()
    if kind == "downgrade":
        economics = _downgrade_economics(inputs, to_model)
        if economics is not None:
            reasons = (str(economics["verdict"]),)
            skipped = not economics["handoff_pays"]
    return Proposal(
        trigger=trigger,
        cause=cause,
        kind=kind,
        reason=reason,
        task=task,
        from_tier=state.tier,
        to_tier=to_tier,
        to_model=to_model,
        economics=economics,
        reasons=reasons,
        skipped=skipped,
        **extra,
    )


# ------------------------------------------------------------------------------------------- rules


def _following(inputs: Inputs, closed: str) -> NextTask | None:
    return next_task(inputs.tasks, closed, inputs.config, inputs.prices, inputs.overrides, inputs.state.outcomes.counts)


def _idle(inputs: Inputs, trigger: TriggerName, cause: str, task: str, reason: str) -> Proposal:
    """Nothing is ready after ``task``: no tier change; the agent is told to stop."""
    return Proposal(trigger, cause, "idle", f"{reason}; no task is ready", task=task, from_tier=inputs.state.tier)


def _hand_on(
    inputs: Inputs, trigger: TriggerName, cause: str, task: str, to_tier: str, reason: str, to_role: str | None = None
) -> Proposal:
    """The move a closed task calls for: to ``to_tier`` (or staying, on it already) with the next
    ready task; idle when there is none."""
    following = _following(inputs, task)
    if following is None:
        return _idle(inputs, trigger, cause, task, reason)
    move = tier_change(
        inputs,
        trigger,
        cause,
        task,
        to_tier,
        f"{reason}; {following.describe()}",
        to_role=to_role,
        next_task=following.task.id,
        next_complexity=following.complexity,
        adaptive=following.route.adaptive,
    )
    return Proposal(**{**move.__dict__, "reasons": (*following.route.reasons, *move.reasons)})


def planning_complete(inputs: Inputs) -> list[Proposal]:
    spec = inputs.config.kind_trigger("planning_complete")
    state = inputs.state
    if not spec.enabled or state.tier is None:
        return []
    if spec.from_tier is not None and spec.from_tier != state.tier:
        return []
    found = []
    # Planning is complete when a plan task closes while the agent is on this tier, not when some
    # plan task closed long before it got here.
    for closed_at, task_id in _closed(inputs, state.tier_since):
        cause = Cause("planning_complete", about=task_id).format()
        if cause in state.causes:
            continue  # decided already; skip the matching and the economics
        if _matches(task_id, inputs, spec):
            reason = f"plan task {task_id} closed at {closed_at}"
            found.append(_hand_on(inputs, "planning_complete", cause, task_id, spec.to_tier, reason, spec.to_role))
    return found


def implementation_complete(inputs: Inputs) -> list[Proposal]:
    spec = inputs.config.kind_trigger("implementation_complete")
    state = inputs.state
    if not spec.enabled or state.tier is None or state.role == spec.to_role:
        return []
    if spec.from_tier is not None and spec.from_tier != state.tier:
        return []
    closed = [(ts, task_id) for ts, task_id in _closed(inputs, state.tier_since) if _matches(task_id, inputs, spec)]
    if not closed:
        return []
    closed_at, task_id = closed[-1]
    cause = Cause("implementation_complete", about=task_id).format()
    if cause in state.causes:
        return []
    if any(not task.is_closed and _matches(task.id, inputs, spec) for task in inputs.tasks.values()):
        return []  # implement work remains
    reason = f"implementation task {task_id} closed at {closed_at} and no implement work remains"
    return [_hand_on(inputs, "implementation_complete", cause, task_id, spec.to_tier, reason, spec.to_role)]


def task_completed(inputs: Inputs) -> list[Proposal]:
    state = inputs.state
    if not inputs.config.trigger_enabled("task_completed") or not state.task:
        return []
    info = state.tasks.get(state.task, {})
    if not info.get("closed") or holds(state, state.task):
        return []
    closed_task = state.task
    cause = Cause("task_completed", about=closed_task).format()
    following = _following(inputs, closed_task)
    if following is None:
        return [_idle(inputs, "task_completed", cause, closed_task, f"task {closed_task} closed")]
    routed = following.route
    reason = f"task {closed_task} closed; {following.describe()}"
    if state.tier is None or routed.tier == state.tier:
        return [
            Proposal(
                "task_completed",
                cause,
                "continue",
                reason,
                task=closed_task,
                from_tier=state.tier,
                to_tier=routed.tier,
                next_task=following.task.id,
                reasons=routed.reasons,
                next_complexity=following.complexity,
                adaptive=following.route.adaptive,
            )
        ]
    move = tier_change(
        inputs,
        "task_completed",
        cause,
        closed_task,
        routed.tier,
        reason,
        next_task=following.task.id,
        next_complexity=following.complexity,
        adaptive=following.route.adaptive,
    )
    return [Proposal(**{**move.__dict__, "reasons": (*routed.reasons, *move.reasons)})]


def test_failures(inputs: Inputs) -> list[Proposal]:
    state = inputs.state
    needed = inputs.config.consecutive_failures
    if not inputs.config.trigger_enabled("test_failure") or state.tier is None or state.test_failures_in_a_row < needed:
        return []
    cause = Cause("test_failure", tier=state.tier, since=state.tier_since or "").format()
    reason = f"{state.test_failures_in_a_row} failed test runs in a row on {state.tier}"
    return [_one_up(inputs, "test_failure", cause, reason)]


def verification_failed(inputs: Inputs) -> list[Proposal]:
    state = inputs.state
    task = state.task
    if not inputs.config.trigger_enabled("verification_failed") or task is None or state.tier is None:
        return []
    latest = failed_verification(state, task)
    if latest is None:
        return []
    cause = Cause("verification_failed", about=task, since=str(latest["ts"])).format()
    if cause in state.causes:
        return []
    evidence = f": {latest['note']}" if latest.get("note") else ""
    if latest.get("output"):
        evidence += "\noutput (last lines):\n" + "\n".join(str(line) for line in latest["output"])
    reason = f"the verification of {task}'s close on {latest.get('tier') or state.tier} failed{evidence}"
    return [_one_up(inputs, "verification_failed", cause, reason)]


def stuck(inputs: Inputs) -> list[Proposal]:
    """Quiet past the tier's threshold, as ``ledger.agent_state.stuck_reading`` measures it (the
    statusline's "stuck in Xm" reads the same)."""
    state = inputs.state
    reading = stuck_reading(state, inputs.config, inputs.alive)
    if reading is None or not reading.stuck(inputs.now):
        return []
    cause = Cause("stuck", tier=state.tier, since=reading.quiet_since).format()
    dead = " (its process is gone)" if inputs.alive is False else ""
    quiet, limit = reading.minutes_quiet(inputs.now), reading.threshold_minutes
    reason = f"no progress for {quiet:.1f} min on {state.tier}{dead} (threshold {limit:g} min)"
    return [_one_up(inputs, "stuck", cause, reason)]


def _one_up(inputs: Inputs, trigger: TriggerName, cause: str, reason: str) -> Proposal:
    """An escalation to the next tier, or on the top tier a flag (nothing is above opus)."""
    state = inputs.state
    up = tier_above(state.tier) if state.tier else None
    if up is None:
        return Proposal(
            trigger,
            cause,
            "flag",
            f"{reason}; on the top tier: flagged, not escalated",
            task=state.task,
            from_tier=state.tier,
        )
    return Proposal(
        trigger,
        cause,
        "escalation",
        reason,
        task=state.task,
        from_tier=state.tier,
        to_tier=up,
        to_model=inputs.config.tier_model(up),
    )


def bleed(inputs: Inputs) -> list[Proposal]:
    """Spend with no progress since: a flag, or a stop with ``guards.bleed_action: stop``."""
    state, guards = inputs.state, inputs.config.guards
    if guards.bleed_usd <= 0 or state.session is None or state.idle is not None:
        return []
    spent = state.spent_since_progress
    if spent <= guards.bleed_usd:
        return []
    since = f"since {state.progress_at}" if state.progress_at else "and no progress yet"
    reason = (
        f"${spent:.2f} spent {since} without a commit, a task change or a passing test "
        f"(guards.bleed_usd ${guards.bleed_usd:g})"
    )
    kind: DecisionKind = "stop" if guards.bleed_action == "stop" else "flag"
    cause = Cause("bleed", since=state.progress_at or "").format()
    return [Proposal("bleed", cause, kind, reason, task=state.task, from_tier=state.tier)]


# ------------------------------------------------------------------------------------------- tasks
# Whether a rule could look at the tracker's tasks now (the tick reads them only then).


def _closed_on_this_tier_undecided(state: WorkspaceState, trigger: TriggerName) -> bool:
    since = state.tier_since or ""
    return any(
        info.get("closed")
        and str(info["closed"]) >= since
        and Cause(trigger, about=task_id).format() not in state.causes
        for task_id, info in state.tasks.items()
    )


def planning_needs_tasks(state: WorkspaceState) -> bool:
    return _closed_on_this_tier_undecided(state, "planning_complete")


def implementation_needs_tasks(state: WorkspaceState) -> bool:
    return _closed_on_this_tier_undecided(state, "implementation_complete")


def task_completed_needs_tasks(state: WorkspaceState) -> bool:
    current = state.tasks.get(state.task or "", {})
    if not current.get("closed") or holds(state, state.task or ""):
        return False
    return Cause("task_completed", about=state.task).format() not in state.causes
