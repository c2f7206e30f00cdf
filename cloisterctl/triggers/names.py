"""The triggers' names, defined once: every decision carries one. Pure.

A rule trigger has one spec in ``triggers.specs`` (in this order, the order they are evaluated);
``manual`` is a person's `cloisterctl handoff --to`, with no rule and no guards.
"""

from __future__ import annotations

from typing import Literal, get_args

RuleTrigger = Literal[
    "planning_complete",
    "implementation_complete",
    "task_completed",
    "test_failure",
    "verification_failed",
    "stuck",
    "bleed",
    "budget_agent",
    "budget_task",
    "budget_day",
]
ManualTrigger = Literal["manual"]
TriggerName = Literal[RuleTrigger, ManualTrigger]

RULE_TRIGGERS: tuple[RuleTrigger, ...] = get_args(RuleTrigger)
