"""Tallying usage: every response priced with its own model and summed into cells (one per
project, session, agent, task, model and day), sessions, and the per-session cost checkpoints the
ledger keeps. Pure.

Money is computed per request (the long-context decision is per request) and summed; USD in the
ledger and STATE.md is rounded to the micro-dollar.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.cost.attribution import Attribution
from cloisterctl.errors import CostError
from cloisterctl.ledger.events import Event, make_event, normalise_ts, ordered, parse_ts
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.schema import MAX_TOKENS
from cloisterctl.models.prices import Usage
from cloisterctl.models.tiers import tier_for_model

DIMENSIONS = ("agent", "model", "tier", "task", "session", "day", "project", "subagent")
OTHER_TIER = "other"  # a model that no tier's patterns claim
NONE = "-"  # how an unattributed agent, task or session is shown
MAIN = "(main)"  # the subagent type of a session's own usage (not a subagent's)
UNKNOWN_TYPE = "(unknown)"  # a subagent whose type Claude Code did not record
USAGE_SCOPE = "usage:"  # checkpoint scope of an agent's usage events (other runtimes)
CHECKPOINT_FIELDS = (
    "usd",
    "by_model",
    "by_tier",
    "tokens",
    "requests",
    "models",
    "mid_session_switch",
    "by_day",
    "by_task",
)


def usd(value: float) -> float:
    """USD as stored in the ledger and STATE.md: rounded to the micro-dollar."""
    return round(value, 6)


def hit_rate(fresh: int, cache_write: int, cache_read: int) -> float | None:
    """Prompt-cache hit rate: cache reads over everything the model read (DESIGN §6)."""
    total = fresh + cache_write + cache_read
    return cache_read / total if total else None


@dataclass
class Cell:
    """Responses that share every attribute a report groups by, summed."""

    project: str
    session: str
    agent: str | None
    task: str | None
    model: str
    tier: str
    day: str  # UTC date
    source: str = "transcript"  # or the source of a usage event: manual, claude-json
    requests: int = 0
    usd: float = 0.0
    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    long_context: int = 0  # requests priced at long-context rates
    unpriced: int = 0  # requests of a model with no price (counted at $0)
    # The subagent type of a transcript's usage (``MAIN`` for the session's own); None for usage
    # events (another runtime's), shown as NONE.
    subagent: str | None = None

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    def value(self, by: str) -> str:
        found = getattr(self, by)
        return NONE if found is None else str(found)


_SUMS = (
    "requests",
    "usd",
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "long_context",
    "unpriced",
)


@dataclass
class SessionInfo:
    project: str
    agent: str | None
    first: str
    last: str
    models: list[str] = field(default_factory=list)  # in order of first use, subagents included
    main_models: list[str] = field(default_factory=list)  # the session's own (not its subagents')
    requests: int = 0

    @property
    def switched(self) -> bool:
        """A session whose own transcript shows two models switched model mid-session (DESIGN §6)."""
        return len(self.main_models) > 1


@dataclass
class Tally:
    """Everything found in the transcripts, attributed and summed."""

    cells: list[Cell]
    sessions: dict[str, SessionInfo]
    problems: list[str] = field(default_factory=list)
    files: int = 0
    bytes_read: int = 0
    paths: list[str] = field(default_factory=list)  # the transcript files in scope (not cached)
    # What the tally was read from: each transcript and directory looked in, with its stamp
    # (``files.memo``) as it was before the read. Not cached.
    inputs: dict[str, tuple[int, int, int] | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cells": [[getattr(cell, f.name) for f in fields(Cell)] for cell in self.cells],
            "sessions": {sid: asdict(info) for sid, info in self.sessions.items()},
            "problems": self.problems,
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            [Cell(*row) for row in data["cells"]],
            {sid: SessionInfo(**info) for sid, info in data["sessions"].items()},
            list(data["problems"]),
            int(data["files"]),
        )


TierOf = Callable[[str], str]


def tier_function(config: Config) -> TierOf:
    """Model id -> tier by the config's patterns (``other`` when no tier claims it), memoised."""
    patterns = config.tier_patterns
    known: dict[str, str] = {}

    def tier_of(model: str) -> str:
        found = known.get(model)
        if found is None:
            found = known[model] = tier_for_model(model, patterns) or OTHER_TIER
        return found

    return tier_of


