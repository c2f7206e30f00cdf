"""`cloisterctl spawn`, `stop`, `handoff` and `agents`."""

from __future__ import annotations

from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env, safe_name


@click.command()
@click.argument("task", required=False, callback=safe_name("task id"))
@click.option("--tier", metavar="TIER", help="Start on this tier (or model) instead of routing.")
@click.option("--role", metavar="ROLE", help="Route for a role (planning, test-agent, ...).")
@json_option
@pass_env
def spawn(env: Env, task: str | None, tier: str | None, role: str | None, as_json: bool) -> int:
    """Route TASK and start the agent on it in tmux, from a start packet."""
    from cloisterctl.agents.control import spawn as run

    if tier and role:
        raise click.UsageError("--tier and --role exclude each other")
    result = run(env.context(), task, tier=tier, role=role)
    return emit(
        result,
        as_json,
        lambda d: (
            f"started {d['agent']} on {d['tier']} ({d['model']}) in tmux session {d['tmux']}; "
            f"session {d['session']}; packet {d['packet']}"
        ),
    )


@click.command()
@click.argument("agent", callback=safe_name("agent name"))
@json_option
@pass_env
def stop(env: Env, agent: str, as_json: bool) -> int:
    """Stop AGENT's session: exit text, then interrupt, then kill; verified gone."""
    from cloisterctl.agents.control import check_agent
    from cloisterctl.agents.control import stop as run

    ctx = env.context()
    check_agent(ctx, agent)
    return emit(run(ctx), as_json, lambda d: f"stopped {d['agent']} ({d['how']})", chatter=True)


@click.command()
@click.argument("agent", callback=safe_name("agent name"))
@click.option("--to", "target", required=True, metavar="TIER|MODEL|ROLE", help="Where to move the agent.")
@click.option("--reason", required=True, metavar="TEXT", help="Why (goes into the packet and the ledger).")
@click.option("--no-wait", is_flag=True, help="Start the handoff and leave the rest to tick.")
@json_option
@pass_env
def handoff(env: Env, agent: str, target: str, reason: str, no_wait: bool, as_json: bool) -> int:
    """Move AGENT to another tier: save state, capture a packet, stop, spawn (the engine triggers use)."""
    from cloisterctl.agents.control import check_agent, manual_handoff

    ctx = env.context()
    check_agent(ctx, agent)
    result = manual_handoff(ctx, target, reason, wait=not no_wait)

    def render(d: dict[str, Any]) -> str:
        lines = [f"decision {d['decision']}: {d['summary']}"]
        if d.get("economics"):
            lines.append(f"economics: {d['economics']['verdict']}")
        if d["handoff"]:
            h = d["handoff"]
            lines.append(f"handoff {h['id']}: {h['step']}" + (f" ({h['reason']})" if h.get("reason") else ""))
        elif d.get("note"):
            lines.append(d["note"])
        return "\n".join(lines)

    emit(result, as_json, render)
    return 1 if result["handoff"] and result["handoff"]["step"] == "failed" else 0


@click.command()
@click.option("--all", "every", is_flag=True, help="Every workspace tick --all covers.")
@json_option
@pass_env
def agents(env: Env, every: bool, as_json: bool) -> int:
    """List the agents: status, tier, model, task, tmux session, and whether its process is alive,
    stopped or dead (asked of tmux now, not taken from the ledger)."""
    from cloisterctl.agents.control import listing
    from cloisterctl.cli.render import table
    from cloisterctl.ledger.context import Context
    from cloisterctl.workspace.covered import all_workspaces

    ctx = env.context()
    targets = all_workspaces(ctx.ws, ctx.config) if every else [ctx.ws]
    rows = [listing(ctx if target == ctx.ws else Context.for_workspace(target)) for target in targets]

    def render(items: list[dict[str, Any]]) -> str:
        return table(
            ["agent", "status", "tier", "model", "task", "process", "tmux", "workspace"],
            [
                [r["agent"], r["status"], r["tier"], r["model"], r["task"], r["runtime"], r["tmux"], r["workspace"]]
                for r in items
            ],
        )

    return emit(rows, as_json, render)


@click.group()
def flags() -> None:
    """An agent's flags (stuck, test_failure, bleed, ...): list them, or clear them by hand.

    A flag also clears when its cause does: a passing test run clears test_failure, new activity
    clears stuck, any progress clears bleed, a new task clears all three."""


@flags.command("list")
@json_option
@pass_env
def flags_list(env: Env, as_json: bool) -> int:
    """The agent's flags and since when."""
    from cloisterctl.triggers.flags import list_flags

    def render(d: dict[str, Any]) -> str:
        return "\n".join(f"{name} since {since}" for name, since in d["flags"].items()) or f"{d['agent']}: no flags"

    return emit(list_flags(env.context()), as_json, render)


@flags.command("clear")
@click.argument("agent", callback=safe_name("agent name"))
@click.argument("names", nargs=-1, metavar="[FLAG]...")
@click.option("--reason", metavar="TEXT", help="Why, for the ledger.")
@json_option
@pass_env
def flags_clear(env: Env, agent: str, names: tuple[str, ...], reason: str | None, as_json: bool) -> int:
    """Clear AGENT's flags (all of them, or the FLAGs named); recorded in the ledger."""
    from cloisterctl.agents.control import check_agent
    from cloisterctl.triggers.flags import clear_flags

    ctx = env.context()
    check_agent(ctx, agent)
    result = clear_flags(ctx, names, reason)

    def render(d: dict[str, Any]) -> str:
        return f"cleared {', '.join(d['cleared'])}" if d["cleared"] else f"{d['agent']} has no flags"

    return emit(result, as_json, render)
