"""Test runs recorded in the ledger: `cloisterctl test` and the pre-push hook."""

from __future__ import annotations

from cloisterctl.edges.testrun import run_tests
from cloisterctl.engine.context import Context
from cloisterctl.model.events import make_event


def run_and_record(ctx: Context, argv: list[str], *, source: str) -> int:
    """Run ``argv`` (no shell), record the outcome, return its exit code."""
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
    ctx.append([make_event("test_run", state.agent, ctx.clock(), **fields)])
    return run.exit_code
