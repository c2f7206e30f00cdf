"""`cloisterctl replay FILE|--ledger`: a routing policy on tasks with known outcomes per tier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env

ROWS = ("all-haiku", "all-sonnet", "all-opus", "oracle")


def _line(name: str, resolved: float, tasks: int, cost: float, gain: float | None) -> list[Any]:
    share = f"{resolved * 100 / tasks:.1f}%" if tasks else "-"
    shown = resolved if isinstance(resolved, int) else f"{resolved:.1f}"  # an expectation over trials
    return [name, shown, share, f"{cost:,.2f}", "-" if gain is None else f"{gain:+.2f}"]


def render_replay(data: dict[str, Any]) -> str:
    from cloisterctl.cli.render import table

    options = data["options"]
    head = (
        f"policy {options['policy']}, escalate {options['escalate']}, detect {options['detect']:g}, "
        f"seed {options['seed']}: {data['totals']['tasks']} tasks"
    )
    blocks = [head]
    sections = [("all", data["totals"], data["baselines"])]
    sections += [(level, part["totals"], part["baselines"]) for level, part in data["levels"].items()]
    for name, totals, baselines in sections:
        rows = [_line("policy", totals["resolved"], totals["tasks"], totals["cost"], totals["gain"])]
        rows += [
            _line(b, baselines[b]["resolved"], totals["tasks"], baselines[b]["cost"], baselines[b]["gain"])
            for b in ROWS
        ]
        starts = ", ".join(f"{tier} {count}" for tier, count in totals["start_tiers"].items() if count)
        blocks.append(
            f"\n{name} ({totals['tasks']} tasks; starts: {starts}; escalations {totals['escalations']})\n"
            + table(["", "resolved", "success", "cost", "gain"], rows, right=(1, 2, 3, 4))
        )
    metrics = data["metrics"]
    parity = (
        f"cost at parity {metrics['cost_at_parity']:.1f}%"
        if metrics["cost_at_parity"] is not None
        else f"below parity by {metrics['below_parity']:.1f} points"
    )
    blocks.append(
        f"\nthis order: success {metrics['success_pct']:.1f}% of all-opus at {metrics['cost_pct']:.1f}% of its cost; "
        f"{parity}; success at all-sonnet's budget {metrics['success_at_sonnet_budget']:.1f}%"
    )
    if "orders" in data:
        from cloisterctl.routing.replay_metrics import describe

        blocks.extend(describe(data["orders"]))
    blocks.append("\ngain: success minus the best mix of single tiers at the same cost, in points of all-opus success")
    return "\n".join(blocks)


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--ledger", is_flag=True, help="Replay this workspace's own recorded tasks instead of a FILE.")
@click.option(
    "--last",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="With --ledger: the last N tasks (0: all).",
)
@click.option("--policy", type=click.Choice(["static", "adaptive"]), help="Routing policy (default: routing.policy).")
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), help="Replay under this config file."
)
@click.option(
    "--escalate",
    type=click.Choice(["none", "on-failure"]),
    default="none",
    show_default=True,
    help="on-failure: a noticed failure moves the task one tier up.",
)
@click.option(
    "--detect",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Probability a failed attempt is noticed.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for which trial is drawn and which failures are noticed.",
)
@click.option(
    "--orders",
    type=click.IntRange(min=0, max=1000),
    default=0,
    show_default=True,
    help="Also replay N seeded shuffles and report every figure as mean +- sd (the policy learns online).",
)
@click.option(
    "--handoff",
    type=click.FloatRange(min=0),
    help="What one escalation costs the policy, in the file's cost unit (default: routing.handoff_usd for "
    "USD costs, else 0).",
)
@json_option
@pass_env
def replay(
    env: Env,
    file: Path | None,
    ledger: bool,
    last: int,
    policy: str | None,
    config_file: Path | None,
    escalate: str,
    detect: float,
    seed: int,
    orders: int,
    handoff: float | None,
    as_json: bool,
) -> int:
    """Replay tasks with known outcomes per tier (JSON lines FILE, or --ledger) through the real
    classifier, router and escalation ladder; report success, cost and routing gain against every
    single tier and the oracle, overall and per level."""
    from cloisterctl.routing.replay import Options
    from cloisterctl.routing.replay_run import config_for, replay_file, replay_ledger

    if (file is None) == (not ledger):
        raise click.UsageError("give a FILE or --ledger (not both)")
    options = Options(policy, escalate, detect, seed, handoff)
    if ledger:
        ctx = env.context()
        result = replay_ledger(ctx, config_for(config_file, ctx.config), options, last, orders)
    else:
        assert file is not None
        result = replay_file(file, config_for(config_file, env.config()), options, orders)
    return emit(result, as_json, render_replay)
