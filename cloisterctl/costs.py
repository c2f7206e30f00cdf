"""What the agents' work cost: every API response attributed to workspace, agent, session, task,
model and tier; the aggregates behind ``cloisterctl cost``, the dashboard and STATE.md; and the
per-session cost checkpoints in the ledger.

Attribution, tallying, grouping and checkpoint comparison are pure functions of data;
``collect``, ``refresh_cost``, ``cost_command``, ``add_usage`` and ``import_claude_result`` are the
edges that read transcripts and write files.

Money is computed per request (the long-context decision is per request) and summed; USD in the
ledger and STATE.md is rounded to the micro-dollar.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import ledger, usage
from cloisterctl.config import Config, user_config_path
from cloisterctl.errors import CloisterError
from cloisterctl.fsio import atomic_write_bytes
from cloisterctl.ledger import Event, make_event
from cloisterctl.locking import locked
from cloisterctl.pricing import PER_MILLION, Price, PriceTable, Usage, price_table
from cloisterctl.state import WorkspaceState
from cloisterctl.store import Snapshot, record, refresh_state_md, snapshot
from cloisterctl.tiers import tier_for_model
from cloisterctl.workspace import Workspace

TALLY_VERSION = 1
DIMENSIONS = ("agent", "model", "tier", "task", "session", "day", "project")
OTHER_TIER = "other"  # a model that no tier's patterns claim
NONE = "-"  # how an unattributed agent, task or session is shown
USAGE_SCOPE = "usage:"  # checkpoint scope of an agent's usage events (other runtimes)
CHECKPOINT_FIELDS = ("usd", "by_model", "by_tier", "tokens", "requests", "models", "mid_session_switch")


class CostError(CloisterError):
    """A usage record or a cost option cannot be used."""


def usd(value: float) -> float:
    """USD as stored in the ledger and STATE.md: rounded to the micro-dollar."""
    return round(value, 6)


def hit_rate(fresh: int, cache_write: int, cache_read: int) -> float | None:
    """Prompt-cache hit rate: cache reads over everything the model read (DESIGN §6)."""
    total = fresh + cache_write + cache_read
    return cache_read / total if total else None


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    """Who and what a response is for, from the ledger.

    A session belongs to the agent named by its ``session`` events (spawn and hook records win
    over ones cloisterctl wrote on finding a transcript); a session with none, in this workspace's
    project dir, belongs to the workspace's agent. The task is the session's own task when a
    ``session`` event names one, else the agent's task at the response's time: the ``task`` of its
    latest ``route`` event (or ``handoff`` event of step ``spawned`` that names a task) at or
    before that time."""

    agent: str
    own_projects: frozenset[str]
    session_agents: Mapping[str, str]
    session_tasks: Mapping[str, str]
    transcripts: tuple[str, ...]  # transcript paths named by session events
    windows: Mapping[str, tuple[tuple[str, ...], tuple[str | None, ...]]]

    @classmethod
    def from_events(cls, events: Iterable[Event], agent: str, own_projects: Iterable[str]) -> Attribution:
        named: dict[str, str] = {}
        found: dict[str, str] = {}
        tasks: dict[str, str] = {}
        transcripts: set[str] = set()
        changes: dict[str, list[tuple[str, str | None]]] = {}
        for event in ledger.ordered(events):
            kind = event.get("type")
            if kind == "session" and event.get("session"):
                session = str(event["session"])
                if event.get("agent"):
                    (found if event.get("source") == "transcript" else named)[session] = str(event["agent"])
                if event.get("task"):
                    tasks[session] = str(event["task"])
                for key in ("transcript_path", "transcript"):
                    if isinstance(event.get(key), str):
                        transcripts.add(event[key])
            elif kind == "route" or (kind == "handoff" and event.get("step") == "spawned" and event.get("task")):
                try:
                    moment = usage.normalise_ts(str(event["ts"]))
                except ValueError:
                    continue
                task = event.get("task")
                changes.setdefault(str(event.get("agent")), []).append((moment, str(task) if task else None))
        windows = {
            name: (tuple(ts for ts, _task in steps), tuple(task for _ts, task in steps))
            for name, steps in changes.items()
        }
        return cls(agent, frozenset(own_projects), {**found, **named}, tasks, tuple(sorted(transcripts)), windows)

    def agent_for(self, session: str, project: str) -> str | None:
        return self.session_agents.get(session) or (self.agent if project in self.own_projects else None)

    def task_for(self, agent: str | None, session: str | None, ts: str) -> str | None:
        if session and session in self.session_tasks:
            return self.session_tasks[session]
        window = self.windows.get(agent) if agent else None
        if not window:
            return None
        index = bisect.bisect_right(window[0], ts) - 1
        return window[1][index] if index >= 0 else None

    def digest(self) -> str:
        data = [
            self.agent,
            sorted(self.own_projects),
            sorted(self.session_agents.items()),
            sorted(self.session_tasks.items()),
            list(self.transcripts),
            sorted((name, list(ts), list(tasks)) for name, (ts, tasks) in self.windows.items()),
        ]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Tallying
# --------------------------------------------------------------------------------------------


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


def tally_responses(
    responses: Iterable[tuple[usage.TranscriptFile, usage.Response]],
    attribution: Attribution,
    prices: PriceTable,
    tier_of: TierOf,
) -> Tally:
    """Price every response with its own model and sum them into cells and sessions. (Runs once
    per response of a full scan, so the price of each is computed inline.)"""
    cells: dict[tuple[Any, ...], Cell] = {}
    sessions: dict[str, SessionInfo] = {}
    price_of: dict[str, Price | None] = {}
    agents: dict[tuple[str, str], str | None] = {}
    for file, response in responses:
        model = response.model
        if model in price_of:
            price = price_of[model]
        else:
            price = price_of[model] = prices.lookup(model)
        session = file.session
        place = (session, file.project)
        if place in agents:
            agent = agents[place]
        else:
            agent = agents[place] = attribution.agent_for(*place)
        ts = response.ts
        day = ts[:10]
        key = (file.project, session, agent, attribution.task_for(agent, session, ts), model, day)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Cell(file.project, session, agent, key[3], model, tier_of(model), day)
        fresh, output, write_5m, write_1h, read = response[4:9]
        cell.requests += 1
        cell.input += fresh
        cell.output += output
        cell.cache_write_5m += write_5m
        cell.cache_write_1h += write_1h
        cell.cache_read += read
        if price is None:
            cell.unpriced += 1
        else:
            if response.fast and price.fast is not None:
                rates = price.fast
            elif price.long_context is not None and fresh + write_5m + write_1h + read > price.long_context_threshold:
                rates = price.long_context
                cell.long_context += 1
            else:
                rates = price.base
            cell.usd += (
                fresh * rates.input
                + output * rates.output
                + write_5m * rates.cache_write_5m
                + write_1h * rates.cache_write_1h
                + read * rates.cache_read
            ) / PER_MILLION
        info = sessions.get(session)
        if info is None:
            info = sessions[session] = SessionInfo(file.project, agent, ts, ts)
        elif ts < info.first:
            info.first = ts
        elif ts > info.last:
            info.last = ts
        info.requests += 1
        if model not in info.models:
            info.models.append(model)
        if not file.subagent and not response.sidechain and model not in info.main_models:
            info.main_models.append(model)
    return Tally(list(cells.values()), sessions)


def usage_cells(
    events: Iterable[Event], attribution: Attribution, tier_of: TierOf, transcript_sessions: Iterable[str]
) -> tuple[list[Cell], int]:
    """Cells for ``usage`` events (other runtimes, ``claude -p`` results), and how many were left
    out because the session's transcript is read anyway (a ``claude -p`` run writes one too)."""
    known = set(transcript_sessions)
    cells: list[Cell] = []
    covered = 0
    for event in ledger.ordered(events):
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
            moment = usage.normalise_ts(str(event["ts"]))
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


