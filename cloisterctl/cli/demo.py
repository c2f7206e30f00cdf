"""`cloisterctl demo`: the built-in demo."""

from __future__ import annotations

from pathlib import Path

import click

from cloisterctl.cli.app import json_option


@click.command()
@click.option(
    "--dir",
    "parent",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where to make the throwaway repo (default: the system temp directory).",
)
# `bash scripts/demo.sh -q` passes its arguments after the subcommand: -q means here what it
# means before it (only the directory is printed).
@click.option("-q", "--quiet", is_flag=True, help="Print only the demo's directory (as `cloisterctl -q demo`).")
@json_option
def demo(parent: Path | None, quiet: bool, as_json: bool) -> int:
    """Play the built-in demo in a throwaway repo and say what happened; the repo is left for inspection."""
    from cloisterctl.cli import style

    if quiet:
        style.make_quiet()
    from cloisterctl.cli.render import dumps
    from cloisterctl.demo.scenario import run_demo

    result = run_demo(parent, (lambda _line: None) if as_json or style.quiet() else click.echo)
    if as_json:
        click.echo(dumps(result))
    elif style.quiet():
        click.echo(result["workspace"])  # what is left to look at
    return 0
