"""The command line. Each command parses its options, calls one function, and prints.

Every CloisterError, from any command, becomes one line on stderr and exit code 1 here, in
``CloisterGroup.invoke``; click turns usage mistakes into exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cloisterctl import __version__
from cloisterctl.errors import CloisterError


class CloisterGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CloisterError as exc:
            click.echo(f"cloisterctl: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


class Env:
    """What every command needs: the directory it runs in, and lazily, workspace and config."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def workspace(self, *, initialised: bool = True) -> Any:
        from cloisterctl.workspace import find_workspace

        ws = find_workspace(self.directory)
        if initialised:
            ws.require_initialised()
        return ws

    def config(self, ws: Any | None = None) -> Any:
        from cloisterctl.config import load_config

        return load_config(ws.config_path if ws is not None else None)


pass_env = click.make_pass_decorator(Env)


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    from cloisterctl.output import dumps

    click.echo(dumps(data) if as_json else render(data))


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group(cls=CloisterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="Run as if started in DIR (like git -C).",
    metavar="DIR",
)
@click.version_option(__version__, "--version", prog_name="cloisterctl")
@click.pass_context
def cli(ctx: click.Context, directory: Path) -> None:
    """Route coding-agent work to the cheapest model tier that can do it, hand work between
    tiers through reviewable files, and track what it costs.

    State lives in the repo: STATE.md front matter and the .cloister/ ledger.
    """
    ctx.obj = Env(directory)


# ---------------------------------------------------------------------------------- init/status


@cli.command()
@click.option("--agent", metavar="NAME", help="Name of the agent working here (default: the directory name).")
@json_option
@pass_env
def init(env: Env, agent: str | None, as_json: bool) -> None:
    """Set up STATE.md and .cloister/ in this git work tree (idempotent, never overwrites)."""
    from dataclasses import asdict

    from cloisterctl.clock import now
    from cloisterctl.init_workspace import init as run_init

    ws = env.workspace(initialised=False)
    config = env.config(ws if ws.config_path.exists() else None)
    report = run_init(ws, agent, now(), timeout=config.lock_timeout)

    def render(data: dict[str, Any]) -> str:
        lines = [f"cloister workspace: {data['workspace']} (agent {data['agent']})"]
        lines += [f"  created {name}" for name in data["created"]]
        lines += [f"  updated {name}" for name in data["updated"]]
        lines += [f"  kept    {name}" for name in data["kept"]]
        return "\n".join(lines)

    emit(asdict(report), as_json, render)


@cli.command()
@json_option
@pass_env
def status(env: Env, as_json: bool) -> None:
    """Show the workspace's agent, tier, model, complexity, task, cost and last decision (read-only)."""
    from cloisterctl.status import render_status, status_view
    from cloisterctl.store import snapshot

    ws = env.workspace()
    emit(status_view(ws, snapshot(ws)), as_json, render_status)


# ---------------------------------------------------------------------------------- config


@cli.group(cls=CloisterGroup)
def config() -> None:
    """Show or check the effective configuration."""


@config.command("show")
@json_option
@pass_env
def config_show(env: Env, as_json: bool) -> None:
    """Print the effective config and where each value came from."""
    from cloisterctl.config import flatten
    from cloisterctl.output import dumps

    ws = _optional_workspace(env)
    effective = env.config(ws)
    if as_json:
        click.echo(dumps({"config": effective.data, "sources": effective.sources}))
        return
    for key, value, source in flatten(effective):
        click.echo(f"{key} = {_yaml_scalar(value)}  # {source}")


