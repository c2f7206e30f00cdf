"""The shape of every ledger event type, and the check every reader relies on. Stdlib only.

The ledger is committed and union-merged from other clones, so any line may come from anywhere:
``problem(event)`` says what is wrong with a decoded line (None when nothing is), and the ledger
reader reports such a line once, with its number, and skips it. Everything downstream (the fold,
attribution, reports) only ever sees events of the right shape.

Fields not listed are allowed (a newer cloisterctl may add some); a listed field of the wrong type
is not. Numbers must be finite and of a sane size: a cost of 1e25 USD or 10**30 tokens is a
corrupt line, not a fact. Names are data: every id that may reach a file name, a tmux name, a
commit message or an argv (the event's ``id`` and ``agent``, and its task, session, handoff and
decision fields) must be a safe name (``models.names``), so ``../../x``, a NUL, a newline or a
leading ``-`` makes the line bad, like any other wrong shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cloisterctl.models.names import is_safe_name

MAX_NUMBER = 1e12  # USD, seconds, counts: anything larger is corrupt
MAX_TOKENS = 10**12
MAX_TEXT = 100_000  # characters of one field (a task title, a reason)
TS_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$")

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_NUMBER
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS


def _texts(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= 10_000 and all(_text(item) for item in value)


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


def _money_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _number(v) and v >= 0 for k, v in value.items())


def _count_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _count(v) for k, v in value.items())


def _day(value: Any) -> bool:
    """A ``YYYY-MM-DD`` date that exists."""
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _day_money_map(value: Any) -> bool:
    return _money_map(value) and all(_day(key) for key in value)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


TEXT = _text
NAME = is_safe_name
OPTIONAL_NAME = _optional(is_safe_name)
OPTIONAL_TEXT = _optional(_text)
OPTIONAL_MAPPING = _optional(_mapping)
OPTIONAL_NUMBER = _optional(_number)
OPTIONAL_COUNT = _optional(_count)
OPTIONAL_TEXTS = _optional(_texts)
OPTIONAL_BOOL = _optional(lambda value: isinstance(value, bool))
_EXIT_CODE = _optional(lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**31)

# type -> field -> check. "type", "id", "ts", "agent" and the origin ("clone", "worktree") are
# checked for every event.
FIELDS: dict[str, dict[str, Check]] = {
    "init": {},
    "route": {
        "task": OPTIONAL_NAME,
        "tier": OPTIONAL_TEXT,
        "model": OPTIONAL_TEXT,
        "rule": OPTIONAL_TEXT,
        "role": OPTIONAL_TEXT,
        "reasons": OPTIONAL_TEXTS,
        "complexity": OPTIONAL_MAPPING,
        "economics": OPTIONAL_MAPPING,
        "hint": OPTIONAL_MAPPING,
        "decision": OPTIONAL_NAME,
        # The adaptive policy's figures per tier (p, c, E, the sample sizes): why it chose.
        "policy": OPTIONAL_TEXT,
        "adaptive": OPTIONAL_MAPPING,
    },
    "decision": {
        "trigger": TEXT,
        "cause": TEXT,
        "kind": TEXT,
        "status": TEXT,
        "reason": OPTIONAL_TEXT,
        "task": OPTIONAL_NAME,
        "from_tier": OPTIONAL_TEXT,
        "to_tier": OPTIONAL_TEXT,
        "to_model": OPTIONAL_TEXT,
        "to_role": OPTIONAL_TEXT,
        "next_task": OPTIONAL_NAME,
        "economics": OPTIONAL_MAPPING,
        "reasons": OPTIONAL_TEXTS,
        "complexity": OPTIONAL_MAPPING,  # of the next task, when the decision moves the agent to one
        "adaptive": OPTIONAL_MAPPING,  # the adaptive policy's p, c, E and n per tier for that task
        # Of a decision that raises its trigger's flag: what ends the flag, whether it fails the attempt.
        "flag_clears": OPTIONAL_TEXTS,
        "fails_attempt": OPTIONAL_BOOL,
    },
    "decision_status": {"decision": NAME, "status": TEXT, "reason": OPTIONAL_TEXT, "handoff": OPTIONAL_NAME},
    "activity": {
        "source": OPTIONAL_TEXT,
        "session": OPTIONAL_NAME,
        "hook": OPTIONAL_TEXT,
        "tool": OPTIONAL_TEXT,
        "commit": OPTIONAL_TEXT,
    },
    "idle": {"session": OPTIONAL_TEXT, "source": OPTIONAL_TEXT},
    "session": {
        "session": OPTIONAL_NAME,  # a hook may not know it; the fold ignores such a line
        "event": OPTIONAL_TEXT,
        "source": OPTIONAL_TEXT,
        "model": OPTIONAL_TEXT,
        "tier": OPTIONAL_TEXT,
        "role": OPTIONAL_TEXT,
        "task": OPTIONAL_NAME,
        "tmux": OPTIONAL_TEXT,
        "transcript": OPTIONAL_TEXT,
        "transcript_path": OPTIONAL_TEXT,
        "resumed": _optional(_flag),  # a previous session started again (after a failed handoff)
        "how": OPTIONAL_TEXT,  # how a session was ended
        "packet": OPTIONAL_TEXT,
    },
    "task": {
        "task": NAME,
        "event": OPTIONAL_TEXT,
        "status": OPTIONAL_TEXT,
        "title": OPTIONAL_TEXT,
        "labels": OPTIONAL_TEXTS,
        "issue_type": OPTIONAL_TEXT,
        "parent": OPTIONAL_NAME,
        "source": OPTIONAL_TEXT,
    },
    "test_run": {
        "passed": _flag,
        "command": OPTIONAL_TEXT,
        "exit_code": _EXIT_CODE,
        "counts": _optional(_count_map),
        "tier": OPTIONAL_TEXT,
        "source": OPTIONAL_TEXT,
        "session": OPTIONAL_NAME,
        "seconds": OPTIONAL_NUMBER,
    },
    "handoff": {
        "handoff": NAME,
        "step": TEXT,
        "status": _optional(lambda v: v in ("begin", "done")),
        "from_tier": OPTIONAL_TEXT,
        "to_tier": OPTIONAL_TEXT,
        "decision": OPTIONAL_NAME,
        "session": OPTIONAL_NAME,
        "model": OPTIONAL_TEXT,
        "task": OPTIONAL_NAME,
        "role": OPTIONAL_TEXT,
        "reason": OPTIONAL_TEXT,
        "trigger": OPTIONAL_TEXT,
        "from_model": OPTIONAL_TEXT,
        "to_model": OPTIONAL_TEXT,
        "to_role": OPTIONAL_TEXT,
        "from_session": OPTIONAL_NAME,  # the session a restart resumes, and whose files it names
        "from_task": OPTIONAL_NAME,  # the agent's task when the handoff began (it may move on to another)
        "complexity": OPTIONAL_MAPPING,
        "exit_code": _EXIT_CODE,
        "output": OPTIONAL_TEXTS,  # the last lines a dead agent printed
        "restarted": _optional(_flag),
        "restart_session": OPTIONAL_NAME,
    },
    "cost": {
        "session": OPTIONAL_NAME,
        "scope": OPTIONAL_TEXT,
        "usd": lambda v: _number(v) and v >= 0,
        "by_model": _optional(_money_map),
        "by_tier": _optional(_money_map),
        "tokens": _optional(_count_map),
        "requests": OPTIONAL_COUNT,
        "models": OPTIONAL_TEXTS,
        "mid_session_switch": _optional(_flag),
        "context_tokens": OPTIONAL_COUNT,
        "by_day": _optional(_day_money_map),  # UTC day -> USD (what budgets.day_usd measures)
        "by_task": _optional(_money_map),  # task -> USD (budgets.task_usd)
        "unpriced": _optional(_count_map),  # model -> requests with no price (counted at $0)
    },
    "usage": {
        "model": TEXT,
        "tier": OPTIONAL_TEXT,
        "source": OPTIONAL_TEXT,
        "tokens": _count_map,
        "requests": OPTIONAL_COUNT,
        "usd": lambda v: _number(v) and v >= 0,
        "priced_by": OPTIONAL_TEXT,
        "session": OPTIONAL_NAME,
        "task": OPTIONAL_NAME,
        "reported_usd": OPTIONAL_NUMBER,
    },
    "complexity": {"task": TEXT, "level": TEXT, "via": OPTIONAL_TEXT},
    # A task seen closed came back open in the beads sync: the attempt that closed it did not succeed.
    "reopen": {"task": TEXT, "status": OPTIONAL_TEXT, "source": OPTIONAL_TEXT},
    # The test-agent stage's verdict on a task's work (`cloisterctl outcomes verify TASK pass|fail`),
    # or the tick's verification of a close (``testruns.verification``): started (pending), its
    # verdict, or failed to run (error), with its evidence and the closing attempt's ``n``.
    "verification": {
        "task": NAME,
        "result": lambda v: v in ("pending", "pass", "fail", "error"),
        "tier": OPTIONAL_TEXT,
        "note": OPTIONAL_TEXT,
        "source": OPTIONAL_TEXT,
        "attempt": OPTIONAL_COUNT,
        "commands": OPTIONAL_TEXTS,
        "exit_code": _EXIT_CODE,
        "new_failures": OPTIONAL_TEXTS,
        "output": OPTIONAL_TEXTS,
        "base": OPTIONAL_TEXT,
        "seconds": OPTIONAL_NUMBER,
        "review": OPTIONAL_TEXT,  # the reviewer's tier (``testruns.review``)
        "reviewer_session": OPTIONAL_NAME,
    },
    # A decision that changes no tier, carried out on the running agent: its next task's brief,
    # the news that nothing is ready, or a stop (the cost-bleed guard).
    "brief": {
        "decision": NAME,
        "action": TEXT,
        "task": OPTIONAL_NAME,
        "sent": _optional(_flag),
        "packet": OPTIONAL_TEXT,
        "how": OPTIONAL_TEXT,
        "note": OPTIONAL_TEXT,
    },
    # The agent's process was found gone while the ledger still called its session current.
    "exit": {"session": TEXT, "exit_code": _EXIT_CODE, "output": OPTIONAL_TEXTS, "how": OPTIONAL_TEXT},
    "flag_cleared": {"flags": _texts, "reason": OPTIONAL_TEXT, "source": OPTIONAL_TEXT},
    # A budget's warning changed level (budgets.*): reached warn_at of its limit (warn), the limit
    # (over), or no longer either (ok). ``key``: the agent, the task, or the UTC day it is for.
    "budget": {
        "scope": lambda v: v in ("agent", "task", "day"),
        "level": lambda v: v in ("ok", "warn", "over"),
        "key": OPTIONAL_TEXT,
        "spent_usd": lambda v: _number(v) and v >= 0,
        "limit_usd": OPTIONAL_NUMBER,
        "warn_at": OPTIONAL_NUMBER,
    },
}


def valid_ts(value: Any) -> bool:
    """UTC ISO 8601 as cloisterctl writes it (``...T12:00:00.000000Z``), and a real time."""
    if not isinstance(value, str) or not TS_FORMAT.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def problem(event: Any) -> str | None:
    """What is wrong with a decoded ledger line; None when it is a well-formed event."""
    if not isinstance(event, dict) or not all(isinstance(event.get(key), str) for key in ("id", "ts", "type")):
        return "not a ledger event (needs string id, ts, type)"
    if not event["type"] or len(event["type"]) > 200:
        return "not a ledger event (its type is empty or too long)"
    if not is_safe_name(event["id"]):
        return f"not a ledger event (its id {_shown(event['id'])} is not a safe name)"
    if not valid_ts(event.get("ts")):
        return f"'ts' is not a UTC time like 2026-12-01T10:00:00.000000Z: {str(event.get('ts'))[:40]!r}"
    if not OPTIONAL_TEXT(event.get("agent")):
        return "'agent' must be a string"
    if event.get("agent") and not is_safe_name(event["agent"]):  # "" or none: a hook that did not know it
        return f"'agent' {_shown(event['agent'])} is not a safe name"
    for name in ("clone", "worktree"):  # the origin (``ledger.ownership``): absent on 0.1.0's lines
        if not OPTIONAL_TEXT(event.get(name)) or len(event.get(name) or "") > 200:
            return f"{name!r} must be a string (the clone or worktree that wrote the line)"
    fields: Mapping[str, Check] = FIELDS.get(event["type"], {})
    for name, check in fields.items():
        if not check(event.get(name)):
            return f"{event['type']} event: field {name!r} has the wrong shape ({_shown(event.get(name))})"
    return None


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
