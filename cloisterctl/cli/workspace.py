"""`cloisterctl init`, `status`, `config show` and `config validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cloisterctl.cli.app import Env, emit, json_option, pass_env
from cloisterctl.errors import CloisterError


@click.command()
@click.option("--agent", metavar="NAME", help="Name of the agent working here (default: the directory name).")
@json_option
@pass_env
def init(env: Env, agent: str | None, as_json: bool) -> int:
    """Set up STATE.md and .cloister/ in this git work tree, and this clone's STATE.md merge driver
    (idempotent, never overwrites)."""
    from dataclasses import asdict

    from cloisterctl.ledger.clock import require_real
    from cloisterctl.ledger.init import init as run_init

    require_real("init")
    ctx = env.context(initialised=False)
    report = run_init(ctx.ws, agent, ctx.clock(), timeout=ctx.config.lock_timeout, config=ctx.config)
    from cloisterctl.integrations.merge_driver import install_git

    registered = install_git(ctx.ws)  # this clone's STATE.md merge driver
    for name in registered.changed:
        if name.startswith(".git/"):
            report.updated.append(name)

    def render(data: dict[str, Any]) -> str:
        lines = [f"cloister workspace: {data['workspace']} (agent {data['agent']})"]
        lines += [f"  created {name}" for name in data["created"]]
        lines += [f"  updated {name}" for name in data["updated"]]
        lines += [f"  kept    {name}" for name in data["kept"]]
        lines += [f"  committed {data['commit']}"] if data["commit"] else []
        lines += [f"  note: {problem}" for problem in data["problems"]]
        return "\n".join(lines)

    return emit(asdict(report), as_json, render, chatter=True)


@click.command()
@json_option
@pass_env
def status(env: Env, as_json: bool) -> int:
    """Show the workspace's agent, tier, model, complexity, task, cost and last decision (read-only)."""
    from cloisterctl.agents.status import status_view
    from cloisterctl.cli.render import render_status

    return emit(status_view(env.context()), as_json, render_status)


@click.group()
def config() -> None:
    """Show or check the effective configuration."""


@config.command("show")
@json_option
@pass_env
def config_show(env: Env, as_json: bool) -> int:
    """Print the effective config and where each value came from."""
    from cloisterctl.cli.render import dumps, yaml_scalar

    effective = env.config()
    if as_json:
        click.echo(dumps({"config": effective.data, "sources": effective.sources}))
        return 0
    for key, value, source in effective.flatten():
        click.echo(f"{key} = {yaml_scalar(value)}  # {source}")
    return 0


@config.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_env
def config_validate(env: Env, files: tuple[Path, ...], as_json: bool) -> int:
    """Check the config files in effect (or FILES); report every problem with file, key and line
    (and every warning: a key under its old name still works, but should be renamed)."""
    from cloisterctl.config.layers import collect_layers, defaults_layer, parse_yaml_layer
    from cloisterctl.config.validate import validate_layers
    from cloisterctl.files import safeopen

    problems: list[Any]
    if files:
        problems = []
        layers = []
        for path in files:
            try:  # a regular file, bounded: a FIFO or /dev/zero named here is one line, never a hang
                text = safeopen.read_capped(path, safeopen.CONFIG_CAP, below=None).decode("utf-8")
            except UnicodeDecodeError:
                raise CloisterError(f"{path}: not UTF-8 text") from None
            except OSError as exc:
                raise CloisterError(f"{path}: cannot read: {exc.strerror}") from None
            layer, found = parse_yaml_layer(text, str(path))
            problems += found + validate_layers([defaults_layer(), layer])
            layers.append(layer)
        checked = [str(p) for p in files]
    else:
        ws = env.optional_workspace()
        layers, problems = collect_layers(ws.config_path if ws is not None else None)
        problems += validate_layers(layers)
        checked = [layer.source for layer in layers if layer.source != "default"]
    warnings = [str(warning) for layer in layers for warning in layer.warnings]
    if as_json:
        from cloisterctl.cli.render import dumps

        report = {"checked": checked, "valid": not problems, "problems": [str(p) for p in problems]}
        click.echo(dumps({**report, "warnings": warnings}))
    else:
        from cloisterctl.cli import style

        for problem in problems:
            click.echo(str(problem), err=True)
        for warning in warnings:
            click.echo(style.warning_prefix(f"warning: {warning}"), err=True)

        if not problems and not style.quiet():
            click.echo(f"config {style.word('ok')} ({', '.join(checked) or 'built-in defaults only'})")
    return 1 if problems else 0


@click.command()
@click.option("--revoke", is_flag=True, help="Stop trusting it: its command keys are ignored again.")
@json_option
@pass_env
def trust(env: Env, revoke: bool, as_json: bool) -> int:
    """Let this clone's .cloister/config.yaml name programs (beads.command, runtime.spawn, runtime.env,
    runtime.exit_text, runtime.save_request, tests.command). Trust is kept per file content in
    ~/.local/state/cloisterctl: after the file changes, trust it again."""
    from cloisterctl.workspace.trust import set_trust

    ws = env.context(initialised=True).ws

    def render(data: dict[str, Any]) -> str:
        if not data["trusted"]:
            return f"no longer trusting {data['config']}: its command keys are ignored"
        keys = ", ".join(data["command_keys"]) or "no command keys (nothing changes now)"
        return f"trusted {data['config']} (sha256 {data['sha256'][:12]}): {keys}"

    return emit(set_trust(ws, trusted=not revoke), as_json, render, chatter=True)
