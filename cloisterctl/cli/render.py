"""Printing for people: aligned tables and the text form of every command's result.

Every ``render_*`` takes the JSON-able result a command prints with ``--json`` and returns text, so
the two forms always show the same data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cloisterctl.cli.style import warning_prefix
from cloisterctl.cost.reports import money
from cloisterctl.ledger.projection import undercount
from cloisterctl.models.tiers import normalise_model_id


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> str:
    """A plain aligned table; columns whose index is in ``right`` are right-aligned (numbers)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render_report(result: Mapping[str, Any]) -> str:
    """``cloisterctl cost`` for people: a table with a totals row, then the cache hit rate."""

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
    rows = []
    for row in result["rows"]:
        rows.append(line(row["key"], row))
        rows += [line(f"  - {model['key']}", model) for model in row.get("models", ())]
    rows.append(line("total", result["totals"]))
    scope = (
        f"workspace {result['workspace']}"
        if result["scope"] == "workspace" and result.get("workspace")
        else result["scope"]
    )
    period = (f" since {result['since']}" if result["since"] else "") + (
        f" until {result['until']}" if result.get("until") else ""
    )
    lines = [f"cost of {scope}{period}"]
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
        fix = f"add cost.prices.{normalise_model_id(model)}"
        lines.append(f"warning: {count} requests of {model} have no price (counted as $0; {fix})")
    if result.get("recorded") is not None:
        lines.append(f"recorded {result['recorded']['appended']} ledger events")
    for problem in result["problems"][:10]:
        lines.append(f"warning: {problem}")
    if len(result["problems"]) > 10:
        lines.append(f"warning: ... and {len(result['problems']) - 10} more problems (see --json)")
    return "\n".join(warning_prefix(line) for line in lines)


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
        already = result.get("already")
        lines.append(f"already recorded ({already}); not counted again" if already else "nothing new to record")
    lines.append(f"workspace total {money(result['total_usd'] or 0.0)}")
    return "\n".join(lines)


