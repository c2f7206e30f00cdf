"""Entry point of the ``cloisterctl`` console script and ``python -m cloisterctl``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"] and "--help" not in args and "-h" not in args:
        # Hooks run on every commit and tool call: they skip click and its import time.
        from cloisterctl.hooks.dispatch import run

        return run(args[1:])
    if args[:1] == ["statusline"] and "--help" not in args and "-h" not in args:
        # Claude Code runs it on every refresh of its status bar: one file read, no click.
        from cloisterctl.cli.fast_statusline import main as statusline

        return statusline(args[1:])
    if "cost" in args[:3]:
        # `cost` with nothing new prints its memo, before click is imported.
        from cloisterctl.cli.fast import answer

        answered = answer(args)
        if answered is not None:
            return answered
    from cloisterctl.cli.app import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