@config.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_env
def config_validate(env: Env, files: tuple[Path, ...], as_json: bool) -> None:
    """Check the config files in effect (or FILES); report every problem with file, key and line."""
    from cloisterctl.config import collect_layers, defaults_layer, parse_yaml_layer, validate_layers

    problems: list[Any]
    if files:
        problems = []
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CloisterError(f"{path}: cannot read: {exc.strerror}") from None
            layer, found = parse_yaml_layer(text, str(path))
            problems += found + validate_layers([defaults_layer(), layer])
        checked = [str(p) for p in files]
    else:
        ws = _optional_workspace(env)
        layers, problems = collect_layers(ws.config_path if ws is not None else None)
        problems += validate_layers(layers)
        checked = [layer.source for layer in layers if layer.source != "default"]
    if as_json:
        from cloisterctl.output import dumps

        click.echo(dumps({"checked": checked, "valid": not problems, "problems": [str(p) for p in problems]}))
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
        if not problems:
            click.echo(f"config ok ({', '.join(checked) or 'built-in defaults only'})")
    if problems:
        sys.exit(1)


# ---------------------------------------------------------------------------------- routing


def _routing_env(env: Env) -> tuple[Any, Any, Any]:
    from cloisterctl.routing import tracker_for

    ws = env.workspace(initialised=False)
    config = env.config(ws)
    return ws, config, tracker_for(ws, config)


def _render_classification(item: dict[str, Any]) -> str:
    lines = [f"{item['task']}: {item['level']} (source {item['source']}, confidence {item['confidence']:g})"]
    lines += [f"  - {reason}" for reason in item["reasons"]]
    return "\n".join(lines)


@cli.group(cls=CloisterGroup)
def complexity() -> None:
    """Read or set a task's explicit complexity (trivial, simple, medium, complex, expert)."""


@complexity.command("get")
@click.argument("task")
@json_option
@pass_env
def complexity_get(env: Env, task: str, as_json: bool) -> None:
    """Show TASK's complexity: the explicit level if it has one, else the detected one."""
    from cloisterctl.routing import classify_task

    ws, config, tracker = _routing_env(env)
    emit(classify_task(ws, config, tracker, task).as_dict(), as_json, _render_classification)


@complexity.command("set")
@click.argument("task")
@click.argument("level", type=click.Choice(["trivial", "simple", "medium", "complex", "expert"]))
@json_option
@pass_env
def complexity_set(env: Env, task: str, level: str, as_json: bool) -> None:
    """Set TASK's complexity: `bd update --set-metadata` plus a complexity:LEVEL label with bd,
    else .cloister/complexity.yaml (committed)."""
    from cloisterctl.clock import now
    from cloisterctl.routing import set_complexity

    ws, config, tracker = _routing_env(env)
    result = set_complexity(ws, config, tracker, task, level, now())

    def render(data: dict[str, Any]) -> str:
        where = "bd metadata and label" if data["via"] == "bd" else ".cloister/complexity.yaml"
        return "\n".join(
            [f"{data['task']}: complexity {data['level']} ({where})", *[f"note: {n}" for n in data["notes"]]]
        )

    emit(result, as_json, render)


@cli.command()
@click.argument("task", required=False)
@click.option("--all", "every", is_flag=True, help="Classify every task in the tracker.")
@json_option
@pass_env
def classify(env: Env, task: str | None, every: bool, as_json: bool) -> None:
    """Detect the complexity of TASK (or --all tasks): level, confidence, source and reasons."""
    from cloisterctl.routing import classify_all, classify_task

    if bool(task) == every:
        raise click.UsageError("give a TASK or --all (not both)")
    ws, config, tracker = _routing_env(env)
    if task:
        emit(classify_task(ws, config, tracker, task).as_dict(), as_json, _render_classification)
        return
    results = classify_all(ws, config, tracker)
    data = [{**found.as_dict(), "title": t.title, "status": t.status} for t, found in results]

    def render(rows: list[dict[str, Any]]) -> str:
        from cloisterctl.output import table

        return table(
            ["task", "level", "conf", "source", "status", "title"],
            [
                [r["task"], r["level"], f"{r['confidence']:.2f}", r["source"], r["status"], r["title"][:60]]
                for r in rows
            ],
        )

    emit(data, as_json, render)