def render_status(view: dict[str, Any]) -> str:
    complexity = view["complexity"] or {}
    cost = view["cost"]
    rows = [
        ("workspace", view["workspace"]),
        ("agent", f"{view['agent']} ({view['status']})"),
        ("process", view["runtime"]),
        ("tier", view["tier"] or "-"),
        ("model", view["model"] or "-"),
        ("session", view["session"] or "-"),
        ("complexity", f"{complexity.get('level')} ({complexity.get('source')})" if complexity else "-"),
        ("task", view["task"] or "-"),
        ("cost", _cost_text(cost, view.get("unpriced_models") or [])),
        ("handoffs", str(view["handoffs"])),
        ("last decision", view["last_decision"] or "-"),
        ("last activity", view["last_activity"] or "-"),
        ("STATE.md", view["state_md"]),
    ]
    if view.get("waiting"):
        rows.append(("waiting", view["waiting"]))
    if view["role"]:
        rows.insert(4, ("role", view["role"]))
    if view["handoff_in_flight"]:
        h = view["handoff_in_flight"]
        rows.append(("handoff", f"{h['id']} at {h['step']} ({h['from']} -> {h['to']})"))
    if view.get("idle_reason"):
        rows.append(("idle", view["idle_reason"]))
    verification = view.get("verification")
    if verification:
        note = f": {verification['note']}" if verification.get("note") else ""
        rows.append(("verification", f"{verification['result']} (close on {verification['tier'] or '-'}){note}"))
    stuck = view.get("stuck")
    if stuck:
        when = "now" if stuck["minutes_left"] < 0 else f"in {stuck['minutes_left']:g} min"
        rows.append(
            ("stuck", f"{when} (quiet since {stuck['quiet_since']}, threshold {stuck['threshold_minutes']:g} min)")
        )
    for budget in view.get("budgets", ()):
        rows.insert(rows.index(("handoffs", str(view["handoffs"]))), ("budget", _budget_text(budget)))
    for flag, since in view["flags"].items():
        rows.append(("flag", f"{flag} since {since} (`cloisterctl flags clear {view['agent']}` clears it)"))
    for pending in view["pending_approvals"]:
        rows.append(("needs approval", f"{pending['id']}: {pending['decision']}"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if view.get("untrusted_config"):
        lines.append(
            f"warning: .cloister/config.yaml sets {view['untrusted_config_where']}, ignored until "
            "`cloisterctl trust` in this clone"
        )
    for mate in view.get("teammates", ()):
        lines.append(teammate_line(mate))
    for decision, cause in view.get("duplicate_decisions", {}).items():
        lines.append(f"note: decision {decision} repeats {cause}, decided before it in another clone; ignored")
    if view.get("future_events"):
        lines.append(
            f"warning: {view['future_events']} ledger events are dated in the future; they are ignored until "
            "then (another clone's clock runs ahead, or a pinned one did)"
        )
    lines += [f"warning: {problem}" for problem in view["problems"]]
    return "\n".join(warning_prefix(line) for line in lines)


def _cost_text(cost: Mapping[str, Any] | None, unpriced: Sequence[str]) -> str:
    """``$1.20, cache hit rate 80.0%``; ``at least $1.20, ...; 1 unpriced model (X) counted as $0``."""
    if not cost:
        return "-"
    text = f"${cost['total_usd']:.2f}, cache hit rate {_percent(cost['cache_hit_rate'])}"
    return f"at least {text}; {undercount(unpriced)} (set cost.prices)" if unpriced else text


def teammate_line(mate: Mapping[str, Any]) -> str:
    """``teammate docs-bot in worktree docs: last reported working (sonnet, task t-2) at TS; ...``."""
    details = ", ".join(
        part for part in (mate.get("tier"), f"task {mate['task']}" if mate.get("task") else None) if part
    )
    handoff = mate.get("handoff") or {}
    note = f"; its handoff {handoff.get('id')} at {handoff.get('step')} is not carried out here" if handoff else ""
    return (
        f"teammate {mate['agent']} {mate['where']}: last reported {mate['reported']}"
        + (f" ({details})" if details else "")
        + f" at {mate['since']}{note}"
    )


def _budget_text(budget: Mapping[str, Any]) -> str:
    """One budget for `status`: ``task bd-7: $16.50 of $20 (82%): warning`` (``at least $16.50``
    and the count of unpriced models when some are counted as $0)."""
    key = "" if budget["scope"] == "agent" else f" {budget['key']}"
    level = {"ok": "", "warn": ": warning", "over": ": limit reached"}[budget["level"]]
    unpriced = budget.get("unpriced_models") or []
    spent = f"{'at least ' if unpriced else ''}${budget['spent_usd']:.2f}"
    share = f"{budget['share'] * 100:.0f}%" + (f"; {len(unpriced)} unpriced" if unpriced else "")
    return f"{budget['scope']}{key}: {spent} of ${budget['limit_usd']:g} ({share}){level}"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def yaml_scalar(value: Any) -> str:
    if isinstance(value, str):
        return value if value and value.strip() == value and ":" not in value else json.dumps(value)
    return json.dumps(value)


def render_classification(item: dict[str, Any]) -> str:
    lines = [f"{item['task']}: {item['level']} (source {item['source']}, confidence {item['confidence']:g})"]
    lines += [f"  - {reason}" for reason in item["reasons"]]
    return "\n".join(lines)


def render_whatif(data: dict[str, Any]) -> str:

    def turns(value: float | None) -> str:
        return "never" if value is None else f"{value:.2f}"

    head = (
        f"{data['from_model']} -> {data['to_model']}: {data['context_tokens']:,} tokens warm, "
        f"{data['output_per_turn']:,} output/turn, {data['turns']} turns, "
        f"packet {data['handoff_tokens']:,} + start-up {data['overhead_tokens']:,} tokens, "
        f"{data['cache_ttl']} cache writes"
    )

    def usd(value: float) -> str:
        return f"-${-value:.4f}" if value < 0 else f"${value:.4f}"

    rows = []
    for key, label in (("stay", "stay"), ("switch", "switch mid-session"), ("fresh", "fresh session + packet")):
        option = data[key]
        rows.append(
            [
                label,
                usd(option["premium_usd"]),
                usd(option["per_turn_usd"]),
                usd(option["total_usd"]),
                "-" if key == "stay" else turns(option["break_even_turns"]),
                "-" if key == "stay" else usd(option["saving_usd"]),
            ]
        )
    body = table(["option", "one-time", "per turn", "total", "break-even turns", "saving"], rows, right=(1, 2, 3, 4, 5))
    return f"{head}\n\n{body}\n\nverdict: {data['verdict']}"


def render_tick(reports: list[dict[str, Any]]) -> str:
    lines = []
    for report in reports:
        head = report["workspace"]
        if report["skipped"]:
            lines.append(f"{head}: {report['skipped']}")
            continue
        parts = []
        for task in report["tasks"]:
            parts.append(f"task {task['task']} is now {task['status']}")
        for verified in report.get("verifications") or []:
            word = {"pending": "started", "pass": "passed", "fail": "failed", "error": "failed to run"}
            parts.append(f"verification of {verified['task']} {word.get(verified['result'], verified['result'])}")
        for decision in report["decisions"]:
            parts.append(
                f"decision {decision.get('id', '(dry run)')}: {decision.get('summary') or proposal_text(decision)}"
            )
        if report["handoff"]:
            h = report["handoff"]
            parts.append(
                f"handoff {h['id']} ({h['from']} -> {h['to']}) at {h['step']}"
                + (f": {h['reason']}" if h.get("reason") else "")
            )
        if report.get("brief"):
            parts.append(_brief_text(report["brief"]))
        written = report.get("ledger_events") or {}
        if written:
            counts = ", ".join(f"{kind} {count}" for kind, count in written.items())
            parts.append(f"recorded {sum(written.values())} ledger events ({counts})")
        if report.get("held") and report.get("signals"):
            parts.append(f"{report['held']}: recorded {report['signals']} events locally")
        elif report.get("signals"):
            parts.append(f"recorded {report['signals']} events in the local spool")
        if report.get("cost_usd") is not None and written.get("cost"):
            parts.append(f"cost now {money(report['cost_usd'])}")
        if report.get("subagents"):
            parts.append(f"subagents updated ({', '.join(report['subagents'])})")
        if report["state_md_changed"]:
            parts.append("STATE.md updated")
        if report["commit"]:
            parts.append(f"committed {report['commit']}")
        lines.append(f"{head}: " + ("; ".join(parts) if parts else "nothing new"))
        lines += [warning_prefix(f"  warning: {problem}") for problem in report["problems"]]
    return "\n".join(lines)


def _brief_text(brief: dict[str, Any]) -> str:
    action = {"next_task": f"its next task is {brief.get('task')}", "idle": "nothing is ready: stop", "stop": "stop"}
    said = action.get(str(brief["action"]), str(brief["action"]))
    if brief["action"] == "stop":
        return f"stopped the agent ({brief.get('how')})"
    return f"told the agent: {said}" if brief.get("sent") else f"the agent was not told ({brief.get('note')})"


def proposal_text(decision: dict[str, Any]) -> str:
    move = f"{decision.get('from_tier')} -> {decision.get('to_tier')}"
    return f"{decision['trigger']}: {move} {decision['status']}: {decision['reason']}"


def render_install(data: dict[str, Any]) -> str:
    lines = [f"updated {p}" for p in data["changed"]] + [f"removed {p}" for p in data["removed"]]
    lines += [f"unchanged {p}" for p in data["unchanged"]]
    return "\n".join(lines) or "nothing to do"