# --------------------------------------------------------------------------------------------
# Collecting (the edge that reads transcripts)
# --------------------------------------------------------------------------------------------


def own_projects(ws: Workspace) -> frozenset[str]:
    """The Claude Code project dir names of this workspace (agents are started at its root)."""
    return frozenset({usage.project_dir_name(ws.root)})


def _pricing_digest(config: Config) -> str:
    table = price_table(config.get("cost", "prices"))
    data = [table.as_of, config.get("cost", "prices"), config.tier_patterns]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _files_in_scope(
    config_dirs: Sequence[Path], attribution: Attribution, all_projects: bool
) -> tuple[list[usage.TranscriptFile], list[Path]]:
    if all_projects:
        return usage.discover(config_dirs), [directory / "projects" for directory in config_dirs]
    files = usage.discover(config_dirs, attribution.own_projects)
    roots = [directory / "projects" / name for directory in config_dirs for name in attribution.own_projects]
    # Sessions the ledger names may have been started elsewhere (another cwd): find them by id.
    have = {file.key for file in files}
    wanted = set(attribution.session_agents) - {file.session for file in files}
    named = {Path(path) for path in attribution.transcripts}
    if wanted or named:
        for directory in config_dirs:
            try:
                projects = [entry for entry in os.scandir(directory / "projects") if entry.is_dir()]
            except OSError:
                continue
            for project in projects:
                if project.name in attribution.own_projects:
                    continue
                for session in wanted:
                    main = Path(project.path) / f"{session}.jsonl"
                    if main.is_file() or (Path(project.path) / session).is_dir():
                        named.add(main)
        for path in named:
            extra = usage.files_for_session(path)
            files += [file for file in extra if file.key not in have]
            have.update(file.key for file in extra)
        files.sort(key=lambda file: file.key)
    return files, roots


