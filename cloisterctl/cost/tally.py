"""Tallying usage: every response priced with its own model and summed into cells (one per
``CellKey``: project, session, agent, task, model, tier, day and subagent type), sessions, and the
per-session cost checkpoints the ledger keeps. Pure.

Money is computed per request (the long-context decision is per request) and summed; USD in the
ledger and STATE.md is rounded to the micro-dollar.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from cloisterctl.config.settings import Config
from cloisterctl.cost.attribution import Attribution
from cloisterctl.errors import CostError
from cloisterctl.ledger.events import Event, make_event, normalise_ts, ordered, parse_ts
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.schema import MAX_TOKENS
from cloisterctl.ledger.state import CHECKPOINT_KEYS
from cloisterctl.models.prices import Tokens
from cloisterctl.models.tiers import tier_for_model

OTHER_TIER = "other"  # a model that no tier's patterns claim
NONE = "-"  # how an unattributed agent, task or session is shown
MAIN = "(main)"  # the subagent type of a session's own usage (not a subagent's)
UNKNOWN_TYPE = "(unknown)"  # a subagent whose type Claude Code did not record
USAGE_SCOPE = "usage:"  # checkpoint scope of an agent's usage events (other runtimes)
# The figures of a cost checkpoint that say whether a new one would repeat it: every field the fold
# keeps (``ledger.state.CHECKPOINT_KEYS``) but who and when it is, and the context size (not a
# spending figure).
CHECKPOINT_FIELDS = tuple(
    key for key in CHECKPOINT_KEYS if key not in ("id", "ts", "agent", "session", "scope", "context_tokens")
)


def usd(value: float) -> float:
    """USD as stored in the ledger and STATE.md: rounded to the micro-dollar."""
    return round(value, 6)


def hit_rate(fresh: int, cache_write: int, cache_read: int) -> float | None:
    """Prompt-cache hit rate: cache reads over everything the model read (DESIGN §6)."""
    total = fresh + cache_write + cache_read
    return cache_read / total if total else None


class CellKey(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """What a cell is: every attribute a report groups cells by (``groupings.GROUPINGS`` names the
    field each grouping reads). The tally's dict key, and written to the usage cache by name: a
    cache whose keys have other fields fails to load and is rebuilt."""

    project: str  # the Claude Code project dir; NONE for usage events
    session: str  # NONE for usage events that name none
    agent: str | None
    task: str | None
    model: str
    tier: str
    day: str  # UTC date
    # The subagent type of a transcript's usage (``MAIN`` for the session's own); None for usage
    # events (another runtime's), shown as NONE.
    subagent: str | None


@dataclass
class Cell:
    """The responses of one ``CellKey``, summed."""

    key: CellKey
    requests: int = 0
    usd: float = 0.0
    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    long_context: int = 0  # requests priced at long-context rates
    unpriced: int = 0  # requests of a model with no price (counted at $0)

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


@dataclass
class SessionInfo:
    """A session as its responses show it (its subagents' included)."""

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
    """Everything found in a scope's transcripts, attributed and summed."""

    cells: list[Cell]
    sessions: dict[str, SessionInfo]
    problems: list[str] = field(default_factory=list)
    files: int = 0
    bytes_read: int = 0
    # What the tally was read from: each transcript and directory looked in, with its stamp
    # (``files.memo``) as it was before the read.
    inputs: dict[str, tuple[int, int, int] | None] = field(default_factory=dict)


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
        if event.get("source") == "claude-json" and session in known:
            covered += 1
            continue
        tokens = event.get("tokens") or {}
        agent = str(event.get("agent") or attribution.agent)
        try:
            moment = normalise_ts(str(event["ts"]))
        except ValueError:
            continue  # not a time: the ledger reader reports such events
        model = str(event.get("model") or NONE)
        key = CellKey(
            project=NONE,
            session=session or NONE,
            agent=agent,
            task=event.get("task") or attribution.task_for(agent, session, moment),
            model=model,
            tier=str(event.get("tier") or tier_of(model)),
            day=moment[:10],
            subagent=None,
        )
        cells.append(
            Cell(
                key,
                requests=int(event.get("requests") or 1),
                usd=float(event.get("usd") or 0.0),
                input=int(tokens.get("input", 0)),
                output=int(tokens.get("output", 0)),
                cache_write_5m=int(tokens.get("cache_write_5m", 0)),
                cache_write_1h=int(tokens.get("cache_write_1h", 0)),
                cache_read=int(tokens.get("cache_read", 0)),
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
    unpriced: dict[str, int] = {}  # model -> requests counted at $0 (no price)
    for cell in cells:
        key = cell.key
        total += cell.usd
        by_model[key.model] = by_model.get(key.model, 0.0) + cell.usd
        by_tier[key.tier] = by_tier.get(key.tier, 0.0) + cell.usd
        by_day[key.day] = by_day.get(key.day, 0.0) + cell.usd
        if key.task:
            by_task[key.task] = by_task.get(key.task, 0.0) + cell.usd
        tokens["input"] += cell.input
        tokens["output"] += cell.output
        tokens["cache_write"] += cell.cache_write
        tokens["cache_read"] += cell.cache_read
        requests += cell.requests
        if cell.unpriced:
            unpriced[key.model] = unpriced.get(key.model, 0) + cell.unpriced
    numbers = {
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
    if unpriced:  # only then: a checkpoint of a fully priced session reads as before
        numbers["unpriced"] = dict(sorted(unpriced.items()))
    return numbers


def _same(checkpoint: Mapping[str, Any] | None, agent: str, numbers: Mapping[str, Any]) -> bool:
    if checkpoint is None or checkpoint.get("agent") != agent:
        return False
    return all(checkpoint.get(key) == numbers.get(key) for key in CHECKPOINT_FIELDS)


def pending_events(
    tally: Tally, usage_cells: Sequence[Cell], state: WorkspaceState, now: datetime, tier_of: TierOf
) -> list[Event]:
    """The ledger events that bring it up to date with ``tally``: a ``session`` event (``source``
    transcript, ``event`` seen: it never changes the agent's current session) for each session of
    this workspace the ledger does not know yet, and a ``cost`` checkpoint for each session -- and
    each agent's usage events -- whose numbers changed since its last checkpoint. Pure."""
    events: list[Event] = []
    by_session: dict[str, list[Cell]] = {}
    for cell in tally.cells:
        by_session.setdefault(cell.key.session, []).append(cell)
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
    for cell in usage_cells:
        by_agent.setdefault(cell.key.agent or NONE, []).append(cell)
    for agent, cells in sorted(by_agent.items()):
        models = list(dict.fromkeys(cell.key.model for cell in cells))
        numbers = checkpoint_fields(cells, models, False)
        scope = USAGE_SCOPE + agent
        if not _same(state.cold.cost_checkpoints.get(scope), agent, numbers):
            events.append(make_event("cost", agent, now, scope=scope, **numbers))
    return events


def usage_event(
    config: Config,
    model: str,
    tokens: Tokens,
    *,
    agent: str,
    now: datetime,
    requests: int = 1,
    reported_usd: float | None = None,
    session: str | None = None,
    task: str | None = None,
    source: str = "manual",
    usd_override: float | None = None,
    request: str | None = None,
) -> Event:
    """A ``usage`` event: ``tokens`` of ``model`` that no transcript shows, summed over ``requests``,
    priced with the table (base rates: per-request sizes are unknown); an unpriced model needs
    ``usd_override`` or ``reported_usd`` (what the runtime itself said it cost). ``request``
    (``--id``) tells two records of the same numbers apart."""
    check_usage(tokens, requests)
    tier = tier_for_model(model, config.tier_patterns) or OTHER_TIER
    price = config.prices.lookup(model)
    if usd_override is not None:
        cost, basis = usd_override, "given"
    elif price is not None:
        cost, basis = price.base.cost(tokens), "table"
    elif reported_usd is not None:
        cost, basis = reported_usd, "reported"
    else:
        raise CostError(
            f"model {model!r} has no price: give --usd, or add it under cost.prices in .cloister/config.yaml"
        )
    fields_: dict[str, Any] = {
        "model": model,
        "tier": tier,
        "source": source,
        "tokens": tokens.as_dict(),
        "requests": requests,
        "usd": usd(cost),
        "priced_by": basis,
    }
    if session:
        fields_["session"] = session
    if task:
        fields_["task"] = task
    if reported_usd is not None:
        fields_["reported_usd"] = usd(reported_usd)
    event = make_event("usage", agent, now, **fields_)
    # The id is derived from what is recorded: a retried `usage add` (after a lock timeout or a
    # full disk) records the same event, which the fold counts once.
    event["id"] = usage_id(agent, fields_, request)
    return event


def usage_id(agent: str, fields_: Mapping[str, Any], request: str | None) -> str:
    key = {"agent": agent, "request": request, **{k: v for k, v in fields_.items() if k != "tier"}}
    return "u-" + hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_usage(tokens: Tokens, requests: int) -> None:
    """Token counts a request can really have; a mistyped 10**30 is refused before anything is written."""
    for name, value in (*tokens.as_dict().items(), ("requests", requests)):
        if not 0 <= value <= MAX_TOKENS:
            raise CostError(f"{name} {value} is not a plausible token count (0 to {MAX_TOKENS:,})")
