"""Test runs recorded in the ledger: `cloisterctl test` (its command, or ``tests.command``) and the
pre-push hook."""

from __future__ import annotations

from cloisterctl.errors import CloisterError
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import make_event
from cloisterctl.testruns.run import run_tests


def test_command(ctx: Context, argv: list[str]) -> list[str]:
    """The command to run: the one given, else ``tests.command``; an error naming both when neither is."""
    if argv:
        return argv
    configured = list(ctx.config.tests.command)
    if configured:
        return configured
    untrusted = " (the workspace config sets it, but it is not trusted: `cloisterctl trust`)"
    raise CloisterError(
        "no test command: give one (`cloisterctl test -- pytest -q`) or set tests.command in "
        f".cloister/config.yaml{untrusted if 'tests.command' in ctx.config.untrusted else ''}"
    )


def run_and_record(ctx: Context, argv: list[str], *, source: str, local: bool = False) -> int:
    """Run ``argv`` (no shell), record the outcome, return its exit code. ``local``: in the signal
    spool, as a hook records (the pre-push hook: a hook never changes a tracked file)."""
    junit = ctx.config.tests.junit_xml
    run = run_tests(argv, ctx.ws.root, ctx.ws.root / junit if junit else None)
    state = ctx.state
    fields: dict[str, object] = {
        "passed": run.exit_code == 0,
        "exit_code": run.exit_code,
        "command": " ".join(argv),
        "source": source,
        "tier": state.tier,
        "seconds": run.seconds,
    }
    if run.counts is not None:
        fields["counts"] = run.counts
    ctx.append([make_event("test_run", state.agent, ctx.clock(), **fields)], local=local)
    return run.exit_code
