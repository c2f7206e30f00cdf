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
        except OSError as exc:
            # Permissions, a full disk, a vanished directory: the file and the reason, not a traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"cloisterctl: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(1)


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


def _progress_bar() -> Any:
    """A progress bar for long transcript scans, only when both stdout and stderr are terminals."""
    if not (sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    from contextlib import contextmanager

    @contextmanager
    def bar(total: int) -> Any:
        with click.progressbar(length=total, label="reading transcripts", file=sys.stderr) as progress:
            yield progress.update

    return bar


@cli.command("cost")
@click.option(
    "--by",
    type=click.Choice(["agent", "model", "tier", "task", "session", "day", "project"]),
    default="model",
    show_default=True,
    help="What each row of the table is.",
)
@click.option("--since", metavar="DATE", help="Only usage on or after DATE (YYYY-MM-DD, UTC).")
@click.option(
    "--all", "all_projects", is_flag=True, help="Every Claude Code project on this machine, not only this one."
)
@click.option("--record", is_flag=True, help="Also write changed per-session checkpoints to the ledger and STATE.md.")
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a self-contained dashboard page to FILE instead of printing the table.",
)
@json_option
@pass_env
def cost_command(
    env: Env, by: str, since: str | None, all_projects: bool, record: bool, html: Path | None, as_json: bool
) -> None:
    """What the agents' work cost, from Claude Code transcripts and recorded usage: a table with a
    totals row and the prompt-cache hit rate (--json: the same data, total_usd at the top)."""
    from cloisterctl.clock import now

    ws = env.workspace()
    config = env.config(ws)
    if html is not None:
        from cloisterctl.dashboard import render_written, write_dashboard

        written = write_dashboard(
            ws, config, now(), html, since=since, all_projects=all_projects, record=record, progress=_progress_bar()
        )
        emit(written, as_json, render_written)
        return
    from cloisterctl.costs import cost_command as run_cost
    from cloisterctl.costs import render_report

    result = run_cost(
        ws,
        config,
        now(),
        by=by,
        since=since,
        all_projects=all_projects,
        record_checkpoints=record,
        progress=_progress_bar(),
    )
    emit(result, as_json, render_report)


@cli.group("usage", cls=CloisterGroup)
def usage_group() -> None:
    """Record token usage that no Claude Code transcript shows (other runtimes, claude -p results)."""


@usage_group.command("add")
@click.option("--model", required=True, metavar="MODEL", help="The model id (priced with the table).")
@click.option("--input", "input_tokens", type=click.IntRange(min=0), required=True, metavar="N")
@click.option("--output", "output_tokens", type=click.IntRange(min=0), required=True, metavar="N")
@click.option("--cache-read", type=click.IntRange(min=0), default=0, metavar="N")
@click.option("--cache-write-5m", type=click.IntRange(min=0), default=0, metavar="N")
@click.option("--cache-write-1h", type=click.IntRange(min=0), default=0, metavar="N")
@click.option("--requests", type=click.IntRange(min=1), default=1, metavar="N", help="How many requests these sum.")
@click.option("--session", metavar="ID", help="The session the usage belongs to.")
@click.option("--task", metavar="ID", help="The task (default: the agent's task at the time).")
@click.option("--agent", metavar="NAME", help="The agent (default: this workspace's).")
@click.option("--usd", type=click.FloatRange(min=0), help="The cost, for a model the price table does not know.")
@json_option
@pass_env
def usage_add(
    env: Env,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read: int,
    cache_write_5m: int,
    cache_write_1h: int,
    requests: int,
    session: str | None,
    task: str | None,
    agent: str | None,
    usd: float | None,
    as_json: bool,
) -> None:
    """Record one model's token usage from another runtime; it counts in cost and STATE.md."""
    from cloisterctl.clock import now
    from cloisterctl.costs import add_usage, render_recorded
    from cloisterctl.pricing import Usage

    ws = env.workspace()
    tokens = Usage(input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read)
    result = add_usage(
        ws,
        env.config(ws),
        now(),
        model=model,
        tokens=tokens,
        requests=requests,
        session=session,
        task=task,
        agent=agent,
        usd_override=usd,
    )
    emit(result, as_json, render_recorded)


