"""`cloisterctl hook pre-push`: run the configured test command before a push and record the result.

Opt-in (install the `cloister-pre-push` hook). Failing tests fail the push; with no
``tests.command`` configured it says so and lets the push go. The run is recorded where hooks
record (the machine-local signal spool, folded with the ledger; the next tick moves it to the
ledger): a hook that changed a tracked file would make pre-commit fail the push.
"""

from __future__ import annotations

import sys
from pathlib import Path


def pre_push_hook(args: list[str]) -> int:
    from cloisterctl.errors import CloisterError
    from cloisterctl.ledger.context import Context
    from cloisterctl.testruns.record import run_and_record

    try:
        ctx = Context.find(Path.cwd(), initialised=False)
        if not ctx.ws.is_initialised:
            return 0
        argv = list(ctx.config.tests.command)
        if not argv:
            print("cloister: no tests.command configured; nothing run before the push", file=sys.stderr)
            return 0
        return run_and_record(ctx, argv, source="pre-push", local=True)
    except CloisterError as exc:
        print(f"cloister: pre-push: {exc}", file=sys.stderr)
        return 0
