"""`cloisterctl cost` (table, JSON or dashboard; with nothing new, its memo: ``cost.report_memo``) and
`usage add|import`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env, safe_name
from cloisterctl.cost import report_memo
from cloisterctl.cost.groupings import GROUPING_NAMES
from cloisterctl.cost.report_memo import CostOptions
from cloisterctl.errors import CloisterError, UsageError


def progress_bar() -> Any:
    """A progress bar for long transcript scans, only when both stdout and stderr are terminals
    (and not with -q)."""
    from cloisterctl.cli import style

    if style.quiet() or not (sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    from contextlib import contextmanager

    @contextmanager
    def bar(total: int) -> Any:
        with click.progressbar(length=total, label="reading transcripts", file=sys.stderr) as progress:
            yield progress.update

    return bar


@click.command("cost")
@click.option(
    "--by",
    type=click.Choice(GROUPING_NAMES),
    default="model",
    show_default=True,
    help="What each row of the table is: day, week (ISO 8601: Monday to Sunday, YYYY-Www) and month "
    "(YYYY-MM) are of UTC days, in time order; the others are sorted by cost.",
)
@click.option("--since", metavar="DATE", help="Only usage on or after DATE (YYYY-MM-DD or YYYYMMDD, a UTC day).")
@click.option("--until", metavar="DATE", help="Only usage on or before DATE (YYYY-MM-DD or YYYYMMDD, a UTC day).")
@click.option("--breakdown", is_flag=True, help="Under each row, one sub-row per model (--json: each row's 'models').")
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
    env: Env,
    by: str,
    since: str | None,
    until: str | None,
    breakdown: bool,
    all_projects: bool,
    record: bool,
    html: Path | None,
    as_json: bool,
) -> int:
    """What the agents' work cost, from Claude Code transcripts and recorded usage: a table with a
    totals row and the prompt-cache hit rate (--json: the same data, total_usd at the top).
    With --all it also runs outside a workspace."""
    options = CostOptions(all_projects, by, since, until, breakdown)
    remembered = None if record or html is not None else _recalled(env, options, as_json)
    if remembered is not None:
        click.echo(remembered, nl=False)  # the bytes the last run printed
        return 0
    ctx = _cost_context(env, all_projects, record)
    if html is not None:
        from cloisterctl.cost.dashboard import render_written, write_dashboard

        written = write_dashboard(
            ctx, html, since=since, until=until, all_projects=all_projects, record=record, progress=progress_bar()
        )
        return emit(written, as_json, render_written)
    from cloisterctl.cli.render import render_report
    from cloisterctl.cost.collect import cost_command as run_cost

    computed = run_cost(
        ctx,
        by=by,
        since=since,
        until=until,
        breakdown=breakdown,
        all_projects=all_projects,
        record_checkpoints=record,
        progress=progress_bar(),
    )
    result = computed.result
    if not ctx.ws.is_initialised:
        result["workspace"] = None  # every project on the machine, seen from no workspace
    code = emit(result, as_json, render_report)
    if not record and ctx.ws.is_initialised:  # the memo answers only inside a workspace
        _keep_memo(str(ctx.ws.root), options, computed)
    return code


def _recalled(env: Env, options: CostOptions, as_json: bool) -> bytes | None:
    """What the memo answers for ``options`` here: only in a workspace, where a full run keeps one."""
    ws = env.optional_workspace()
    if ws is None or not ws.is_initialised:
        return None
    return report_memo.recall(str(ws.root), options, as_json)


def _keep_memo(root: str, options: CostOptions, computed: Any) -> None:
    """Keep both forms of the output, as a run with nothing new would print them."""
    from cloisterctl.cli.render import dumps, render_report
    from cloisterctl.cli.style import colourless

    again = {**computed.result, "bytes_read": 0}
    with colourless():  # the memo may be printed to a pipe
        text = render_report(again)
    outputs = {"json": (dumps(again) + "\n").encode(), "text": (text + "\n").encode()}
    report_memo.keep(root, options, computed.inputs, outputs, computed.valid_until)


def _cost_context(env: Env, all_projects: bool, record: bool) -> Any:
    """The workspace's context; for --all outside a workspace, one with no ledger of its own (its
    caches under the user's cache dir), since every project's transcripts are read anyway."""
    ws = env.optional_workspace()
    if not all_projects or (ws is not None and ws.is_initialised):
        return env.context()
    if record:
        raise CloisterError("--record writes to a workspace's ledger: run it inside one (or drop --record)")
    import os

    from cloisterctl.config.load import load_config
    from cloisterctl.ledger.context import Context
    from cloisterctl.workspace.layout import Workspace

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Context.for_workspace(Workspace(Path(base) / "cloisterctl" / "machine"), load_config(None))


@click.group("usage")
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
@click.option("--session", metavar="ID", callback=safe_name("session id"), help="The session the usage belongs to.")
@click.option(
    "--task", metavar="ID", callback=safe_name("task id"), help="The task (default: the agent's task at the time)."
)
@click.option(
    "--agent", metavar="NAME", callback=safe_name("agent name"), help="The agent (default: this workspace's)."
)
@click.option(
    "--usd",
    type=click.FloatRange(min=0, max=1e9),
    callback=lambda _ctx, _param, value: _finite(value),
    help="The cost, for a model the price table does not know.",
)
@click.option(
    "--id",
    "request",
    metavar="KEY",
    help="Your own id for this record: the same numbers with another id count again (default: the "
    "numbers are the id, so a retry counts once).",
)
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
    request: str | None,
    as_json: bool,
) -> int:
    """Record one model's token usage from another runtime; it counts in cost and STATE.md."""
    from cloisterctl.cli.render import render_recorded
    from cloisterctl.cost.collect import add_usage
    from cloisterctl.models.prices import Tokens

    tokens = Tokens(input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read)
    result = add_usage(
        env.context(),
        model=model,
        tokens=tokens,
        requests=requests,
        session=session,
        task=task,
        agent=agent,
        usd_override=usd,
        request=request,
    )
    return emit(result, as_json, render_recorded)


def _text_of(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text; a binary file is a one-line error naming it and the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{name}:{line}: not UTF-8 text ({exc.reason}); nothing recorded") from None


def _finite(value: float | None) -> float | None:
    """NaN passes ``FloatRange`` (it compares false with both ends): refuse it like inf."""
    if value is not None and value != value:
        raise click.BadParameter(f"{value} is not a number", param_hint="'--usd'")
    return value


@usage_group.command("import")
@click.argument("result_file", metavar="FILE", type=click.File("rb"))
@click.option(
    "--task", metavar="ID", callback=safe_name("task id"), help="The task (default: the agent's task at the time)."
)
@click.option(
    "--agent", metavar="NAME", callback=safe_name("agent name"), help="The agent (default: this workspace's)."
)
@json_option
@pass_env
def usage_import(env: Env, result_file: Any, task: str | None, agent: str | None, as_json: bool) -> int:
    """Record what a `claude -p --output-format json` (or stream-json) run used, from its saved
    output FILE (- for stdin). Importing the same result twice records it once."""
    from cloisterctl.cli.render import render_recorded
    from cloisterctl.cost.collect import import_claude_result

    name = getattr(result_file, "name", "<stdin>")  # binary stdin may have no name
    name = "stdin" if name in ("<stdin>", 0) else str(name)
    result = import_claude_result(env.context(), _text_of(result_file.read(), name), name, task=task, agent=agent)
    return emit(result, as_json, render_recorded)
