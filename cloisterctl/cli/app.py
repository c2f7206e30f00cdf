"""The root of the command line: the group, what every command shares, and the one place where an
exception becomes a message and an exit code.

Commands live one group to a module (``cli.workspace``, ``cli.routing``, ...) and are imported only
when run (or when ``--help`` lists them), so `cloisterctl status` does not pay for `cost`'s imports.
Every command function returns its exit code. Errors (``errors.exit_code``):

- a ``CloisterError`` (something the user can act on): one line on stderr, exit 1;
- a usage mistake: click's message, exit 2;
- an ``OSError``: the file and the reason, exit 1;
- anything else is a bug: one line, the traceback appended to ``.cloister/local/errors.log`` (or
  the user cache dir outside a workspace), exit 3.

With ``--json`` the error is JSON too, on stderr: ``{"error": MESSAGE, "code": CODE}`` (``code``
from ``errors.error_code``: ``workspace``, ``config``, ``tool``, ``usage``, ``internal``, ...).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cloisterctl import __version__, errors

if TYPE_CHECKING:
    from cloisterctl.ledger.context import Context

# command name -> (module, attribute): imported on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("cloisterctl.cli.workspace", "init"),
    "status": ("cloisterctl.cli.workspace", "status"),
    "config": ("cloisterctl.cli.workspace", "config"),
    "trust": ("cloisterctl.cli.workspace", "trust"),
    "classify": ("cloisterctl.cli.routing", "classify"),
    "complexity": ("cloisterctl.cli.routing", "complexity"),
    "route": ("cloisterctl.cli.routing", "route"),
    "whatif": ("cloisterctl.cli.routing", "whatif"),
    "outcomes": ("cloisterctl.cli.outcomes", "outcomes"),
    "replay": ("cloisterctl.cli.replay", "replay"),
    "report": ("cloisterctl.cli.report", "report"),
    "cost": ("cloisterctl.cli.cost", "cost_command"),
    "usage": ("cloisterctl.cli.cost", "usage_group"),
    "tick": ("cloisterctl.cli.tick", "tick"),
    "schedule": ("cloisterctl.cli.tick", "schedule"),
    "approve": ("cloisterctl.cli.tick", "approve"),
    "reject": ("cloisterctl.cli.tick", "reject"),
    "spawn": ("cloisterctl.cli.agents", "spawn"),
    "stop": ("cloisterctl.cli.agents", "stop"),
    "handoff": ("cloisterctl.cli.agents", "handoff"),
    "agents": ("cloisterctl.cli.agents", "agents"),
    "flags": ("cloisterctl.cli.agents", "flags"),
    "test": ("cloisterctl.cli.hooks", "test"),
    "install": ("cloisterctl.cli.hooks", "install"),
    "uninstall": ("cloisterctl.cli.hooks", "uninstall"),
    "hook": ("cloisterctl.cli.hooks", "hook"),
    "statusline": ("cloisterctl.cli.statusline", "statusline"),
    "demo": ("cloisterctl.cli.demo", "demo"),
    "doctor": ("cloisterctl.cli.doctor", "doctor"),
}


class Env:
    """What every command needs: the directory it runs in, and (on demand) its workspace's context."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.contexts: list[Context] = []  # each gets its commit point when the command ends

    def context(self, *, initialised: bool = True) -> Context:
        """The workspace's context (one per command: a second call returns the first)."""
        from cloisterctl.ledger.context import Context  # the engine, loaded once a command needs it

        for ctx in self.contexts:
            if ctx.ws.is_initialised or not initialised:
                return ctx
        ctx = Context.find(self.directory, initialised=initialised)
        self.contexts.append(ctx)
        return ctx

    def finish(self) -> None:
        """The commit point of every context the command used (``ledger.commit.finish``): what a
        command recorded is committed by the one policy, never left in the tree behind the user."""
        if not self.contexts:
            return
        from cloisterctl.ledger.commit import finish

        for ctx in self.contexts:
            if not ctx.ws.is_initialised:
                continue
            try:
                _sha, problems = finish(ctx)
            except (errors.CloisterError, OSError) as exc:  # reported, never hiding the command's own outcome
                problems = [f"not committing: {errors.describe(exc)}"]
            for problem in problems:
                click.echo(f"cloisterctl: {problem}", err=True)

    def recorded(self) -> list[str]:
        """The types of the events this command appended to a ledger: what an error must say is
        already recorded (a full disk may fail STATE.md after the ledger line was written)."""
        return [str(event["type"]) for ctx in self.contexts for event in ctx.written]

    def optional_workspace(self) -> Any | None:
        """The git work tree here (initialised or not), or None outside one. Loads no config."""
        from cloisterctl.workspace.layout import find_workspace

        try:
            return find_workspace(self.directory)
        except errors.WorkspaceError:
            return None

    def config(self) -> Any:
        """The config in effect here (built-in and user layers only, outside a workspace)."""
        from cloisterctl.config.load import load_config

        ws = self.optional_workspace()
        return load_config(ws.config_path if ws is not None else None)


pass_env = click.make_pass_decorator(Env)
JSON_META = "cloisterctl.json"  # set in the (shared) context meta when a command got --json
ARGS_META = "cloisterctl.args"


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[JSON_META] = True
    return value


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result (or the error) as JSON.", callback=_remember_json
)


