"""``cloisterctl cost --html FILE``: one self-contained page (inline CSS, JS and SVG; nothing is
fetched) with cost by model, tier and day, cost per task, cache hit rate per tier, sessions, and
the handoff timeline.

The tables are plain HTML; the charts are drawn by the page's script from a JSON data island, and
labels only ever reach the page as text (never as markup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl import __version__
from cloisterctl.cost.collect import cost_data, packet_tokens, refresh_cost
from cloisterctl.cost.reports import CostData, group, money, parse_date, report
from cloisterctl.cost.tally import NONE
from cloisterctl.cost.transcripts.ingest import ProgressFactory
from cloisterctl.errors import CloisterError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.resources import read_resource
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event, ordered

TEMPLATE = "dashboard.html.j2"
TIER_COLOURS = {"opus": "#7c3aed", "sonnet": "#2563eb", "haiku": "#059669", "other": "#6b7280"}


def handoff_timeline(events: Iterable[Event], tokens: Callable[[str], int | None]) -> list[dict[str, Any]]:
    """Every handoff with its steps in time order, trigger and reason (from the handoff or its
    decision) and the size of its packet when ``handoffs/ID.json`` has a ``token_estimate``."""
    decisions: dict[str, Event] = {}
    handoffs: dict[str, dict[str, Any]] = {}
    for event in ordered(events):
        if event.get("type") == "decision":
            decisions[event["id"]] = event
        if event.get("type") != "handoff" or not event.get("handoff"):
            continue
        handoff_id = str(event["handoff"])
        entry = handoffs.setdefault(
            handoff_id,
            {
                "id": handoff_id,
                "agent": event.get("agent"),
                "steps": [],
                **dict.fromkeys(("from_tier", "to_tier", "trigger", "reason", "decision", "task")),
            },
        )
        for key in ("from_tier", "to_tier", "trigger", "reason", "decision", "task"):
            if event.get(key) and not entry.get(key):
                entry[key] = event[key]
        step = str(event.get("step"))
        if step not in [known["step"] for known in entry["steps"]]:
            entry["steps"].append({"step": step, "ts": event["ts"]})
        entry["status"] = step if event.get("status", "done") == "done" else entry.get("status", step)
    timeline: list[dict[str, Any]] = []
    for entry in handoffs.values():
        decision = decisions.get(str(entry.get("decision")))
        if decision is not None:
            entry["trigger"] = entry["trigger"] or decision.get("trigger")
            entry["reason"] = entry["reason"] or decision.get("reason")
        entry["packet_tokens"] = tokens(str(entry["id"]))
        entry["start"] = entry["steps"][0]["ts"]
        entry["end"] = entry["steps"][-1]["ts"]
        timeline.append(entry)
    timeline.sort(key=lambda item: (item["start"], item["id"]))
    return timeline


def decision_list(events: Iterable[Event]) -> list[dict[str, Any]]:
    keys = ("ts", "trigger", "kind", "from_tier", "to_tier", "status", "reason", "task")
    return [{key: event.get(key) for key in keys} for event in ordered(events) if event.get("type") == "decision"]


def dashboard_context(ctx: Context, data: CostData, now: datetime) -> dict[str, Any]:
    """Everything the template shows (and the data island the charts are drawn from)."""
    ws = ctx.ws
    summary = report(data, "model", ctx.config.prices)
    by_tier = group(data.cells, "tier")
    tiers = {cell.key.model: cell.key.tier for cell in data.cells}
    sessions = []
    session_rows = {row["key"]: row for row in group(data.cells, "session")}
    for session, info in sorted(data.tally.sessions.items(), key=lambda item: item[1].first):
        row = session_rows.get(session)
        if row is None:
            continue
        sessions.append(
            {
                "session": session,
                "agent": info.agent or NONE,
                "first": info.first[:16].replace("T", " "),
                "models": info.models,
                "switched": info.switched,
                "requests": row["requests"],
                "usd": row["usd"],
                "cache_hit_rate": row["cache_hit_rate"],
            }
        )
    events = ctx.snapshot.events  # the whole ledger: the timeline shows every handoff, not only recent ones
    timeline = handoff_timeline(events, lambda handoff_id: packet_tokens(ws, handoff_id))
    chart = {
        "by_model": [
            {"label": row["key"], "usd": row["usd"], "tier": tiers.get(row["key"], "other")} for row in summary["rows"]
        ],
        "by_tier": [{"label": row["key"], "usd": row["usd"], "tier": row["key"]} for row in by_tier],
        "hit_rate_by_tier": [
            {"label": row["key"], "rate": row["cache_hit_rate"], "tier": row["key"]}
            for row in by_tier
            if row["cache_hit_rate"] is not None
        ],
        "by_day": [{"label": row["key"], "usd": row["usd"]} for row in group(data.cells, "day")],
        "by_task": [{"label": row["key"], "usd": row["usd"]} for row in group(data.cells, "task")],
        "handoffs": timeline,
        "decisions": decision_list(events),
        "colours": TIER_COLOURS,
    }
    return {
        "title": f"cloisterctl cost: {ws.root.name}",
        "workspace": str(ws.root),
        "generated": now.strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "summary": summary,
        "by_tier": by_tier,
        "by_model": summary["rows"],
        "by_task": group(data.cells, "task"),
        "by_day": group(data.cells, "day"),
        "sessions": sessions,
        "handoffs": timeline,
        "decisions": chart["decisions"],
        "colours": TIER_COLOURS,
        "chart": chart,
    }


def render_dashboard(context: Mapping[str, Any]) -> str:
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["money"] = money
    environment.filters["rate"] = lambda rate: "-" if rate is None else f"{rate * 100:.1f}%"
    environment.filters["thousands"] = lambda number: f"{number:,}"
    template = environment.from_string(read_resource("templates", TEMPLATE))
    return template.render(**context)


def write_dashboard(
    ctx: Context,
    path: Path,
    *,
    since: str | None = None,
    until: str | None = None,
    all_projects: bool = False,
    record: bool = False,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Write the dashboard page to ``path`` (atomically); returns where and the total shown."""
    first, last = parse_date(since, "--since"), parse_date(until, "--until")
    if record:
        refresh_cost(ctx, progress=progress)
    data = cost_data(ctx, since=first, until=last, all_projects=all_projects, progress=progress)
    context = dashboard_context(ctx, data, ctx.clock())
    try:
        atomic_write_text(path, render_dashboard(context))
    except OSError as exc:
        raise CloisterError(f"{path}: cannot write the dashboard: {exc.strerror}") from None
    return {"html": str(path), "total_usd": context["summary"]["total_usd"]}


def render_written(result: Mapping[str, Any]) -> str:
    return f"dashboard written to {result['html']} (total {money(result['total_usd'])})"
