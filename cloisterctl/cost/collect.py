"""Cost, composed: read what is new in the transcripts, attribute and tally it (``cost.tally``),
keep the ledger's per-session checkpoints current, and build the reports ``cloisterctl cost`` and
the dashboard show.

``refresh_cost`` is cheap when nothing changed: a stamp of everything a refresh depends on (the
ledger, the config files, the transcript files and the directories new ones would appear in) lets
it return the last result after only stat calls.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloisterctl.config.layers import legacy_user_config_path, user_config_path
from cloisterctl.config.settings import Config
from cloisterctl.cost.attribution import Attribution
from cloisterctl.cost.cache_versions import refresh_key
from cloisterctl.cost.reports import CostData, parse_date, report
from cloisterctl.cost.tally import Tally, pending_events, tier_function, usage_cells, usage_event
from cloisterctl.cost.transcripts import locate
from cloisterctl.cost.usage import Response, TranscriptFile
from cloisterctl.errors import CloisterError
from cloisterctl.files import memo
from cloisterctl.files.locking import locked
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event
from cloisterctl.ledger.fold import WorkspaceState
from cloisterctl.ledger.projection import cost_summary
from cloisterctl.ledger.store import counts_from
from cloisterctl.models.names import file_in
from cloisterctl.models.prices import Tokens
from cloisterctl.workspace.layout import Workspace, fold_inputs

TYPE_CHECKING = False
if TYPE_CHECKING:
    # The transcript reader (msgspec structs, worker processes) is imported only when a refresh
    # reads: a tick whose memo answers never pays for it.
    from cloisterctl.cost.running_tally import RunningTally
    from cloisterctl.cost.transcripts.ingest import Ingested, ProgressFactory
    from cloisterctl.cost.usage_cache import UsageStore


def own_projects(ws: Workspace) -> frozenset[str]:
    """The Claude Code project dir names of this workspace (agents are started at its root)."""
    return frozenset({locate.project_dir_name(ws.root)})


def _pricing_digest(config: Config) -> str:
    data = [config.prices.as_of, config.price_overrides, config.tier_patterns]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _files_in_scope(
    root: Path, config_dirs: Sequence[Path], attribution: Attribution, all_projects: bool, visited: list[str]
) -> list[TranscriptFile]:
    """The transcripts of the scope; ``visited`` collects every directory looked in (or for)."""
    if all_projects:
        return locate.discover(config_dirs, visited=visited)
    files = locate.discover(config_dirs, attribution.own_projects, visited)
    # Sessions the ledger names may have been started elsewhere (another cwd): find them by id.
    have = {file.key for file in files}
    wanted = set(attribution.session_agents) - {file.session for file in files}
    named = {locate.local_path(path, root, config_dirs) for path in attribution.transcripts}  # as the ledger names them
    if wanted or named:
        for directory in config_dirs:
            try:
                projects = [entry for entry in os.scandir(directory / "projects") if locate.is_dir_entry(entry)]
            except OSError:
                continue
            for project in projects:
                if project.name in attribution.own_projects:
                    continue
                visited.append(project.path)  # a wanted session's file would appear here
                for session in wanted:
                    main = Path(project.path) / f"{session}.jsonl"
                    if main.is_file() or (Path(project.path) / session).is_dir():
                        named.add(main)
        for path in named:
            extra = locate.files_for_session(path, visited)
            files += [file for file in extra if file.key not in have]
            have.update(file.key for file in extra)
        files.sort(key=lambda file: file.key)
    return files


def _basis(scope: str, attribution: Attribution, config: Config) -> str:
    """Everything the running tally's sums depend on besides the rows and the code (the tally
    file's version, ``cost.cache_versions``)."""
    return hashlib.sha256(f"{scope}\0{attribution.digest()}\0{_pricing_digest(config)}".encode()).hexdigest()


def _drop_old_cache(directory: Path) -> None:
    """The files of the first cache format (one for both scopes, directly in ``usage/``)."""
    for pattern in ("manifest.json", "rows-*.json", "tally-*.json"):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


