"""`cloisterctl statusline` as click sees it: its --help, and the same line when it is run through
click (``cli.fast_statusline`` answers it before click is imported), and `install|uninstall statusline`."""

from __future__ import annotations

import click

from cloisterctl.cli.app import Env, pass_env


@click.command("statusline")
@pass_env
def statusline(env: Env) -> int:
    """One line for Claude Code's status bar (its statusLine setting), from the JSON it writes on
    stdin: tier and model, task, this session's and today's cost, cache hit rate, minutes until
    the stuck threshold, budget warnings and flags. Reads the summary that tick (and every command
    that updates STATE.md) keeps; never fails (a short line, exit code 0).
    `cloisterctl install statusline` sets it up."""
    import os

    from cloisterctl.cli.fast_statusline import main

    os.chdir(env.directory)
    return main([])
