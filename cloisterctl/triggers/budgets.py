"""Budgets (``budgets.*``): how much of each spending limit is used, the warnings recorded as their
level changes, and the rule that flags (or stops) the agent at a limit. Pure.

Three limits, each off until set: ``agent_usd`` (everything the agent has spent), ``task_usd``
(what its current task has cost, whoever worked on it) and ``day_usd`` (what the agent spent on
the current UTC day). The figures come from the folded cost checkpoints (``ledger.spending``).
A budget's level is ``ok`` below ``warn_at`` of its limit, ``warn`` from there, ``over`` at the
limit. A change of level (or of the task or day it is for) is recorded as a ``budget`` event, so
STATE.md shows the warning without reading the clock; at ``over`` the limit's rule (``budget``,
one trigger per limit: ``budget_agent``, ``budget_task``, ``budget_day``) decides a flag or, with
``budgets.action: stop``, a stop, once per limit reached (its cause names the task or day and the
limit).

A model with no price is counted at $0 (``ledger.projection.unpriced_models``): while the
workspace's cost names one, every figure is a lower bound, and says so ("at least $X; N unpriced
models").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloisterctl.config.settings import Budgets
from cloisterctl.ledger.events import Event, make_event
from cloisterctl.ledger.projection import undercount, unpriced_models
from cloisterctl.ledger.spending import SCOPES, spent_micro
from cloisterctl.ledger.state import MICRO, WorkspaceState
from cloisterctl.triggers.cause import Cause
from cloisterctl.triggers.names import TriggerName
from cloisterctl.triggers.rules import Inputs, Proposal

WHAT = {"agent": "the agent has spent", "task": "task {key} has cost", "day": "the agent spent on {key} (UTC)"}


@dataclass(frozen=True)
class BudgetStatus:
    scope: str  # agent, task or day
    key: str  # the agent, the task or the UTC day
    spent_usd: float
    limit_usd: float
    level: str  # ok, warn or over
    unpriced: tuple[str, ...] = ()  # models counted at $0: ``spent_usd`` is a lower bound

    @property
    def share(self) -> float:
        return self.spent_usd / self.limit_usd

    def describe(self) -> str:
        what = WHAT[self.scope].format(key=self.key)
        spent = f"at least ${self.spent_usd:.2f}" if self.unpriced else f"${self.spent_usd:.2f}"
        text = f"{what} {spent} of budgets.{self.scope}_usd ${self.limit_usd:g} ({self.share:.0%})"
        return text + (f"; {undercount(self.unpriced)}" if self.unpriced else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "key": self.key,
            "spent_usd": self.spent_usd,
            "limit_usd": self.limit_usd,
            "share": round(self.share, 4),
            "level": self.level,
            "unpriced_models": list(self.unpriced),
        }


def level_of(spent_usd: float, limit_usd: float, warn_at: float) -> str:
    if spent_usd >= limit_usd:
        return "over"
    return "warn" if spent_usd >= warn_at * limit_usd else "ok"


def statuses(state: WorkspaceState, budgets: Budgets, now: datetime) -> list[BudgetStatus]:
    """Every budget that is set and applies now (the task budget only while the agent has a task)."""
    found = []
    unpriced = tuple(unpriced_models(state))
    for scope in SCOPES:
        limit = budgets.limits.get(scope)
        if not limit:
            continue
        key = {"agent": state.agent, "task": state.task, "day": now.strftime("%Y-%m-%d")}[scope]
        if key is None:
            continue
        spent = spent_micro(state, scope, key) / MICRO
        found.append(BudgetStatus(scope, key, spent, limit, level_of(spent, limit, budgets.warn_at), unpriced))
    return found


def warning_events(state: WorkspaceState, budgets: Budgets, now: datetime) -> list[Event]:
    """A ``budget`` event for each budget whose level (or task, or day) is not the one recorded:
    a warning reached, a limit reached, or a recorded warning with no cause any more (level ok)."""
    current = {status.scope: status for status in statuses(state, budgets, now)}
    events: list[Event] = []
    for scope in SCOPES:
        recorded: Mapping[str, Any] | None = state.budgets.get(scope)
        status = current.get(scope)
        if status is None or status.level == "ok":
            if recorded is not None:
                key = status.key if status else recorded.get("key")
                spent = status.spent_usd if status else 0.0
                events.append(make_event("budget", state.agent, now, scope=scope, level="ok", key=key, spent_usd=spent))
            continue
        if recorded is not None and (recorded.get("level"), recorded.get("key")) == (status.level, status.key):
            continue
        events.append(
            make_event(
                "budget",
                state.agent,
                now,
                scope=scope,
                level=status.level,
                key=status.key,
                spent_usd=round(status.spent_usd, 6),
                limit_usd=status.limit_usd,
                warn_at=budgets.warn_at,
            )
        )
    return events


def budget(inputs: Inputs, scope: str, trigger: TriggerName) -> list[Proposal]:
    """The ``scope`` limit reached: a flag, or with ``budgets.action: stop`` a stop of the running
    agent (a flag when nothing runs), once per task or day and limit. ``trigger`` is the limit's."""
    state, budgets = inputs.state, inputs.config.budgets
    proposals = []
    for status in statuses(state, budgets, inputs.now):
        if status.scope != scope or status.level != "over":
            continue
        stop = budgets.action == "stop" and state.session is not None and state.idle is None
        cause = Cause(trigger, about=status.key, limit=status.limit_usd).format()
        reason = f"{status.describe()}: the limit is reached"
        proposals.append(
            Proposal(trigger, cause, "stop" if stop else "flag", reason, task=state.task, from_tier=state.tier)
        )
    return proposals