def collect(
    ws: Workspace,
    config: Config,
    events: Iterable[Event],
    agent: str,
    *,
    all_projects: bool = False,
    progress: usage.ProgressFactory | None = None,
    environ: Mapping[str, str] | None = None,
    attribution: Attribution | None = None,
) -> Tally:
    """Read what is new in the transcripts of this workspace (or of every project with
    ``all_projects``) and return the attributed tally. When neither the transcripts nor the
    attribution nor the prices changed, the tally comes from ``.cloister/local/usage/`` without
    reading a transcript."""
    if attribution is None:
        attribution = Attribution.from_events(events, agent, own_projects(ws))
    config_dirs = usage.claude_config_dirs(environ)
    files, roots = _files_in_scope(config_dirs, attribution, all_projects)
    cache_dir = ws.local_dir / "usage"
    ingested = usage.ingest(cache_dir, files, roots=roots, progress=progress, timeout=config.lock_timeout)
    scope = "all" if all_projects else "workspace"
    fingerprint = hashlib.sha256(
        f"{TALLY_VERSION}\0{scope}\0{ingested.fingerprint}\0{attribution.digest()}\0{_pricing_digest(config)}".encode()
    ).hexdigest()
    tally_path = cache_dir / f"tally-{scope}.json"
    try:
        cached = json.loads(tally_path.read_bytes())
        if cached.get("fingerprint") == fingerprint:
            tally = Tally.from_json(cached)
            tally.bytes_read = ingested.bytes_read
            tally.paths = [str(file.path) for file in files]
            return tally
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    read = ingested.usage()
    deduplicated = usage.deduplicate([(item.file, item.responses) for item in read])
    tally = tally_responses(deduplicated, attribution, price_table(config.get("cost", "prices")), tier_function(config))
    tally.problems = ingested.problems + [f"{item.file.path}: {problem}" for item in read for problem in item.problems]
    tally.files = len(read)
    tally.bytes_read = ingested.bytes_read
    tally.paths = [str(file.path) for file in files]
    with locked(cache_dir / "usage.lock", config.lock_timeout, what="the transcript cache"):
        payload = {"fingerprint": fingerprint, **tally.to_json()}
        atomic_write_bytes(tally_path, json.dumps(payload, separators=(",", ":")).encode())
    return tally


# --------------------------------------------------------------------------------------------
# Checkpoints (per-session aggregates in the ledger)
# --------------------------------------------------------------------------------------------