def _ingest_building(
    cache_dir: Path,
    files: Sequence[TranscriptFile],
    store: UsageStore,
    running: RunningTally,
    progress: ProgressFactory | None,
    timeout: float | None,
) -> Ingested:
    """Ingest, counting every file into ``running`` (empty) as it is read, then the files that
    needed no reading, then the groups that turned out to span files."""
    from cloisterctl.cost.transcripts.ingest import ingest

    read: set[str] = set()

    def count(file: TranscriptFile, rows: Sequence[Response]) -> None:
        running.add_file(file, rows)
        read.add(file.key)

    ingested = ingest(cache_dir, files, progress=progress, timeout=timeout, store=store, on_read=count)
    if not ingested.store.load_rows():  # torn, and nothing was read: read everything again
        ingested = ingest(cache_dir, files, progress=progress, timeout=timeout, start_over=True, on_read=count)
    held = ingested.held()
    for key, (file, rows) in held.items():
        if key not in read:
            running.add_file(file, rows)
    running.finish_files(held)
    return ingested


def collect(
    ws: Workspace,
    config: Config,
    attribution: Attribution,
    *,
    all_projects: bool = False,
    progress: ProgressFactory | None = None,
    environ: Mapping[str, str] | None = None,
) -> Tally:
    """Read what is new in the transcripts of this workspace (or of every project with
    ``all_projects``) and return the attributed tally.

    Each scope has its own cache (``usage/workspace``, ``usage/all`` under ``Workspace.cache_dir``)
    with the running tally of its rows: what was read this time only adjusts the cells it
    touches. When the attribution or the prices changed, the tally is built again from the rows
    held, without reading a transcript."""
    from cloisterctl.cost.running_tally import RunningTally
    from cloisterctl.cost.transcripts.ingest import ingest
    from cloisterctl.cost.usage_cache import UsageStore, load_tally, save_tally

    config_dirs = locate.claude_config_dirs(environ)
    visited: list[str] = []
    files = _files_in_scope(ws.root, config_dirs, attribution, all_projects, visited)
    # Stamped before anything is read: a file that grows during the read makes a memo stale.
    inputs = memo.stamp([*dict.fromkeys(visited), *(str(file.path) for file in files)])
    scope = "all" if all_projects else "workspace"
    cache_dir = ws.cache_dir / "usage" / scope
    if not cache_dir.is_dir():
        _drop_old_cache(cache_dir.parent)
    basis = _basis(scope, attribution, config)
    tier_of = tier_function(config)
    with locked(cache_dir / "usage.lock", config.lock_timeout, what="the transcript cache"):
        store = UsageStore(cache_dir)
        generation = store.generation
        running = load_tally(cache_dir, generation, basis, attribution, config.prices, tier_of)
        if running is None:  # none for these rows: built file by file as the reads come in
            running = RunningTally(attribution, config.prices, tier_of)
            ingested = _ingest_building(cache_dir, files, store, running, progress, config.lock_timeout)
            save_tally(cache_dir, ingested.generation, basis, running)
        else:  # brought up to date with what this run read
            ingested = ingest(cache_dir, files, progress=progress, timeout=config.lock_timeout, store=store)
            if ingested.previous != generation:  # the rows were torn and read again
                running = RunningTally.build(list(ingested.held().values()), attribution, config.prices, tier_of)
            elif ingested.generation != generation:
                running.apply(ingested.changes, ingested.held())
            if ingested.generation != generation:
                save_tally(cache_dir, ingested.generation, basis, running)
        tally = running.tally()
    tally.problems = ingested.problems + ingested.file_problems()
    tally.files = len(ingested.files)
    tally.bytes_read = ingested.bytes_read
    tally.inputs = inputs
    return tally


def _stamp_path(ws: Workspace) -> Path:
    return ws.cache_dir / "usage" / "refresh.memo"


def read_cost(ctx: Context, progress: ProgressFactory | None = None) -> CostData | dict[str, Any]:
    """Read what is new in this workspace's transcripts, with the ledger's usage events; when
    nothing changed since the last refresh (only stat calls tell), that refresh's result instead
    (``remember_cost``)."""
    quick = _quick_result(ctx.ws, _stamp_path(ctx.ws))
    if quick is not None:
        return quick
    # The fold keeps what attribution needs: no need to parse the whole ledger every tick.
    attribution = Attribution.from_state(ctx.state, own_projects(ctx.ws))
    tally = collect(ctx.ws, ctx.config, attribution, progress=progress)
    cells, _covered = usage_cells(ctx.state.cold.usage_events, attribution, tier_function(ctx.config), tally.sessions)
    return CostData(tally, cells)