def safe_name(what: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """A click callback that refuses a name that is not safe (``models.names``) before the command
    runs: a one-line error naming it, exit 1, nothing written. Names are data: a task id, an agent
    or a decision reaches file names, tmux, commit messages and ``bd``'s argv."""

    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        from cloisterctl.errors import CloisterError
        from cloisterctl.models.names import name_problem

        wrong = None if value is None else name_problem(what, value)
        if wrong is not None:
            raise CloisterError(wrong)
        return value

    return check


def emit(data: Any, as_json: bool, render: Callable[[Any], str], *, chatter: bool = False) -> int:
    """Print a command's result (JSON, or text for people); returns exit code 0. The text of a
    ``chatter`` result (what an action did: "updated X", "nothing new") is cut down by ``-q`` to its
    warnings (``cli.style.quiet_text``); data and JSON never are."""
    from cloisterctl.cli import style
    from cloisterctl.cli.render import dumps

    if as_json:
        click.echo(dumps(data))
        return 0
    text = render(data)
    if chatter and style.quiet():
        text = style.quiet_text(text)
        if not text:
            return 0
    click.echo(text)
    return 0


def _error_log(directory: Path) -> Path:
    from cloisterctl.workspace.layout import find_workspace

    try:
        ws = find_workspace(directory)
        if ws.is_initialised:
            return ws.local_dir / "errors.log"
    except errors.CloisterError:
        pass
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cloisterctl" / "errors.log"


def wants_json(ctx: click.Context) -> bool:
    """Whether the command asked for JSON: its --json was parsed, or (for an error while parsing)
    it is on the command line before any ``--`` (not a `test` or `hook` command's own argument)."""
    if ctx.meta.get(JSON_META):
        return True
    args: list[str] = list(ctx.meta.get(ARGS_META) or [])
    words = args[: args.index("--")] if "--" in args else args
    command = next((word for word in words if word in COMMANDS), None)
    return "--json" in words and command not in ("test", "hook")


def _report(exc: BaseException, directory: Path, *, as_json: bool = False, recorded: Sequence[str] = ()) -> int:
    code = errors.exit_code(exc)
    message = errors.describe(exc)
    if recorded:  # the error came after a ledger write: say it stands, so nobody records it twice
        kinds = ", ".join(f"{recorded.count(kind)} {kind}" for kind in dict.fromkeys(recorded))
        message += f" (recorded before it, and kept: {kinds} event(s) in the ledger; the next command catches up)"
    if code == errors.EXIT_INTERNAL:
        log = _error_log(directory)
        try:
            from cloisterctl.files.safeopen import open_write  # never appended through a symlink

            descriptor = open_write(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(f"--- {datetime.now(UTC).isoformat()} cloisterctl {' '.join(sys.argv[1:])}\n")
                handle.write("".join(traceback.format_exception(exc)))
            message += f" (a bug: the traceback is in {log})"
        except (OSError, errors.CloisterError):
            message += " (a bug; the traceback could not be written)"
    if as_json:
        import json

        click.echo(json.dumps({"error": message, "code": errors.error_code(exc)}, ensure_ascii=False), err=True)
    else:
        click.echo(f"cloisterctl: error: {message}", err=True)
    return code


class CloisterGroup(click.Group):
    """The root group: lazy subcommands, and every error turned into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        command: click.Command = getattr(importlib.import_module(found[0]), found[1])
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGS_META] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                result = super().invoke(ctx)
            finally:
                if isinstance(ctx.obj, Env):
                    ctx.obj.finish()  # after a failure too: what was recorded is committed
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException as exc:
            if not wants_json(ctx):
                raise
            import json

            payload = {"error": exc.format_message(), "code": "usage" if exc.exit_code == 2 else "error"}
            click.echo(json.dumps(payload, ensure_ascii=False), err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - the one place an error becomes an exit code
            env = ctx.obj if isinstance(ctx.obj, Env) else Env(Path("."))
            ctx.exit(_report(exc, env.directory, as_json=wants_json(ctx), recorded=env.recorded()))
        if isinstance(result, int) and result:
            ctx.exit(result)
        return result


@click.group(cls=CloisterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="Run as if started in DIR (like git -C).",
    metavar="DIR",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only what matters: no progress or 'updated' chatter.")
@click.option("--no-color", "no_color", is_flag=True, help="No colour (also off when NO_COLOR is set or not a tty).")
@click.version_option(__version__, "-V", "--version", prog_name="cloisterctl", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, directory: Path, quiet: bool, no_color: bool) -> None:
    """Route coding-agent work to the cheapest model tier that can do it, hand work between
    tiers through reviewable files, and track what it costs.

    State lives in the repo: STATE.md front matter and the .cloister/ ledger.

    Shell completion: eval "$(_CLOISTERCTL_COMPLETE=bash_source cloisterctl)" in ~/.bashrc
    (zsh_source for zsh, fish_source for fish).
    """
    from cloisterctl.cli import style

    style.configure(no_color=no_color, quiet=quiet)
    ctx.obj = Env(directory)


def main(argv: list[str] | None = None) -> int:
    # In standalone mode click always ends with SystemExit (its code is the command's exit code).
    try:
        cli.main(args=argv, prog_name="cloisterctl", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