@usage_group.command("import")
@click.argument("result_file", metavar="FILE", type=click.File("r", encoding="utf-8"))
@click.option("--task", metavar="ID", help="The task (default: the agent's task at the time).")
@click.option("--agent", metavar="NAME", help="The agent (default: this workspace's).")
@json_option
@pass_env
def usage_import(env: Env, result_file: Any, task: str | None, agent: str | None, as_json: bool) -> None:
    """Record what a `claude -p --output-format json` (or stream-json) run used, from its saved
    output FILE (- for stdin). Importing the same result twice records it once."""
    from cloisterctl.clock import now
    from cloisterctl.costs import import_claude_result, render_recorded

    ws = env.workspace()
    name = "stdin" if result_file.name == "<stdin>" else result_file.name
    result = import_claude_result(ws, env.config(ws), now(), result_file.read(), name, task=task, agent=agent)
    emit(result, as_json, render_recorded)


# ---------------------------------------------------------------------------------- tick


def _engine(env: Env) -> Any:
    from cloisterctl.clock import now
    from cloisterctl.handoff import Engine
    from cloisterctl.runtime import Tmux

    ws = env.workspace()
    return Engine(ws, env.config(ws), Tmux.from_env(), now)


def _render_tick(reports: list[dict[str, Any]]) -> str:
    lines = []
    for report in reports:
        head = report["workspace"]
        if report["skipped"]:
            lines.append(f"{head}: {report['skipped']}")
            continue
        parts = []
        for task in report["tasks"]:
            parts.append(f"task {task['task']} is now {task['status']}")
        for decision in report["decisions"]:
            parts.append(
                f"decision {decision.get('id', '(dry run)')}: {decision.get('summary') or _proposal_text(decision)}"
            )
        if report["handoff"]:
            h = report["handoff"]
            parts.append(
                f"handoff {h['id']} ({h['from']} -> {h['to']}) at {h['step']}"
                + (f": {h['reason']}" if h.get("reason") else "")
            )
        if report["state_md_changed"]:
            parts.append("STATE.md updated")
        if report["commit"]:
            parts.append(f"committed {report['commit']}")
        lines.append(f"{head}: " + ("; ".join(parts) if parts else "nothing new"))
        lines += [f"  warning: {problem}" for problem in report["problems"]]
    return "\n".join(lines)


def _proposal_text(decision: dict[str, Any]) -> str:
    move = f"{decision.get('from_tier')} -> {decision.get('to_tier')}"
    return f"{decision['trigger']}: {move} {decision['status']}: {decision['reason']}"


@cli.command()
@click.option("--all", "every", is_flag=True, help="Every workspace: git worktrees of this repo and tick.workspaces.")
@click.option("--dry-run", is_flag=True, help="Say what would be decided; write nothing.")
@json_option
@pass_env
def tick(env: Env, every: bool, dry_run: bool, as_json: bool) -> None:
    """One pass: take in usage and activity, evaluate triggers, advance handoffs, refresh STATE.md,
    and commit the decisions. Cron-able; safe to run twice."""
    from cloisterctl.clock import now
    from cloisterctl.tick import tick as run_tick

    reports = [r.as_dict() for r in run_tick(env.workspace(), every=every, dry_run=dry_run, clock=now)]
    emit(reports, as_json, _render_tick)


@cli.command()
@click.option("--cron", "kind", flag_value="cron", help="A crontab line.")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd user service and timer.")
@click.option("--every", default="1m", show_default=True, metavar="INTERVAL", help="How often (e.g. 1m, 5m, 1h).")
@click.option("--install", is_flag=True, help="Write it (crontab, or ~/.config/systemd/user) instead of printing it.")
@json_option
@pass_env
def schedule(env: Env, kind: str | None, every: str, install: bool, as_json: bool) -> None:
    """Print (or install) a schedule that runs `cloisterctl tick --all` here."""
    from cloisterctl import schedule as sched

    if kind is None:
        raise click.UsageError("choose --cron or --systemd")
    ws = env.workspace()
    minutes = sched.parse_every(every)
    if kind == "cron":
        log = sched.default_log()
        line = sched.install_cron(ws.root, minutes, log) if install else sched.cron_line(ws.root, minutes, log)
        data: dict[str, Any] = {"kind": "cron", "line": line, "installed": install, "log": str(log)}
        emit(data, as_json, lambda d: d["line"] + ("\ninstalled in your crontab" if d["installed"] else ""))
        return
    units = sched.systemd_units(ws.root, minutes)
    written = [str(p) for p in sched.install_systemd(ws.root, minutes)] if install else []
    data = {"kind": "systemd", "unit": units.name, "service": units.service, "timer": units.timer, "installed": written}

    def render(d: dict[str, Any]) -> str:
        if d["installed"]:
            return "\n".join(
                [f"wrote {path}" for path in d["installed"]]
                + [f"enable it: systemctl --user daemon-reload && systemctl --user enable --now {d['unit']}.timer"]
            )
        return f"# {d['unit']}.service\n{d['service']}\n# {d['unit']}.timer\n{d['timer']}"

    emit(data, as_json, render)


