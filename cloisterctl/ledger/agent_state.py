"""What the fold knows about the agent's own situation: its task and the flags that clear
(``clear_flags``: as the decision that raised each one recorded, ``ledger.decisions``), whether it
is idle, the progress the cost-bleed guard measures from, how long it has been quiet
(``stuck_reading``: the one reading the stuck rule, the statusline and its summary share), and
what the running agent still has to be told. Pure; ``ledger.reducers`` calls these from its
reducers and registers the ones for the agent's own event types (``brief``, ``exit``,
``flag_cleared``).

Kept apart from ``ledger.reducers`` so that it stays small; the functions take the fold's records
(``ledger.state``: ``WorkspaceState``, ``Decision``) and change them in place. What they
keep is bounded: scalars, the flags, and the exits of the latest sessions (``ledger.fold.prune``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cloisterctl.ledger.decisions import FlagClearing
from cloisterctl.ledger.events import parse_ts
from cloisterctl.ledger.state import AGENT_SOURCES

if TYPE_CHECKING:
    from cloisterctl.config.settings import Config
    from cloisterctl.ledger.state import Decision, WorkspaceState

# Activity a person or another process in the same work tree may produce too: it counts as the
# agent's progress only while the agent's process is not known to be gone.
SHARED_SOURCES = frozenset({"git", "test"})


def clear_flags(state: WorkspaceState, clearing: FlagClearing, ts: str | None = None) -> None:
    """Drop the flags that ``clearing`` ends (what the decision that raised each one recorded,
    ``ledger.decisions.flag_clears``); with ``ts``, only those raised before it (so that signals
    folded out of order give the same state)."""
    for name, raised in sorted(state.flags.items()):
        if clearing in state.flag_clears.get(name, ()) and (ts is None or ts > raised):
            drop_flag(state, name)


def drop_flag(state: WorkspaceState, name: str) -> None:
    state.flags.pop(name, None)
    state.flag_clears.pop(name, None)


def progress(state: WorkspaceState, ts: str) -> None:
    """A commit, a task change or a passing test (or a new session's start): what the cost-bleed
    guard measures spending from. (Git activity may come from the signal spool, folded after a
    checkpoint's later events: compared by time, it still moves ``progress_at`` only forwards and
    clears only an older flag; the spending it measures from is then the later one, the smaller
    figure to flag on.)"""
    if ts >= (state.progress_at or ""):
        state.progress_at = ts
        state.progress_micro_usd = state.cost_totals.micro_usd
    clear_flags(state, "progress", ts)


def assign(state: WorkspaceState, task: str | None, ts: str) -> None:
    """The agent is given ``task``: it is no longer idle, and a new task ends the old one's flags
    and its run of failed tests."""
    if not task:
        return
    if task != state.task:
        clear_flags(state, "task_change")
        state.test_failures_in_a_row = 0
        progress(state, ts)
    state.task = task
    state.idle = None


def moves_on(decision: Decision) -> bool:
    """Whether the agent moves on to the decision's next task in its current session: a decision
    to keep the tier, or a tier change that was skipped (it did not pay) or rejected."""
    if not decision.fields.get("next_task"):
        return False
    return (decision.kind == "continue" and decision.status == "applied") or decision.status in ("skipped", "rejected")


def apply_continue(state: WorkspaceState, decision: Decision) -> None:
    """A decision that keeps the session changes the agent's task (or leaves it idle, or stops
    it); what the running agent must be told is left pending, for the tick to carry out."""
    if moves_on(decision):
        assign(state, decision.fields["next_task"], decision.ts)
        state.complexity = decision.fields.get("complexity") or state.complexity
        state.brief_pending = decision.id
    elif decision.kind in ("idle", "stop") and decision.status == "applied":
        if decision.kind == "idle":
            state.idle = {"reason": decision.reason, "since": decision.ts, "after": decision.task}
            state.task = None
        state.brief_pending = decision.id


def _brief(state: WorkspaceState, event: dict[str, Any]) -> None:
    if event.get("decision") == state.brief_pending:
        state.brief_pending = None


def _exit(state: WorkspaceState, event: dict[str, Any]) -> None:
    state.exited[str(event["session"])] = event["ts"]


def _flag_cleared(state: WorkspaceState, event: dict[str, Any]) -> None:
    for flag in event.get("flags") or []:
        drop_flag(state, str(flag))


AGENT_REDUCERS: dict[str, Callable[[WorkspaceState, dict[str, Any]], None]] = {
    "brief": _brief,
    "exit": _exit,
    "flag_cleared": _flag_cleared,
}


def quiet_since(state: WorkspaceState, alive: bool | None) -> str | None:
    """When the agent last showed progress (own signals; commits and tests too unless it is dead)."""
    sources = AGENT_SOURCES if alive is False else AGENT_SOURCES | SHARED_SOURCES
    times = [ts for source, ts in state.activity.items() if source in sources]
    if state.tier_since:
        times.append(state.tier_since)
    return max(times, default=None)


@dataclass(frozen=True)
class StuckReading:
    """What the stuck rule measures: quiet since ``quiet_since``, stuck once more than
    ``threshold_minutes`` have passed since (``minutes_left`` below zero)."""

    quiet_since: str
    threshold_minutes: float

    def minutes_quiet(self, now: datetime) -> float:
        return (now - parse_ts(self.quiet_since)).total_seconds() / 60

    def minutes_left(self, now: datetime) -> float:
        # The statusline (``cli.fast_statusline``) computes the same from the summary's epoch seconds.
        return self.threshold_minutes - self.minutes_quiet(now)

    def stuck(self, now: datetime) -> bool:
        return self.minutes_left(now) < 0


def stuck_reading(state: WorkspaceState, config: Config, alive: bool | None) -> StuckReading | None:
    """The stuck rule's measure of the agent (None when the rule cannot fire: it is off, or the
    agent has no session or tier, or is idle, told to stop for want of a task, so that quiet is
    what it should be). ``alive``: whether its process runs (False: only its own signals count)."""
    if not config.trigger_enabled("stuck") or state.tier is None or state.session is None:
        return None
    if state.idle is not None:
        return None
    since = quiet_since(state, alive)
    if since is None:
        return None
    return StuckReading(since, config.stuck_threshold(state.tier))