def checkpoint_fields(cells: Iterable[Cell], models: Sequence[str], switched: bool) -> dict[str, Any]:
    """The numbers of a ``cost`` checkpoint for a set of cells."""
    total = 0.0
    by_model: dict[str, float] = {}
    by_tier: dict[str, float] = {}
    tokens = {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0}
    requests = 0
    for cell in cells:
        total += cell.usd
        by_model[cell.model] = by_model.get(cell.model, 0.0) + cell.usd
        by_tier[cell.tier] = by_tier.get(cell.tier, 0.0) + cell.usd
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
        if session not in state.sessions:
            model = (info.main_models or info.models)[0]
            events.append(
                make_event(
                    "session",
                    info.agent,
                    min(ledger.parse_ts(info.first), now),
                    session=session,
                    model=model,
                    tier=tier_of(model),
                    source="transcript",
                    event="seen",
                )
            )
        numbers = checkpoint_fields(by_session.get(session, []), info.models, info.switched)
        if not _same(state.cost_checkpoints.get(session), info.agent, numbers):
            events.append(make_event("cost", info.agent, now, session=session, **numbers))
    by_agent: dict[str, list[Cell]] = {}
    for cell in manual:
        by_agent.setdefault(cell.agent or NONE, []).append(cell)
    for agent, cells in sorted(by_agent.items()):
        models = list(dict.fromkeys(cell.model for cell in cells))
        numbers = checkpoint_fields(cells, models, False)
        scope = USAGE_SCOPE + agent
        if not _same(state.cost_checkpoints.get(scope), agent, numbers):
            events.append(make_event("cost", agent, now, scope=scope, **numbers))
    return events


def refresh_cost(
    ws: Workspace,
    config: Config,
    now: datetime,
    *,
    current: Snapshot | None = None,
    progress: usage.ProgressFactory | None = None,
) -> dict[str, Any] | None:
    """For ``tick``: read what is new in this workspace's transcripts, append the session and cost
    checkpoint events whose numbers changed, and refresh STATE.md's ``cloister.cost``.

    Idempotent, and cheap when nothing is new (the transcripts are only stat'ed). Returns
    ``{"appended": n, "sessions": n, "bytes_read": n, "total_usd": x, "cost": <STATE.md cost block>}``
    (``appended`` counts the ledger events written), or None when there are no transcripts, usage
    events or checkpoints for this workspace."""
    from cloisterctl.state import cost_summary

    stamp_path = ws.local_dir / "usage" / "refresh.json"
    quick = _quick_result(ws, config, stamp_path)
    if quick is not None:
        return quick  # nothing new since the last refresh: neither ledger nor transcripts changed
    snap = current if current is not None else snapshot(ws)
    # The fold keeps the events attribution needs: no need to parse the whole ledger every tick.
    history = snap.state.history
    attribution = Attribution.from_events(history, snap.state.agent, own_projects(ws))
    tally = collect(ws, config, history, snap.state.agent, progress=progress, attribution=attribution)
    tier_of = tier_function(config)
    manual, _covered = usage_cells(history, attribution, tier_of, tally.sessions)
    if not tally.sessions and not manual and not snap.state.cost_checkpoints:
        return None
    with locked(ws.lock_path, config.lock_timeout, what="the ledger"):
        # Compared with the ledger as it is now, under the lock, so two refreshes never append
        # the same checkpoint twice.
        latest = snapshot(ws)
        events = pending_events(tally, manual, latest.state, now, tier_of)
        if events:
            latest = record(ws, events, timeout=config.lock_timeout)
        else:
            refresh_state_md(ws, latest.state, timeout=config.lock_timeout)
    cost = cost_summary(latest.state)
    result = {
        "appended": len(events),
        "sessions": len(tally.sessions),
        "bytes_read": tally.bytes_read,
        "total_usd": cost["total_usd"] if cost else 0.0,
        "cost": cost,
    }
    _remember_refresh(ws, config, stamp_path, tally.paths, result)
    return result


