"""A decision's cause: what it is about, and the key that makes each trigger decide once. Pure.

Its text (``Cause.format``) is what the ledger keeps (a decision's ``cause``, ``state.causes``):
the trigger's name, then each part that is set, in the order of the fields, joined by ``:``::

    planning_complete:bd-7                a closed task
    stuck:haiku:2026-11-22T09:00:00.000Z  a tier, and when the quiet stretch on it began
    test_failure:sonnet:<on it since>     a tier, and when the agent came to it
    bleed:<last progress>                 ("bleed:" before any progress)
    budget_day:2026-11-22:50              a budget's agent, task or day, and its limit (USD)
    manual:<when a person asked>

Rules build their causes here, and the guards and the tick look causes up by building the one
they mean: nothing splits a cause's text (a time holds ``:`` itself). Every ledger written so far
holds these texts, so the order of the fields is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloisterctl.triggers.names import TriggerName


@dataclass(frozen=True)
class Cause:
    trigger: TriggerName
    about: str | None = None  # the closed task; a budget's agent, task or day
    tier: str | None = None  # the tier the stretch is on
    since: str | None = None  # when the stretch began: quiet since, on the tier since, the last progress
    limit: float | None = None  # a budget's limit in USD: a raised limit is a new cause

    def format(self) -> str:
        limit = None if self.limit is None else f"{self.limit:g}"
        return ":".join(part for part in (self.trigger, self.about, self.tier, self.since, limit) if part is not None)