def cost_events(read: CostData | dict[str, Any], state: WorkspaceState, ctx: Context) -> list[Event]:
    """The session and checkpoint events that bring the ledger up to date with ``read``. Pure."""
    if not isinstance(read, CostData) or not (read.tally.sessions or read.usage_cells or state.cost_totals.checkpoints):
        return []
    return pending_events(read.tally, read.usage_cells, state, ctx.clock(), tier_function(ctx.config))


def remember_cost(ctx: Context, read: CostData | dict[str, Any], appended: int) -> dict[str, Any] | None:
    """The refresh's result, kept with its stamp so that the next refresh with nothing new is free.

    ``{"appended": n, "sessions": n, "bytes_read": n, "total_usd": x, "cost": <STATE.md cost block>}``,
    or None when this workspace has no transcripts, usage events or checkpoints."""
    if not isinstance(read, CostData):
        return read
    if not (read.tally.sessions or read.usage_cells or ctx.state.cost_totals.checkpoints):
        return None
    cost = cost_summary(ctx.state)
    result = {
        "appended": appended,
        "sessions": len(read.tally.sessions),
        "bytes_read": read.tally.bytes_read,
        "total_usd": cost["total_usd"] if cost else 0.0,
        "cost": cost,
    }
    _remember_refresh(ctx.ws, _stamp_path(ctx.ws), read.tally, result)
    return result


def refresh_cost(ctx: Context, *, progress: ProgressFactory | None = None) -> dict[str, Any] | None:
    """For `cost --record` and `usage add`: append the checkpoint events whose numbers changed and
    refresh STATE.md's ``cloister.cost``. Idempotent. (tick runs the same parts in its pipeline.)"""
    read = read_cost(ctx, progress)
    if not isinstance(read, CostData):
        return read
    ctx.preflight()
    with locked(ctx.ws.lock_path, ctx.config.lock_timeout, what="the ledger"):
        # Compared with the ledger as it is now, under the lock, so two refreshes never append
        # the same checkpoint twice.
        ctx.refresh()
        events = cost_events(read, ctx.state, ctx)
        ctx.append(events)
    ctx.publish()
    return remember_cost(ctx, read, len(events))


def _workspace_inputs(ws: Workspace) -> memo.Stamp:
    """The stamp of what a cost result depends on besides the transcripts: the ledger and spool
    (attribution, usage events, checkpoints) and the config files (prices, tiers): both places of
    the user config, since creating the new one retires the old."""
    user_files = [str(user_config_path()), str(legacy_user_config_path())]
    return memo.stamp([*fold_inputs(str(ws.root)), str(ws.config_path), *user_files])


def _quick_result(ws: Workspace, memo_path: Path) -> dict[str, Any] | None:
    outputs = memo.recall(str(memo_path), refresh_key())
    if outputs is None or "result" not in outputs:
        return None
    try:
        saved = json.loads(outputs["result"])
    except (ValueError, RecursionError):
        return None
    if not isinstance(saved, dict):
        return None
    result: dict[str, Any] = {**saved, "appended": 0, "bytes_read": 0}
    return result


def _remember_refresh(ws: Workspace, memo_path: Path, tally: Tally, result: Mapping[str, Any]) -> None:
    if memo_path.parent.is_dir():
        data = json.dumps(dict(result), separators=(",", ":")).encode()
        memo.keep(str(memo_path), refresh_key(), {**_workspace_inputs(ws), **tally.inputs}, {"result": data})


def record_usage(ctx: Context, events: list[Event]) -> dict[str, Any]:
    """Append usage events, then bring the checkpoints and STATE.md up to date."""
    ctx.preflight()
    ctx.append(events)
    refreshed = refresh_cost(ctx)
    cost = refreshed["cost"] if refreshed else cost_summary(ctx.state)
    if refreshed is None:
        ctx.publish()
    return {"recorded": events, "total_usd": cost["total_usd"] if cost else 0.0, "cost": cost}


def cost_data(
    ctx: Context,
    *,
    since: str | None = None,
    until: str | None = None,
    all_projects: bool = False,
    progress: ProgressFactory | None = None,
    environ: Mapping[str, str] | None = None,
) -> CostData:
    """Every cell of the scope, of the UTC days from ``since`` to ``until`` (both included)."""
    snap = ctx.snapshot
    attribution = Attribution.from_state(snap.state, own_projects(ctx.ws))
    tally = collect(ctx.ws, ctx.config, attribution, all_projects=all_projects, progress=progress, environ=environ)
    cells, covered = usage_cells(snap.state.cold.usage_events, attribution, tier_function(ctx.config), tally.sessions)
    return CostData(tally, cells, covered, snap.problems, all_projects, since, until)


