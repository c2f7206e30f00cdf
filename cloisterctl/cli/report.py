"""`cloisterctl report routing [--all] [--html FILE]`: how each tier did per complexity level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env


@click.group()
def report() -> None:
    """Reports on what the ledger recorded."""


def render_routing(data: dict[str, Any]) -> str:
    from cloisterctl.cli.render import table

    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.0f}%"

    if not data["cells"]:
        return "\n".join(["no finished attempts recorded yet (see `cloisterctl outcomes`)", *render_detection(data)])
    rows = [
        [
            c["level"],
            c["tier"],
            c["attempts"],
            rate(c["success_rate"]),
            "-" if c["interval"] is None else f"{rate(c['interval'][0])}-{rate(c['interval'][1])}",
            rate(c["escalation_rate"]),
            "-" if c["cost_per_success"] is None else f"${c['cost_per_success']:.4f}",
        ]
        for c in data["cells"]
    ]
    lines = [table(["level", "tier", "attempts", "success", "95% interval", "escalated", "cost/success"], rows)]
    for level in data["levels"]:
        lines.append(f"\n{level['level']}: static {level['static_tier']}, best start tier {level['best_start_tier']}")
        for row in level["tiers"]:
            lines.append(
                f"  {row['tier']:<6} p={row['p']:.2f} (n={row['n']})  c={row['c']:.4g} ({row['c_from']}, "
                f"n={row['c_n']})  E={row['E']:.4g}" + ("" if row["allowed"] else "  (excluded by routing.min_success)")
            )
        if level["recommend"]:
            lines.append(f"  recommend: {level['recommend']}")
    return "\n".join([*lines, *render_detection(data)])


def render_detection(data: dict[str, Any]) -> list[str]:
    """The verification results and the recall of failure detection per tier, with its interval."""
    section = data.get("detection")
    if not section:
        return []
    results = section["results"]
    counts = ", ".join(
        f"{results[key]} {word}"
        for key, word in (("pending", "pending"), ("pass", "passed"), ("fail", "failed"), ("error", "failed to run"))
    )
    lines = ["", f"verification: {counts}" if section["configured"] else "verification: not configured"]
    if not section["rows"]:
        lines.append("detection: recall unknown (no failure caught or missed yet)")
    for row in section["rows"]:
        interval = "" if row["interval"] is None else f" (95% {row['interval'][0]:.2f}-{row['interval'][1]:.2f})"
        recall = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        lines.append(
            f"detection {row['tier']:<6} caught {row['caught']}, missed {row['missed']}: recall {recall}{interval}"
        )
    return lines


@report.command("routing")
@click.option("--all", "every", is_flag=True, help="Every workspace `tick --all` covers (worktrees, tick.workspaces).")
@click.option("--html", type=click.Path(path_type=Path, dir_okay=False), help="Write a self-contained page to FILE.")
@json_option
@pass_env
def routing(env: Env, every: bool, html: Path | None, as_json: bool) -> int:
    """Per complexity level x tier: attempts, success rate with a 95% interval, escalation rate,
    cost per successful task; per level the cheapest adequate start tier and the config change
    it recommends."""
    from cloisterctl.routing.report_gather import routing_data

    ctx = env.context()
    data = routing_data(ctx, every)
    if html is not None:
        from cloisterctl.routing.report_page import write_routing_page

        write_routing_page(html, data, ctx.clock())
        return emit({"html": str(html)}, as_json, lambda d: f"routing report written to {d['html']}")
    return emit(data, as_json, render_routing)
