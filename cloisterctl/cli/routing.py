"""`cloisterctl classify`, `complexity get|set`, `route` and `whatif`."""

from __future__ import annotations

from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env, safe_name
from cloisterctl.models.tiers import LEVELS


def _routing_context(env: Env) -> tuple[Any, Any]:
    from cloisterctl.routing.route import tracker_for

    ctx = env.context(initialised=False)
    return ctx, tracker_for(ctx.ws, ctx.config)


@click.group()
def complexity() -> None:
    """Read or set a task's explicit complexity (trivial, simple, medium, complex, expert)."""


@complexity.command("get")
@click.argument("task", callback=safe_name("task id"))
@json_option
@pass_env
def complexity_get(env: Env, task: str, as_json: bool) -> int:
    """Show TASK's complexity: the explicit level if it has one, else the detected one."""
    from cloisterctl.cli.render import render_classification
    from cloisterctl.routing.route import classify_task

    ctx, tracker = _routing_context(env)
    return emit(classify_task(ctx.ws, ctx.config, tracker, task).as_dict(), as_json, render_classification)


@complexity.command("set")
@click.argument("task", callback=safe_name("task id"))
@click.argument("level", type=click.Choice(LEVELS))
@json_option
@pass_env
def complexity_set(env: Env, task: str, level: str, as_json: bool) -> int:
    """Set TASK's complexity: `bd update --set-metadata` plus a complexity:LEVEL label with bd,
    else .cloister/complexity.yaml (committed)."""
    from cloisterctl.routing.route import set_complexity

    ctx, tracker = _routing_context(env)
    result = set_complexity(ctx, tracker, task, level)

    def render(data: dict[str, Any]) -> str:
        where = "bd metadata and label" if data["via"] == "bd" else ".cloister/complexity.yaml"
        return "\n".join(
            [f"{data['task']}: complexity {data['level']} ({where})", *[f"note: {n}" for n in data["notes"]]]
        )

    return emit(result, as_json, render)


@click.command()
@click.argument("task", required=False, callback=safe_name("task id"))
@click.option("--all", "every", is_flag=True, help="Classify every task in the tracker.")
@json_option
@pass_env
def classify(env: Env, task: str | None, every: bool, as_json: bool) -> int:
    """Detect the complexity of TASK (or --all tasks): level, confidence, source and reasons."""
    from cloisterctl.cli.render import render_classification, table
    from cloisterctl.routing.route import classify_all, classify_task

    if bool(task) == every:
        raise click.UsageError("give a TASK or --all (not both)")
    ctx, tracker = _routing_context(env)
    if task:
        return emit(classify_task(ctx.ws, ctx.config, tracker, task).as_dict(), as_json, render_classification)
    results = classify_all(ctx.ws, ctx.config, tracker)
    data = [{**found.as_dict(), "title": t.title, "status": t.status} for t, found in results]

    def render(rows: list[dict[str, Any]]) -> str:
        return table(
            ["task", "level", "conf", "source", "status", "title"],
            [
                [r["task"], r["level"], f"{r['confidence']:.2f}", r["source"], r["status"], r["title"][:60]]
                for r in rows
            ],
        )

    return emit(data, as_json, render)