@cli.command()
@click.argument("decision")
@json_option
@pass_env
def approve(env: Env, decision: str, as_json: bool) -> None:
    """Apply a decision that waits for approval (handoffs.guards.require_approval)."""
    from cloisterctl.decisions import approve as run

    result = run(_engine(env), decision)
    emit(
        result,
        as_json,
        lambda d: (
            f"approved {d['decision']}: {d['summary']}" + (f"; handoff {d['handoff']} started" if d["handoff"] else "")
        ),
    )


@cli.command()
@click.argument("decision")
@click.option("--reason", metavar="TEXT", help="Why, for the ledger.")
@json_option
@pass_env
def reject(env: Env, decision: str, reason: str | None, as_json: bool) -> None:
    """Drop a decision that waits for approval; its cause will not fire again."""
    from cloisterctl.decisions import reject as run

    emit(run(_engine(env), decision, reason), as_json, lambda d: f"rejected {d['decision']}")


# ---------------------------------------------------------------------------------- agents


@cli.command()
@click.argument("task", required=False)
@click.option("--tier", metavar="TIER", help="Start on this tier (or model) instead of routing.")
@click.option("--role", metavar="ROLE", help="Route for a role (planning, test-agent, ...).")
@json_option
@pass_env
def spawn(env: Env, task: str | None, tier: str | None, role: str | None, as_json: bool) -> None:
    """Route TASK and start the agent on it in tmux, from a start packet."""
    from cloisterctl.agents import spawn as run

    if tier and role:
        raise click.UsageError("--tier and --role exclude each other")
    result = run(_engine(env), task, tier=tier, role=role)
    emit(
        result,
        as_json,
        lambda d: (
            f"started {d['agent']} on {d['tier']} ({d['model']}) in tmux session {d['tmux']}; "
            f"session {d['session']}; packet {d['packet']}"
        ),
    )


@cli.command()
@click.argument("agent")
@json_option
@pass_env
def stop(env: Env, agent: str, as_json: bool) -> None:
    """Stop AGENT's session: exit text, then interrupt, then kill; verified gone."""
    from cloisterctl.agents import stop as run

    engine = _engine(env)
    _check_agent(engine, agent)
    emit(run(engine), as_json, lambda d: f"stopped {d['agent']} ({d['how']})")


@cli.command()
@click.argument("agent")
@click.option("--to", "target", required=True, metavar="TIER|MODEL|ROLE", help="Where to move the agent.")
@click.option("--reason", required=True, metavar="TEXT", help="Why (goes into the packet and the ledger).")
@click.option("--no-wait", is_flag=True, help="Start the handoff and leave the rest to tick.")
@json_option
@pass_env
def handoff(env: Env, agent: str, target: str, reason: str, no_wait: bool, as_json: bool) -> None:
    """Move AGENT to another tier: save state, capture a packet, stop, spawn (the engine triggers use)."""
    from cloisterctl.agents import manual_handoff

    engine = _engine(env)
    _check_agent(engine, agent)
    with _tick_lock(engine):
        result = manual_handoff(engine, target, reason, wait=not no_wait)

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
    if result["handoff"] and result["handoff"]["step"] == "failed":
        sys.exit(1)


@cli.command()
@click.option("--all", "every", is_flag=True, help="Every workspace tick --all covers.")
@json_option
@pass_env
def agents(env: Env, every: bool, as_json: bool) -> None:
    """List the agents: tier, model, session, tmux session and whether it is alive."""
    from cloisterctl.agents import listing
    from cloisterctl.clock import now
    from cloisterctl.handoff import Engine
    from cloisterctl.runtime import Tmux
    from cloisterctl.tick import all_workspaces

    ws = env.workspace()
    targets = all_workspaces(ws, env.config(ws)) if every else [ws]
    rows = [listing(Engine(target, env.config(target), Tmux.from_env(), now)) for target in targets]

    def render(items: list[dict[str, Any]]) -> str:
        from cloisterctl.output import table

        def alive(value: bool | None) -> str:
            return "?" if value is None else ("yes" if value else "no")

        return table(
            ["agent", "status", "tier", "model", "task", "alive", "tmux", "workspace"],
            [
                [
                    r["agent"],
                    r["status"],
                    r["tier"],
                    r["model"],
                    r["task"],
                    alive(r["alive"]),
                    r["tmux"],
                    r["workspace"],
                ]
                for r in items
            ],
        )

    emit(rows, as_json, render)