def usage_cells(
    events: Iterable[Event], attribution: Attribution, tier_of: TierOf, transcript_sessions: Iterable[str]
) -> tuple[list[Cell], int]:
    """Cells for ``usage`` events (other runtimes, ``claude -p`` results), and how many were left
    out because the session's transcript is read anyway (a ``claude -p`` run writes one too)."""
    known = set(transcript_sessions)
    cells: list[Cell] = []
    covered = 0
    for event in ordered(events):
        if event.get("type") != "usage":
            continue
        session = event.get("session") or None
        source = str(event.get("source") or "manual")
        if source == "claude-json" and session in known:
            covered += 1
            continue
        tokens = event.get("tokens") or {}
        agent = str(event.get("agent") or attribution.agent)
        try:
            moment = normalise_ts(str(event["ts"]))
        except ValueError:
            continue  # not a time: the ledger reader reports such events
        model = str(event.get("model") or NONE)
        cells.append(
            Cell(
                NONE,
                session or NONE,
                agent,
                event.get("task") or attribution.task_for(agent, session, moment),
                model,
                str(event.get("tier") or tier_of(model)),
                moment[:10],
                source,
                int(event.get("requests") or 1),
                float(event.get("usd") or 0.0),
                int(tokens.get("input", 0)),
                int(tokens.get("output", 0)),
                int(tokens.get("cache_write_5m", 0)),
                int(tokens.get("cache_write_1h", 0)),
                int(tokens.get("cache_read", 0)),
            )
        )
    return cells, covered


def checkpoint_fields(cells: Iterable[Cell], models: Sequence[str], switched: bool) -> dict[str, Any]:
    """The numbers of a ``cost`` checkpoint for a set of cells."""
    total = 0.0
    by_model: dict[str, float] = {}
    by_tier: dict[str, float] = {}
    by_day: dict[str, float] = {}  # UTC days and tasks: what budgets measure (core.spending)
    by_task: dict[str, float] = {}
    tokens = {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0}
    requests = 0
    for cell in cells:
        total += cell.usd
        by_model[cell.model] = by_model.get(cell.model, 0.0) + cell.usd
        by_tier[cell.tier] = by_tier.get(cell.tier, 0.0) + cell.usd
        by_day[cell.day] = by_day.get(cell.day, 0.0) + cell.usd
        if cell.task:
            by_task[cell.task] = by_task.get(cell.task, 0.0) + cell.usd
        tokens["input"] += cell.input
        tokens["output"] += cell.output
        tokens["cache_write"] += cell.cache_write
        tokens["cache_read"] += cell.cache_read
        requests += cell.requests
    return {
        "usd": usd(total),
        "by_model": {model: usd(value) for model, value in sorted(by_model.items())},
        "by_tier": {tier: usd(value) for tier, value in sorted(by_tier.items())},
        "tokens": tokens,
        "requests": requests,
        "models": list(models),
        "mid_session_switch": switched,
        "by_day": {day: usd(value) for day, value in sorted(by_day.items())},
        "by_task": {task: usd(value) for task, value in sorted(by_task.items())},
    }


def _same(checkpoint: Mapping[str, Any] | None, agent: str, numbers: Mapping[str, Any]) -> bool:
    if checkpoint is None or checkpoint.get("agent") != agent:
        return False
    return all(checkpoint.get(key) == numbers[key] for key in CHECKPOINT_FIELDS)