def _refresh_stamp(ws: Workspace, config: Config, paths: Sequence[str]) -> dict[str, Any]:
    """What a refresh depended on: the ledger (attribution, usage events, checkpoints), the config
    files (prices), the transcript files it read and the directories where new ones would appear."""

    def key(path: Path) -> list[int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return [stat.st_ino, stat.st_size, stat.st_mtime_ns]

    dirs = {str(directory / "projects" / name) for directory in usage.claude_config_dirs() for name in own_projects(ws)}
    dirs |= {os.path.dirname(path) for path in paths}
    return {
        "ledger": key(ws.ledger_path),
        "config": [key(ws.config_path), key(user_config_path())],
        "dirs": {directory: key(Path(directory)) for directory in sorted(dirs)},
        "files": {path: key(Path(path)) for path in paths},
    }


def _quick_result(ws: Workspace, config: Config, stamp_path: Path) -> dict[str, Any] | None:
    try:
        saved = json.loads(stamp_path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("version") != 1:
        return None
    paths = list((saved.get("stamp") or {}).get("files") or {})
    if _refresh_stamp(ws, config, paths) != saved.get("stamp"):
        return None
    result: dict[str, Any] = {**saved["result"], "appended": 0, "bytes_read": 0}
    return result


def _remember_refresh(
    ws: Workspace, config: Config, stamp_path: Path, paths: Sequence[str], result: Mapping[str, Any]
) -> None:
    if not stamp_path.parent.is_dir():
        return
    data = {"version": 1, "stamp": _refresh_stamp(ws, config, paths), "result": dict(result)}
    try:
        atomic_write_bytes(stamp_path, json.dumps(data, separators=(",", ":")).encode())
    except OSError:
        pass  # only a slower next refresh


# --------------------------------------------------------------------------------------------
# Usage from other runtimes
# --------------------------------------------------------------------------------------------


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
) -> Event:
    """A ``usage`` event, priced with the table (base rates: per-request sizes are unknown); an
    unpriced model needs ``usd_override`` or the runtime's own figure."""
    tier = tier_for_model(record_.model, config.tier_patterns) or OTHER_TIER
    price = price_table(config.get("cost", "prices")).lookup(record_.model)
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
    return make_event("usage", agent, now, **fields_)


def record_usage(ws: Workspace, config: Config, now: datetime, events: list[Event]) -> dict[str, Any]:
    """Append usage events, then bring the checkpoints and STATE.md up to date."""
    from cloisterctl.state import cost_summary

    record(ws, events, timeout=config.lock_timeout)
    refreshed = refresh_cost(ws, config, now)
    cost = refreshed["cost"] if refreshed else cost_summary(snapshot(ws).state)
    return {"recorded": events, "total_usd": cost["total_usd"] if cost else 0.0, "cost": cost}


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def _sum(cells: Iterable[Cell]) -> dict[str, Any]:
    totals = dict.fromkeys(_SUMS, 0)
    money = 0.0
    for cell in cells:
        money += cell.usd
        for name in _SUMS:
            if name != "usd":
                totals[name] += getattr(cell, name)
    return {
        "requests": totals["requests"],
        "usd": round(money, 9),  # reports keep sub-micro-dollar precision; the ledger rounds to 1e-6
        "tokens": {
            "input": totals["input"],
            "output": totals["output"],
            "cache_write_5m": totals["cache_write_5m"],
            "cache_write_1h": totals["cache_write_1h"],
            "cache_read": totals["cache_read"],
        },
        "cache_hit_rate": _rounded_rate(
            totals["input"], totals["cache_write_5m"] + totals["cache_write_1h"], totals["cache_read"]
        ),
        "long_context_requests": totals["long_context"],
        "unpriced_requests": totals["unpriced"],
    }


def _rounded_rate(fresh: int, cache_write: int, cache_read: int) -> float | None:
    rate = hit_rate(fresh, cache_write, cache_read)
    return None if rate is None else round(rate, 4)


def group(cells: Iterable[Cell], by: str) -> list[dict[str, Any]]:
    """Rows of summed cells, one per value of ``by``: days in date order, anything else by cost."""
    if by not in DIMENSIONS:
        raise CostError(f"cannot group cost by {by!r}; use one of {', '.join(DIMENSIONS)}")
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.value(by), []).append(cell)
    rows = [{"key": key, **_sum(members)} for key, members in groups.items()]
    if by == "day":
        rows.sort(key=lambda row: row["key"])
    else:
        rows.sort(key=lambda row: (-row["usd"], row["key"]))
    return rows


