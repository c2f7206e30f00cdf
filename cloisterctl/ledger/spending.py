"""The spending budgets and the statusline read, folded from cost checkpoints; and the reducer of
``budget`` events (the budget warnings). Pure.

A cost checkpoint is a session's (or an agent's usage events') whole cost so far, split by UTC day
(``by_day``) and task (``by_task``); a later checkpoint of the same session replaces it. So each
checkpoint's share is taken out of the totals and the new one's put in, in whole micro-dollars:
the totals are exact and do not depend on how the checkpoints arrived.

Days are kept for a window of ``KEEP_DAYS`` up to the newest day seen (never the clock: a fold
depends only on its events). A day before the window is dropped and never counted again, in or
out, so every day in the window holds the whole of its spending. A day later than its
checkpoint's own date plus one (a transcript from a clock far ahead) is not counted: it would
move the window past every real day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from cloisterctl.ledger.agent_state import drop_flag
from cloisterctl.ledger.state import KEEP_DAYS, KEEP_SESSION_SPENDING, MICRO, Spending, WorkspaceState

SCOPES = ("agent", "task", "day")  # what a budget limits (``budgets.<scope>_usd``)
FLAG_PREFIX = "budget_"  # the flag (and trigger) of a limit reached: budget_agent, budget_task, budget_day


def micro(usd: Any) -> int:
    return round(float(usd or 0) * MICRO)


def window_start(latest: str) -> str:
    """The first day of the window that ends on ``latest`` (``""`` before any day is known)."""
    if not latest:
        return ""
    return (date.fromisoformat(latest) - timedelta(days=KEEP_DAYS - 1)).isoformat()


def _next_day(ts: str) -> str:
    return (date.fromisoformat(ts[:10]) + timedelta(days=1)).isoformat()


def _days(checkpoint: Mapping[str, Any], start: str) -> dict[str, int]:
    """The checkpoint's spending per day within the window (and not after its own date plus one)."""
    last = _next_day(str(checkpoint.get("ts") or "9999-12-30"))
    found = checkpoint.get("by_day") or {}
    return {str(day): micro(usd) for day, usd in found.items() if start <= str(day) <= last}


def _add(spending: Spending, checkpoint: Mapping[str, Any] | None, sign: int) -> None:
    if checkpoint is None:
        return
    agent = str(checkpoint.get("agent") or "")
    total = spending.by_agent.get(agent, 0) + sign * micro(checkpoint.get("usd"))
    _put(spending.by_agent, agent, total)
    for task, usd in (checkpoint.get("by_task") or {}).items():
        _put(spending.by_task, str(task), spending.by_task.get(str(task), 0) + sign * micro(usd))
    days = spending.by_day.setdefault(agent, {})
    for day, amount in _days(checkpoint, window_start(spending.latest_day)).items():
        _put(days, day, days.get(day, 0) + sign * amount)
    if not days:
        del spending.by_day[agent]


def _put(table: dict[str, int], key: str, value: int) -> None:
    if value:
        table[key] = value
    else:
        table.pop(key, None)


def apply_checkpoint(spending: Spending, previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> None:
    """``current`` replaces ``previous`` (the same session's last checkpoint, or None)."""
    _add(spending, previous, -1)
    newest = max(_days(current, "").keys(), default="")
    if newest > spending.latest_day:
        spending.latest_day = newest
        start = window_start(newest)
        for agent in list(spending.by_day):
            kept = {day: amount for day, amount in spending.by_day[agent].items() if day >= start}
            if kept:
                spending.by_day[agent] = kept
            else:
                del spending.by_day[agent]
    _add(spending, current, +1)
    session = current.get("session")
    if session:
        tokens = current.get("tokens") or {}
        read = int(tokens.get("cache_read", 0))
        seen = int(tokens.get("input", 0)) + int(tokens.get("cache_write", 0)) + read
        spending.sessions.pop(str(session), None)
        spending.sessions[str(session)] = [micro(current.get("usd")), read, seen]
        while len(spending.sessions) > KEEP_SESSION_SPENDING:
            del spending.sessions[next(iter(spending.sessions))]


def copied(spending: Spending) -> Spending:
    """A copy ``apply_checkpoint`` can change without touching ``spending``."""
    return Spending(
        dict(spending.by_agent),
        dict(spending.by_task),
        {agent: dict(days) for agent, days in spending.by_day.items()},
        spending.latest_day,
        {session: list(figures) for session, figures in spending.sessions.items()},
    )


def spent_micro(state: WorkspaceState, scope: str, key: str) -> int:
    """What the ``scope`` budget measures for ``key`` (the agent, the task, or a UTC day of the agent)."""
    spending = state.spending
    if scope == "agent":
        return spending.by_agent.get(key, 0)
    if scope == "task":
        return spending.by_task.get(key, 0)
    return spending.by_day.get(state.agent, {}).get(key, 0)


def _budget(state: WorkspaceState, event: dict[str, Any]) -> None:
    """A budget warning changed level: recorded (warn, over), or gone (ok). Below the limit, the
    limit's flag has no cause any more and is cleared (a new task or day, a raised limit)."""
    scope = str(event.get("scope"))
    level = str(event.get("level"))
    if level in ("warn", "over"):
        state.budgets = {
            **state.budgets,
            scope: {
                "level": level,
                "key": event.get("key"),
                "spent_usd": event.get("spent_usd"),
                "limit_usd": event.get("limit_usd"),
                "since": event["ts"],
            },
        }
    elif scope in state.budgets:
        state.budgets = {name: value for name, value in state.budgets.items() if name != scope}
    if level != "over":
        drop_flag(state, FLAG_PREFIX + scope)


SPENDING_REDUCERS = {"budget": _budget}