def pending_events(
    tally: Tally, manual: Sequence[Cell], state: WorkspaceState, now: datetime, tier_of: TierOf
) -> list[Event]:
    """The ledger events that bring it up to date with ``tally``: a ``session`` event (``source``
    transcript, ``event`` seen: it never changes the agent's current session) for each session of
    this workspace the ledger does not know yet, and a ``cost`` checkpoint for each session -- and
    each agent's usage events -- whose numbers changed since its last checkpoint. Pure."""
    events: list[Event] = []
    by_session: dict[str, list[Cell]] = {}
    for cell in tally.cells:
        by_session.setdefault(cell.session, []).append(cell)
    for session, info in sorted(tally.sessions.items(), key=lambda item: (item[1].first, item[0])):
        if info.agent is None:
            continue  # another workspace's session (only read with --all)
        if session not in state.cold.sessions:
            model = (info.main_models or info.models)[0]
            events.append(
                make_event(
                    "session",
                    info.agent,
                    min(parse_ts(info.first), now),
                    session=session,
                    model=model,
                    tier=tier_of(model),
                    source="transcript",
                    event="seen",
                )
            )
        numbers = checkpoint_fields(by_session.get(session, []), info.models, info.switched)
        if not _same(state.cold.cost_checkpoints.get(session), info.agent, numbers):
            events.append(make_event("cost", info.agent, now, session=session, **numbers))
    by_agent: dict[str, list[Cell]] = {}
    for cell in manual:
        by_agent.setdefault(cell.agent or NONE, []).append(cell)
    for agent, cells in sorted(by_agent.items()):
        models = list(dict.fromkeys(cell.model for cell in cells))
        numbers = checkpoint_fields(cells, models, False)
        scope = USAGE_SCOPE + agent
        if not _same(state.cold.cost_checkpoints.get(scope), agent, numbers):
            events.append(make_event("cost", agent, now, scope=scope, **numbers))
    return events


@dataclass(frozen=True)
class UsageRecord:
    """Token counts of one model's use that no transcript shows."""

    model: str
    tokens: Usage
    requests: int = 1
    reported_usd: float | None = None  # what the runtime itself said it cost


def usage_event(
    config: Config,
    record_: UsageRecord,
    *,
    agent: str,
    now: datetime,
    session: str | None = None,
    task: str | None = None,
    source: str = "manual",
    usd_override: float | None = None,
    request: str | None = None,
) -> Event:
    """A ``usage`` event, priced with the table (base rates: per-request sizes are unknown); an
    unpriced model needs ``usd_override`` or the runtime's own figure. ``request`` (``--id``) tells
    two records of the same numbers apart."""
    check_usage(record_.tokens, record_.requests)
    tier = tier_for_model(record_.model, config.tier_patterns) or OTHER_TIER
    price = config.prices.lookup(record_.model)
    if usd_override is not None:
        cost, basis = usd_override, "given"
    elif price is not None:
        cost, basis = price.base.cost(record_.tokens), "table"
    elif record_.reported_usd is not None:
        cost, basis = record_.reported_usd, "reported"
    else:
        raise CostError(
            f"model {record_.model!r} has no price: give --usd, or add it under cost.prices in .cloister/config.yaml"
        )
    fields_: dict[str, Any] = {
        "model": record_.model,
        "tier": tier,
        "source": source,
        "tokens": record_.tokens.as_dict(),
        "requests": record_.requests,
        "usd": usd(cost),
        "priced_by": basis,
    }
    if session:
        fields_["session"] = session
    if task:
        fields_["task"] = task
    if record_.reported_usd is not None:
        fields_["reported_usd"] = usd(record_.reported_usd)
    event = make_event("usage", agent, now, **fields_)
    # The id is derived from what is recorded: a retried `usage add` (after a lock timeout or a
    # full disk) records the same event, which the fold counts once.
    event["id"] = usage_id(agent, fields_, request)
    return event


def usage_id(agent: str, fields_: Mapping[str, Any], request: str | None) -> str:
    key = {"agent": agent, "request": request, **{k: v for k, v in fields_.items() if k != "tier"}}
    return "u-" + hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_usage(tokens: Usage, requests: int) -> None:
    """Token counts a request can really have; a mistyped 10**30 is refused before anything is written."""
    for name, value in (*tokens.as_dict().items(), ("requests", requests)):
        if not 0 <= value <= MAX_TOKENS:
            raise CostError(f"{name} {value} is not a plausible token count (0 to {MAX_TOKENS:,})")