def parse_since(text: str | None) -> str | None:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` -> ``YYYY-MM-DD``."""
    if text is None:
        return None
    digits = text.replace("-", "")
    try:
        return datetime.strptime(digits, "%Y%m%d").strftime("%Y-%m-%d")
    except ValueError:
        raise CostError(f"--since {text!r}: expected a date as YYYY-MM-DD") from None


@dataclass
class CostData:
    """Everything a report or the dashboard shows, for one scope and period."""

    snapshot: Snapshot
    tally: Tally
    cells: list[Cell]  # transcripts and usage events, filtered by --since
    covered_usage_events: int
    all_projects: bool
    since: str | None


def cost_data(
    ws: Workspace,
    config: Config,
    *,
    since: str | None = None,
    all_projects: bool = False,
    progress: usage.ProgressFactory | None = None,
    environ: Mapping[str, str] | None = None,
) -> CostData:
    snap = snapshot(ws)
    tally = collect(
        ws, config, snap.events, snap.state.agent, all_projects=all_projects, progress=progress, environ=environ
    )
    attribution = Attribution.from_events(snap.events, snap.state.agent, own_projects(ws))
    manual, covered = usage_cells(snap.events, attribution, tier_function(config), tally.sessions)
    cells = tally.cells + manual
    if since is not None:
        cells = [cell for cell in cells if cell.day >= since]
    return CostData(snap, tally, cells, covered, all_projects, since)


def report(data: CostData, by: str, prices: PriceTable) -> dict[str, Any]:
    """The JSON of ``cloisterctl cost``; ``total_usd`` at the top."""
    totals = _sum(data.cells)
    by_tier = {row["key"]: row["cache_hit_rate"] for row in group(data.cells, "tier")}
    sessions_seen = {cell.session for cell in data.cells}
    by_session = {row["key"]: row["cache_hit_rate"] for row in group(data.cells, "session") if row["key"] != NONE}
    switches = [
        {"session": session, "agent": info.agent, "models": info.main_models}
        for session, info in sorted(data.tally.sessions.items())
        if info.switched and session in sessions_seen
    ]
    unpriced: dict[str, int] = {}
    for cell in data.cells:
        if cell.unpriced:
            unpriced[cell.model] = unpriced.get(cell.model, 0) + cell.unpriced
    return {
        "total_usd": totals["usd"],
        "scope": "all projects" if data.all_projects else "workspace",
        "by": by,
        "since": data.since,
        "rows": group(data.cells, by),
        "totals": totals,
        "cache_hit_rate": {"total": totals["cache_hit_rate"], "by_tier": by_tier, "by_session": by_session},
        "mid_session_switches": switches,
        "unpriced_models": dict(sorted(unpriced.items())),
        "covered_usage_events": data.covered_usage_events,
        "sessions": len(sessions_seen - {NONE}),
        "files": data.tally.files,
        "bytes_read": data.tally.bytes_read,
        "prices": {"as_of": prices.as_of, "source": prices.source},
        "problems": data.snapshot.problems + data.tally.problems,
    }


def cost_command(
    ws: Workspace,
    config: Config,
    now: datetime,
    *,
    by: str = "model",
    since: str | None = None,
    all_projects: bool = False,
    record_checkpoints: bool = False,
    progress: usage.ProgressFactory | None = None,
) -> dict[str, Any]:
    """``cloisterctl cost``: the report, after recording checkpoints when asked."""
    recorded = None
    if record_checkpoints:
        recorded = refresh_cost(ws, config, now, progress=progress)
    data = cost_data(ws, config, since=parse_since(since), all_projects=all_projects, progress=progress)
    result = report(data, by, price_table(config.get("cost", "prices")))
    result["workspace"] = str(ws.root)
    if record_checkpoints:
        result["recorded"] = {"appended": recorded["appended"] if recorded else 0}
    return result


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render_report(result: Mapping[str, Any]) -> str:
    """``cloisterctl cost`` for people: a table with a totals row, then the cache hit rate."""
    from cloisterctl.output import table

    def line(key: str, row: Mapping[str, Any]) -> list[str]:
        tokens = row["tokens"]
        return [
            key,
            f"{row['requests']:,}",
            f"{tokens['input']:,}",
            f"{tokens['output']:,}",
            f"{tokens['cache_write_5m'] + tokens['cache_write_1h']:,}",
            f"{tokens['cache_read']:,}",
            _rate(row["cache_hit_rate"]),
            money(row["usd"]),
        ]

    headers = [result["by"], "requests", "input", "output", "cache write", "cache read", "hit rate", "USD"]
    rows = [line(row["key"], row) for row in result["rows"]]
    rows.append(line("total", result["totals"]))
    scope = (
        f"workspace {result['workspace']}"
        if result["scope"] == "workspace" and result.get("workspace")
        else result["scope"]
    )
    lines = [f"cost of {scope}" + (f" since {result['since']}" if result["since"] else "")]
    lines.append(table(headers, rows, right=range(1, len(headers))))
    tiers = ", ".join(f"{tier} {_rate(rate)}" for tier, rate in result["cache_hit_rate"]["by_tier"].items())
    lines.append(f"cache hit rate {_rate(result['cache_hit_rate']['total'])}" + (f" ({tiers})" if tiers else ""))
    for switch in result["mid_session_switches"]:
        lines.append(f"mid-session model switch: session {switch['session']} used {', '.join(switch['models'])}")
    if result["totals"]["long_context_requests"]:
        lines.append(
            f"{result['totals']['long_context_requests']} requests priced at long-context rates (> 200K input)"
        )
    for model, count in result["unpriced_models"].items():
        lines.append(f"warning: {count} requests of {model} have no price (counted as $0; add cost.prices.{model})")
    if result.get("recorded") is not None:
        lines.append(f"recorded {result['recorded']['appended']} ledger events")
    for problem in result["problems"][:10]:
        lines.append(f"warning: {problem}")
    if len(result["problems"]) > 10:
        lines.append(f"warning: ... and {len(result['problems']) - 10} more problems (see --json)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Commands that record usage
# --------------------------------------------------------------------------------------------


def add_usage(
    ws: Workspace,
    config: Config,
    now: datetime,
    *,
    model: str,
    tokens: Usage,
    requests: int = 1,
    session: str | None = None,
    task: str | None = None,
    agent: str | None = None,
    usd_override: float | None = None,
) -> dict[str, Any]:
    """``cloisterctl usage add``: one ``usage`` event in the ledger, counted in every total."""
    current = snapshot(ws)
    event = usage_event(
        config,
        UsageRecord(model, tokens, requests),
        agent=agent or current.state.agent,
        now=now,
        session=session,
        task=task,
        usd_override=usd_override,
    )
    return record_usage(ws, config, now, [event])


def import_claude_result(
    ws: Workspace,
    config: Config,
    now: datetime,
    text: str,
    name: str,
    *,
    task: str | None = None,
    agent: str | None = None,
) -> dict[str, Any]:
    """``cloisterctl usage import``: the per-model usage of a ``claude -p --output-format json``
    result as ``usage`` events (source ``claude-json``). Importing the same result twice records it
    once; when the run's transcript is read too, the transcript's figures count instead."""
    result = usage.parse_claude_result(text, name)
    current = snapshot(ws)
    seen = {
        (event.get("session"), event.get("model"), json.dumps(event.get("tokens"), sort_keys=True))
        for event in current.events
        if event.get("type") == "usage" and event.get("source") == "claude-json"
    }
    events: list[Event] = []
    for use in result.models:
        tokens = Usage(use.input, use.output, use.cache_write_5m, use.cache_write_1h, use.cache_read)
        if (result.session, use.model, json.dumps(tokens.as_dict(), sort_keys=True)) in seen:
            continue
        events.append(
            usage_event(
                config,
                UsageRecord(use.model, tokens, 1, use.reported_usd),
                agent=agent or current.state.agent,
                now=now,
                session=result.session,
                task=task,
                source="claude-json",
            )
        )
    outcome = record_usage(ws, config, now, events) if events else {"recorded": [], **_current_cost(ws)}
    outcome["session"] = result.session
    outcome["reported_total_usd"] = result.total_cost_usd
    return outcome


def _current_cost(ws: Workspace) -> dict[str, Any]:
    from cloisterctl.state import cost_summary

    cost = cost_summary(snapshot(ws).state)
    return {"total_usd": cost["total_usd"] if cost else 0.0, "cost": cost}


def render_recorded(result: Mapping[str, Any]) -> str:
    lines = []
    for event in result["recorded"]:
        tokens = event["tokens"]
        parts = [f"{name} {tokens[name]:,}" for name in tokens if tokens[name]]
        where = f" session {event['session']}" if event.get("session") else ""
        task = f" task {event['task']}" if event.get("task") else ""
        lines.append(
            f"recorded {event['model']} ({event['tier']}){where}{task}: {', '.join(parts) or 'no tokens'}"
            f" = {money(event['usd'])} ({event['priced_by']})"
        )
    if not result["recorded"]:
        lines.append("nothing new to record")
    lines.append(f"workspace total {money(result['total_usd'] or 0.0)}")
    return "\n".join(lines)
