"""`cloisterctl outcomes [--since DATE]` and `outcomes verify TASK pass|fail`."""

from __future__ import annotations

from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env, safe_name


def render_outcomes(data: dict[str, Any]) -> str:
    from cloisterctl.cli.render import table
    from cloisterctl.cost.reports import money

    rows = [
        [
            a["task"],
            a["level"] or "-",
            a["tier"],
            len(a["sessions"] or []),
            a["start"][:16],
            (a["end"] or "")[:16],
            "-" if a["cost_usd"] is None else money(a["cost_usd"]),
            a["ending"] + (f" ({a['trigger']})" if a["trigger"] else ""),
            "yes" if a["success"] else "no",
        ]
        for a in data["attempts"]
    ]
    if not rows:
        return "no attempts recorded yet (a route --record, a spawn or a handoff starts one)"
    lines = [table(["task", "level", "tier", "sessions", "start", "end", "cost", "ending", "success"], rows)]
    lines += [f"note: {problem}" for problem in data["problems"]]
    return "\n".join(lines)


@click.group(invoke_without_command=True)
@click.option("--since", metavar="DATE", help="Only attempts begun on or after DATE (YYYY-MM-DD or YYYYMMDD).")
@json_option
@pass_env
@click.pass_context
def outcomes(click_ctx: click.Context, env: Env, since: str | None, as_json: bool) -> int:
    """How each attempt at a task on a tier ended: closed, escalated (stuck, test failures,
    bleed), handed off, reopened, abandoned or still open; with its sessions, times and cost."""
    if click_ctx.invoked_subcommand is not None:
        return 0
    from cloisterctl.cost.reports import parse_date
    from cloisterctl.routing.outcomes import outcomes as report

    ctx = env.context()
    return emit(report(ctx, parse_date(since)), as_json, render_outcomes)


@outcomes.command("verify")
@click.argument("task", callback=safe_name("task id"))
@click.argument("result", type=click.Choice(["pass", "fail"]))
@click.option("--note", metavar="TEXT", help="Why (recorded with the verdict).")
@json_option
@pass_env
def verify(env: Env, task: str, result: str, note: str | None, as_json: bool) -> int:
    """Record the test-agent stage's verdict on TASK's work: a fail takes the success away from
    the attempt that closed it (or marks the running one)."""
    from cloisterctl.routing.outcomes import verify as record

    ctx = env.context()
    data = record(ctx, task, result, note)
    return emit(data, as_json, lambda d: f"{d['task']}: verification {d['result']} recorded in the ledger")
