"""Entry point of the ``cloisterctl`` console script and ``python -m cloisterctl``: the click group
(``cli.app``), which imports only the module of the command it runs.

Two commands start without click: ``hook`` (git, beads and Claude Code run it on every commit and
tool call) and ``statusline`` (Claude Code runs it on every refresh of its status bar). Each may
cost at most 2.5x a bare ``python -c pass``, and importing click alone costs more. Measured from a
``pip install`` on the 2-core development machine (medians of 100 alternating runs, as ratios to a
bare start of 17.8 ms): ``import click`` 3.8x (``import json`` 1.6x); through the lazy click group,
``hook git post-commit`` 5.2x and ``statusline`` 5.1x; without click, 1.8x and 2.2x. So a command
line that starts with one of them, and asks for no help, runs its body directly: the function its
click command calls too (``hooks.dispatch.run``, ``cli.fast_statusline.main``), so ``--help`` and
``-C DIR hook ...`` go through click and do the same. Everything else, ``cost`` included, goes
through click.
"""

from __future__ import annotations

import sys

HELP = ("-h", "--help")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"] and not any(arg in HELP for arg in args):
        from cloisterctl.hooks.dispatch import run

        return run(args[1:])
    if args[:1] == ["statusline"] and not any(arg in HELP for arg in args):
        from cloisterctl.cli.fast_statusline import main as statusline

        return statusline(args[1:])
    from cloisterctl.cli.app import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