@click.command()
@click.argument("task", callback=safe_name("task id"))
@click.option("--role", metavar="ROLE", help="Route for a role (planning, test-agent, ...) instead of by complexity.")
@click.option("--record", is_flag=True, help="Write the decision to the ledger and STATE.md.")
@json_option
@pass_env
def route(env: Env, task: str, role: str | None, record: bool, as_json: bool) -> int:
    """Route TASK to a tier and model, and say which rule decided and why."""
    from cloisterctl.routing.route import record_route, route_task

    ctx, tracker = _routing_context(env)
    result = route_task(ctx, tracker, task, role)
    if record:
        record_route(ctx, result)

    def render(data: dict[str, Any]) -> str:
        lines = [f"{data['task']} -> {data['tier']} ({data['model']}) by {data['rule']}"]
        lines += [f"  - {reason}" for reason in data["reasons"]]
        if data.get("adaptive"):
            lines.append(f"  adaptive policy, level {data['adaptive']['level']}:")
            for row in data["adaptive"]["tiers"]:
                guard = "" if row["allowed"] else "  (excluded by routing.min_success)"
                lines.append(
                    f"    {row['tier']:<6}  p={row['p']:.2f} (n={row['n']})  c={row['c']:.4g} ({row['c_from']}, "
                    f"n={row['c_n']})  E={row['E']:.4g}{guard}"
                )
        if record:
            lines.append("recorded in the ledger (.cloister/ledger/) and STATE.md")
        return "\n".join(lines)

    return emit(result.as_dict(), as_json, render)


class TokenCount(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A token count as people write it: 100000, 100_000, 100K, 1.5M."""

    name = "tokens"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().replace("_", "").replace(",", "")
        scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
        number = text[:-1] if scale != 1 else text
        try:
            count = float(number)
        except ValueError:
            self.fail(f"{value!r} is not a token count (e.g. 100000, 100K, 1.5M)", param, ctx)
        if not 0 <= count * scale <= 10**9:
            self.fail(f"{value!r} is not a plausible token count", param, ctx)
        return round(count * scale)


@click.command()
@click.option("--from", "from_model", required=True, metavar="MODEL", help="Model (or tier) the work is on now.")
@click.option("--to", "to_model", required=True, metavar="MODEL", help="Model (or tier) it would move to.")
@click.option(
    "--context",
    "context_tokens",
    required=True,
    type=TokenCount(),
    metavar="TOKENS",
    help="Warm context on the current model, in tokens (100000, 100K, 1.5M).",
)
@click.option(
    "--output-per-turn",
    type=TokenCount(),
    metavar="N",
    help="Output tokens per turn (config cost.turn_output_tokens).",
)
@click.option(
    "--turns", type=click.IntRange(min=1), metavar="N", help="Turns expected to remain (config cost.remaining_turns)."
)
@click.option(
    "--handoff-tokens",
    type=TokenCount(),
    metavar="N",
    help="Handoff packet size (config handoffs.packet.budget_tokens).",
)
@click.option(
    "--overhead",
    "overhead_tokens",
    type=TokenCount(),
    metavar="N",
    help="What a fresh session reads before the packet (config cost.session_overhead_tokens).",
)
@click.option("--cache-ttl", type=click.Choice(["5m", "1h"]), help="Cache write TTL (config cost.cache_ttl).")
@json_option
@pass_env
def whatif(
    env: Env,
    from_model: str,
    to_model: str,
    context_tokens: int,
    output_per_turn: int | None,
    turns: int | None,
    handoff_tokens: int | None,
    overhead_tokens: int | None,
    cache_ttl: str | None,
    as_json: bool,
) -> int:
    """Cost of staying, of a mid-session switch, and of a fresh session from a handoff packet,
    with the break-even turns of each and a verdict."""
    from cloisterctl.cli.render import render_whatif
    from cloisterctl.routing.economics import whatif as compute
    from cloisterctl.routing.route import price_of

    config = env.config()
    defaults = config.whatif_defaults
    result = compute(
        price_of(config, from_model),
        price_of(config, to_model),
        context_tokens=context_tokens,
        output_per_turn=defaults.output_per_turn if output_per_turn is None else output_per_turn,
        turns=defaults.turns if turns is None else turns,
        handoff_tokens=defaults.handoff_tokens if handoff_tokens is None else handoff_tokens,
        overhead_tokens=defaults.overhead_tokens if overhead_tokens is None else overhead_tokens,
        cache_ttl=cache_ttl or defaults.cache_ttl,
    )
    return emit(result.as_dict(), as_json, render_whatif)
