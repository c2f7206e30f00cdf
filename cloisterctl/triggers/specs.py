"""The triggers: one registered spec each, the only list of them. Pure.

A spec says what a trigger is: its name (``triggers.names``), its config section, the decision
kinds its rule may propose, its flag (what ends it, whether it fails the attempt: written into
each decision that raises it, so the fold needs no table of triggers), what the guards do with its
tier changes, when it needs the tracker's tasks, and its rule. The guards evaluate ``TRIGGERS`` in
this order, the tick asks ``rules_need_tasks``, and nothing else lists triggers.

Adding a trigger, all in this package: its name in ``triggers.names``, a rule
(``Inputs -> list[Proposal]``) and its spec here; then its config section in ``config.schema`` and
the README's triggers table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from cloisterctl.ledger.decisions import RAISES_FLAG, DecisionKind, Flag
from cloisterctl.ledger.state import WorkspaceState
from cloisterctl.triggers import budgets, rules
from cloisterctl.triggers.names import RuleTrigger
from cloisterctl.triggers.rules import Inputs, Proposal

Rule = Callable[[Inputs], list[Proposal]]

_TRIGGERS = "handoffs.auto_triggers"
_FLAG_ONLY: frozenset[DecisionKind] = frozenset({"flag", "stop"})


@dataclass(frozen=True)
class TriggerSpec:
    name: RuleTrigger  # every decision its rule proposes carries it
    config: str  # the dotted path of its config section (``config.schema``)
    kinds: frozenset[DecisionKind]  # what its decisions may be
    rule: Rule
    cooldown: bool = True  # its tier changes wait out ``guards.cooldown_minutes`` after the last one
    approval: bool = True  # its tier changes wait for a person when ``guards.require_approval`` says so
    # A trigger that decides on a closed task for another trigger: that one's decision for the same
    # task is dropped (a plan or implement task's own trigger speaks for it, not task_completed).
    speaks_for: tuple[RuleTrigger, ...] = ()
    needs_tasks: Callable[[WorkspaceState], bool] | None = None  # whether its rule reads the tracker now
    flag: Flag | None = None  # its flag (what ends it, whether it fails the attempt); None: it raises none

    def flag_fields(self, kind: str) -> dict[str, object]:
        """What a decision of ``kind`` records of this trigger's flag, when the decision raises it."""
        if self.flag is None or kind not in RAISES_FLAG:
            return {}
        return {"flag_clears": sorted(self.flag.clears_on), "fails_attempt": self.flag.fails_attempt}


def _budget(name: RuleTrigger, scope: str) -> TriggerSpec:
    rule = functools.partial(budgets.budget, scope=scope, trigger=name)
    # Below its limit again, ``ledger.spending`` drops the flag itself.
    return TriggerSpec(
        name, "budgets", _FLAG_ONLY, rule, cooldown=False, approval=False, flag=Flag(frozenset({"budget_ok"}))
    )


_TASK_ENDS: frozenset[DecisionKind] = frozenset({"downgrade", "upgrade", "continue", "idle"})
_ONE_UP: frozenset[DecisionKind] = frozenset({"escalation", "flag"})

# In the order they are evaluated: the first tier change proposed is the one decided.
TRIGGERS: tuple[TriggerSpec, ...] = (
    TriggerSpec(
        "planning_complete",
        f"{_TRIGGERS}.planning_complete",
        _TASK_ENDS,
        rules.planning_complete,
        speaks_for=("task_completed",),
        needs_tasks=rules.planning_needs_tasks,
    ),
    TriggerSpec(
        "implementation_complete",
        f"{_TRIGGERS}.implementation_complete",
        _TASK_ENDS,
        rules.implementation_complete,
        speaks_for=("task_completed",),
        needs_tasks=rules.implementation_needs_tasks,
    ),
    TriggerSpec(
        "task_completed",
        f"{_TRIGGERS}.task_completed",
        _TASK_ENDS,
        rules.task_completed,
        needs_tasks=rules.task_completed_needs_tasks,
    ),
    TriggerSpec(
        "test_failure",
        f"{_TRIGGERS}.test_failure",
        _ONE_UP,
        rules.test_failures,
        flag=Flag(frozenset({"task_change", "passing_test"}), fails_attempt=True),
    ),
    # The close's verification failed: the verification event already failed the attempt.
    TriggerSpec(
        "verification_failed",
        f"{_TRIGGERS}.verification_failed",
        _ONE_UP,
        rules.verification_failed,
        flag=Flag(frozenset({"task_change", "tier_change"})),
    ),
    TriggerSpec(
        "stuck",
        f"{_TRIGGERS}.stuck",
        _ONE_UP,
        rules.stuck,
        flag=Flag(frozenset({"task_change", "tier_change", "activity"}), fails_attempt=True),
    ),
    # A bleed stop must not wait for a person.
    TriggerSpec(
        "bleed",
        "handoffs.guards",
        _FLAG_ONLY,
        rules.bleed,
        cooldown=False,
        approval=False,
        flag=Flag(frozenset({"task_change", "progress"}), fails_attempt=True),
    ),
    _budget("budget_agent", "agent"),
    _budget("budget_task", "task"),
    _budget("budget_day", "day"),
)
BY_NAME: dict[str, TriggerSpec] = {spec.name: spec for spec in TRIGGERS}


def rules_need_tasks(state: WorkspaceState) -> bool:
    """Whether a trigger could look at the tracker's tasks now: most ticks need none, and skip
    reading thousands of tasks."""
    return any(spec.needs_tasks(state) for spec in TRIGGERS if spec.needs_tasks is not None)
