"""The vocabulary of decisions: the kinds a decision can be, the triggers that make them, and what
the fold needs to know of a trigger's flag. Data only; pure.

Every list of kinds or trigger names elsewhere is derived from these. The rules that make the
decisions are not here (the ledger folds decisions, it does not make them): ``triggers.specs``
registers one spec per trigger in ``RuleTrigger``, with its rule, its config section and what the
guards need, and reads this module's facts for the rest. What the fold needs of a trigger (how its
flag clears, whether the flag fails the attempt) is kept here, in ``FLAGS``, so that a fold is a
function of the events and this table alone, whatever was imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

# ------------------------------------------------------------------------------------------ kinds

# A decision that moves the agent to another tier (through a handoff when it has a session).
# "lateral" is a person's `handoff --to` within one tier: another model, or a role.
TierChange = Literal["escalation", "downgrade", "upgrade", "lateral"]
# A decision that changes no tier but acts on the running agent: it moves on to its next task,
# stops for want of one, or is stopped.
AgentAction = Literal["continue", "idle", "stop"]
DecisionKind = Literal[TierChange, AgentAction, "flag"]

DECISION_KINDS: tuple[DecisionKind, ...] = get_args(DecisionKind)
TIER_CHANGES: tuple[TierChange, ...] = get_args(TierChange)
# Tier changes that were planned rather than forced by a failure (an attempt ends ``handed_off``).
PLANNED_MOVES: tuple[TierChange, ...] = tuple(kind for kind in TIER_CHANGES if kind != "escalation")
# Kinds that raise the trigger's flag (a stop is a flag whose agent is also stopped).
RAISES_FLAG: tuple[DecisionKind, ...] = ("flag", "stop")

# ------------------------------------------------------------------------------------------ triggers

# The triggers with a rule (``triggers.specs`` has one spec for each), in the order they are evaluated.
RuleTrigger = Literal[
    "planning_complete",
    "implementation_complete",
    "task_completed",
    "test_failure",
    "stuck",
    "bleed",
    "budget_agent",
    "budget_task",
    "budget_day",
]
# The decision a person makes with `cloisterctl handoff --to`: no rule, no guards.
ManualTrigger = Literal["manual"]
TriggerName = Literal[RuleTrigger, ManualTrigger]

RULE_TRIGGERS: tuple[RuleTrigger, ...] = get_args(RuleTrigger)
TRIGGER_NAMES: tuple[TriggerName, ...] = get_args(TriggerName)

# ------------------------------------------------------------------------------------------ flags

# What ends a flag besides `cloisterctl flags clear`: a change of task, a change of tier, new
# activity (of any source), a passing test run, any progress (a commit, a task change, a passing
# test, a new session), its budget below its limit again (a ``budget`` event, ``ledger.spending``).
FlagClearing = Literal["task_change", "tier_change", "activity", "passing_test", "progress", "budget_ok"]
FLAG_CLEARINGS: tuple[FlagClearing, ...] = get_args(FlagClearing)


@dataclass(frozen=True)
class Flag:
    """A trigger's flag, as the fold keeps it: what clears it, and whether an attempt it is raised
    on counts as failed (``ledger.attempts``)."""

    clears_on: frozenset[FlagClearing]
    fails_attempt: bool = False


# The triggers that can raise a flag (a ``flag`` or ``stop`` decision, or an escalation beyond
# ``guards.max_escalations``); a trigger not listed never raises one.
FLAGS: Mapping[TriggerName, Flag] = MappingProxyType(
    {
        "test_failure": Flag(frozenset({"task_change", "passing_test"}), fails_attempt=True),
        "stuck": Flag(frozenset({"task_change", "tier_change", "activity"}), fails_attempt=True),
        "bleed": Flag(frozenset({"task_change", "progress"}), fails_attempt=True),
        "budget_agent": Flag(frozenset({"budget_ok"})),
        "budget_task": Flag(frozenset({"budget_ok"})),
        "budget_day": Flag(frozenset({"budget_ok"})),
    }
)

FAILURE_TRIGGERS: frozenset[TriggerName] = frozenset(name for name, flag in FLAGS.items() if flag.fails_attempt)
# The flags each clearing ends, in a fixed order.
CLEARED_BY: Mapping[FlagClearing, tuple[TriggerName, ...]] = MappingProxyType(
    {clearing: tuple(name for name, flag in FLAGS.items() if clearing in flag.clears_on) for clearing in FLAG_CLEARINGS}
)
