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
