"""The vocabulary of decisions: the kinds a decision can be, and what a flag is to the fold. Data
only; pure.

Every list of kinds elsewhere is derived from these. The triggers are not named here: the ledger
folds decisions, it does not make them, and a trigger is one spec in ``triggers.specs``. A
decision that raises a flag carries what the fold needs of it (``flag_clears``: what ends the
flag; ``fails_attempt``: whether the attempt it is raised on failed), so a new trigger needs
nothing here. ``LEGACY_FLAGS`` says the same for the decisions 0.1.0 wrote without those fields
(and for the budget flags ``ledger.spending`` raises itself): a fold is a function of the events
and this table alone, whatever was imported.
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


# What the flags of 0.1.0's triggers mean, for decisions written without ``flag_clears`` and
# ``fails_attempt``. Fixed: a new trigger's decisions carry their own.
LEGACY_FLAGS: Mapping[str, Flag] = MappingProxyType(
    {
        "test_failure": Flag(frozenset({"task_change", "passing_test"}), fails_attempt=True),
        "stuck": Flag(frozenset({"task_change", "tier_change", "activity"}), fails_attempt=True),
        "bleed": Flag(frozenset({"task_change", "progress"}), fails_attempt=True),
        "budget_agent": Flag(frozenset({"budget_ok"})),
        "budget_task": Flag(frozenset({"budget_ok"})),
        "budget_day": Flag(frozenset({"budget_ok"})),
    }
)


def flag_clears(event: Mapping[str, object]) -> list[FlagClearing]:
    """What ends the flag a decision event raises: its own ``flag_clears`` (the known clearings
    among them), else what ``LEGACY_FLAGS`` says of its trigger, else only `flags clear`."""
    named = event.get("flag_clears")
    if isinstance(named, list):
        return [clearing for clearing in FLAG_CLEARINGS if clearing in named]
    legacy = LEGACY_FLAGS.get(str(event.get("trigger")))
    return [clearing for clearing in FLAG_CLEARINGS if legacy is not None and clearing in legacy.clears_on]


def fails_attempt(event: Mapping[str, object]) -> bool:
    """Whether the flag a decision event raises fails the attempt it is raised on."""
    named = event.get("fails_attempt")
    if isinstance(named, bool):
        return named
    legacy = LEGACY_FLAGS.get(str(event.get("trigger")))
    return legacy is not None and legacy.fails_attempt