@cli.command()
@click.argument("task")
@click.option("--role", metavar="ROLE", help="Route for a role (planning, test-agent, ...) instead of by complexity.")
@click.option("--record", is_flag=True, help="Write the decision to the ledger and STATE.md.")
@json_option
@pass_env
def route(env: Env, task: str, role: str | None, record: bool, as_json: bool) -> None:
    """Route TASK to a tier and model, and say which rule decided and why."""
    from cloisterctl.clock import now
    from cloisterctl.routing import record_route, route_task

    ws, config, tracker = _routing_env(env)
    result = route_task(ws, config, tracker, task, role)
    if record:
        record_route(ws, config, result, now())

    def render(data: dict[str, Any]) -> str:
        lines = [f"{data['task']} -> {data['tier']} ({data['model']}) by {data['rule']}"]
        lines += [f"  - {reason}" for reason in data["reasons"]]
        if record:
            lines.append("recorded in .cloister/ledger.jsonl and STATE.md")
        return "\n".join(lines)

    emit(result.as_dict(), as_json, render)


@cli.command()
@click.option("--from", "from_model", required=True, metavar="MODEL", help="Model (or tier) the work is on now.")
@click.option("--to", "to_model", required=True, metavar="MODEL", help="Model (or tier) it would move to.")
@click.option(
    "--context",
    "context_tokens",
    required=True,
    type=click.IntRange(min=0),
    metavar="TOKENS",
    help="Warm context on the current model, in tokens.",
)
@click.option(
    "--output-per-turn",
    type=click.IntRange(min=0),
    metavar="N",
    help="Output tokens per turn (config cost.turn_output_tokens).",
)
@click.option(
    "--turns", type=click.IntRange(min=1), metavar="N", help="Turns expected to remain (config cost.remaining_turns)."
)
@click.option(
    "--handoff-tokens",
    type=click.IntRange(min=0),
    metavar="N",
    help="Handoff packet size (config handoffs.packet.budget_tokens).",
)
@click.option(
    "--overhead",
    "overhead_tokens",
    type=click.IntRange(min=0),
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
) -> None:
    """Cost of staying, of a mid-session switch, and of a fresh session from a handoff packet,
    with the break-even turns of each and a verdict."""
    from cloisterctl.economics import whatif as compute
    from cloisterctl.routing import price_of

    ws = _optional_workspace(env)
    config = env.config(ws)
    result = compute(
        price_of(config, from_model),
        price_of(config, to_model),
        context_tokens=context_tokens,
        output_per_turn=output_per_turn
        if output_per_turn is not None
        else int(config.get("cost", "turn_output_tokens")),
        turns=turns if turns is not None else int(config.get("cost", "remaining_turns")),
        handoff_tokens=handoff_tokens
        if handoff_tokens is not None
        else int(config.get("handoffs", "packet", "budget_tokens")),
        overhead_tokens=overhead_tokens
        if overhead_tokens is not None
        else int(config.get("cost", "session_overhead_tokens")),
        cache_ttl=cache_ttl or str(config.get("cost", "cache_ttl")),
    )
    emit(result.as_dict(), as_json, _render_whatif)


def _render_whatif(data: dict[str, Any]) -> str:
    from cloisterctl.output import table

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


# ---------------------------------------------------------------------------------- cost


# ---------------------------------------------------------------------------------- demo


@cli.command()
@click.option(
    "--dir",
    "parent",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where to make the throwaway repo (default: the system temp directory).",
)
@json_option
def demo(parent: Path | None, as_json: bool) -> None:
    """Play the built-in demo in a throwaway repo and say what happened; the repo is left for inspection."""
    from cloisterctl.demo import run_demo
    from cloisterctl.output import dumps

    result = run_demo(parent, (lambda _line: None) if as_json else click.echo)
    if as_json:
        click.echo(dumps(result))
    else:
        click.echo(f"\nThe workspace is left at {result['workspace']} for you to look at.")


def _optional_workspace(env: Env) -> Any | None:
    from cloisterctl.errors import WorkspaceError

    try:
        return env.workspace(initialised=False)
    except WorkspaceError:
        return None


def _yaml_scalar(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value if value and value.strip() == value and ":" not in value else json.dumps(value)
    return json.dumps(value)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="cloisterctl", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