def _check_agent(engine: Any, agent: str) -> None:
    from cloisterctl.store import snapshot

    actual = snapshot(engine.ws).state.agent
    if agent != actual:
        raise CloisterError(f"this workspace's agent is {actual!r}, not {agent!r} (use -C to pick another workspace)")


def _tick_lock(engine: Any) -> Any:
    from cloisterctl.locking import locked

    return locked(
        engine.ws.tick_lock_path,
        float(engine.config.get("tick", "wait_seconds")),
        what="the workspace (a tick is running)",
    )


# ---------------------------------------------------------------------------------- tests and hooks


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_env
def test(env: Env, command: tuple[str, ...]) -> None:
    """Run a test command (`cloisterctl test -- pytest -q`), record pass or fail, exit with its code."""
    from cloisterctl.clock import now
    from cloisterctl.testrun import run_and_record

    ws = env.workspace()
    config = env.config(ws)
    code = run_and_record(
        ws,
        list(command),
        junit=config.get("tests", "junit_xml"),
        source="cloisterctl test",
        clock=now,
        lock_timeout=config.lock_timeout,
    )
    sys.exit(code)


@cli.group(cls=CloisterGroup)
def install() -> None:
    """Install cloisterctl's hooks into beads or Claude Code (alongside any hooks already there)."""


@cli.group(cls=CloisterGroup)
def uninstall() -> None:
    """Remove cloisterctl's hooks from beads or Claude Code, leaving other tools' hooks alone."""


def _render_install(data: dict[str, Any]) -> str:
    lines = [f"updated {p}" for p in data["changed"]] + [f"removed {p}" for p in data["removed"]]
    lines += [f"unchanged {p}" for p in data["unchanged"]]
    return "\n".join(lines) or "nothing to do"


@install.command("beads-hooks")
@json_option
@pass_env
def install_beads_hooks(env: Env, as_json: bool) -> None:
    """.beads/hooks/on_create, on_update, on_close -> `cloisterctl hook beads` (chained with existing hooks)."""
    from dataclasses import asdict

    from cloisterctl.install import install_beads

    emit(asdict(install_beads(env.workspace())), as_json, _render_install)


@uninstall.command("beads-hooks")
@json_option
@pass_env
def uninstall_beads_hooks(env: Env, as_json: bool) -> None:
    """Remove cloisterctl's section from .beads/hooks/on_*."""
    from dataclasses import asdict

    from cloisterctl.install import uninstall_beads

    emit(asdict(uninstall_beads(env.workspace())), as_json, _render_install)


@install.command("agent-hooks")
@json_option
@pass_env
def install_agent_hooks(env: Env, as_json: bool) -> None:
    """.claude/settings.json: PostToolUse, Stop, SubagentStop, SessionStart -> `cloisterctl hook claude`."""
    from dataclasses import asdict

    from cloisterctl.install import install_claude

    emit(asdict(install_claude(env.workspace())), as_json, _render_install)


@uninstall.command("agent-hooks")
@json_option
@pass_env
def uninstall_agent_hooks(env: Env, as_json: bool) -> None:
    """Remove cloisterctl's entries from .claude/settings.json."""
    from dataclasses import asdict

    from cloisterctl.install import uninstall_claude

    emit(asdict(uninstall_claude(env.workspace())), as_json, _render_install)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_env
def hook(env: Env, args: tuple[str, ...]) -> None:
    """Hook entry points (called by hooks, not by people):

    \b
      hook git post-commit|post-merge|post-checkout|post-rewrite   (pre-commit)
      hook check [FILES]                                           (pre-commit)
      hook pre-push                                                (pre-commit, opt-in)
      hook beads ISSUE_ID create|update|close < issue.json         (.beads/hooks/on_*)
      hook claude < hook-input.json                                (.claude/settings.json)
    """
    import os

    from cloisterctl.hooks.fast import run

    os.chdir(env.directory)
    sys.exit(run(list(args)))


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