@dataclass
class CostReport:
    """A report and what it was computed from: the stamp of every input as it was before the
    read (for ``files.memo``), and the wall-clock time after which it is stale regardless (when
    an event held back as future-dated starts to count), or None."""

    result: dict[str, Any]
    inputs: memo.Stamp
    valid_until: float | None


def cost_command(
    ctx: Context,
    *,
    by: str = "model",
    since: str | None = None,
    until: str | None = None,
    breakdown: bool = False,
    all_projects: bool = False,
    record_checkpoints: bool = False,
    progress: ProgressFactory | None = None,
) -> CostReport:
    """``cloisterctl cost``: the report, after recording checkpoints when asked."""
    first, last = parse_date(since, "--since"), parse_date(until, "--until")  # before anything is read
    recorded = refresh_cost(ctx, progress=progress) if record_checkpoints else None
    before = _workspace_inputs(ctx.ws)
    ctx.refresh()  # read after the stamp: a change from here on makes the memo stale
    data = cost_data(ctx, since=first, until=last, all_projects=all_projects, progress=progress)
    result = report(data, by, ctx.config.prices, breakdown=breakdown)
    result["workspace"] = str(ctx.ws.root)
    if record_checkpoints:
        result["recorded"] = {"appended": recorded["appended"] if recorded else 0}
    deferred = ctx.snapshot.deferred
    return CostReport(result, {**before, **data.tally.inputs}, counts_from(min(deferred)) if deferred else None)


def add_usage(
    ctx: Context,
    *,
    model: str,
    tokens: Tokens,
    requests: int = 1,
    session: str | None = None,
    task: str | None = None,
    agent: str | None = None,
    usd_override: float | None = None,
    request: str | None = None,
) -> dict[str, Any]:
    """``cloisterctl usage add``: one ``usage`` event in the ledger, counted in every total.
    Idempotent: the same record again (a retry) is recognised by its id and not counted twice."""
    event = usage_event(
        ctx.config,
        model,
        tokens,
        agent=agent or ctx.state.agent,
        now=ctx.clock(),
        requests=requests,
        session=session,
        task=task,
        usd_override=usd_override,
        request=request,
    )
    if any(known["id"] == event["id"] for known in ctx.state.cold.usage_events):
        cost = cost_summary(ctx.state)
        return {"recorded": [], "already": event["id"], "total_usd": cost["total_usd"] if cost else 0.0, "cost": cost}
    return record_usage(ctx, [event])


def import_claude_result(
    ctx: Context, text: str, name: str, *, task: str | None = None, agent: str | None = None
) -> dict[str, Any]:
    """``cloisterctl usage import``: the per-model usage of a ``claude -p --output-format json``
    result as ``usage`` events (source ``claude-json``). Importing the same result twice records it
    once; when the run's transcript is read too, the transcript's figures count instead."""
    from cloisterctl.cost.transcripts.claude_result import parse_claude_result

    result = parse_claude_result(text, name)
    seen = {
        (event.get("session"), event.get("model"), json.dumps(event.get("tokens"), sort_keys=True))
        for event in ctx.state.cold.usage_events
        if event.get("source") == "claude-json"
    }
    events: list[Event] = []
    for use in result.models:
        if (result.session, use.model, json.dumps(use.tokens.as_dict(), sort_keys=True)) in seen:
            continue
        events.append(
            usage_event(
                ctx.config,
                use.model,
                use.tokens,
                agent=agent or ctx.state.agent,
                now=ctx.clock(),
                reported_usd=use.reported_usd,
                session=result.session,
                task=task,
                source="claude-json",
            )
        )
    if events:
        outcome = record_usage(ctx, events)
    else:
        cost = cost_summary(ctx.state)
        outcome = {"recorded": [], "total_usd": cost["total_usd"] if cost else 0.0, "cost": cost}
    outcome["session"] = result.session
    outcome["reported_total_usd"] = result.total_cost_usd
    return outcome


def packet_tokens(ws: Workspace, handoff_id: str) -> int | None:
    """The ``token_estimate`` of ``.cloister/handoffs/ID.json``, for the dashboard's timeline."""
    try:
        data = json.loads(file_in(ws.handoffs_dir, f"{handoff_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, CloisterError):
        return None
    value = data.get("token_estimate") if isinstance(data, dict) else None
    return value if type(value) is int else None
