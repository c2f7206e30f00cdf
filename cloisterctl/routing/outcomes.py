"""Outcomes of attempts: the `outcomes` report (the whole ledger, once) and recording the
test-agent stage's verdict on a task (a ``verification`` event)."""

from __future__ import annotations

from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.ledger import identity
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import make_event
from cloisterctl.routing.outcome_report import by_task, derive, since


def outcomes(ctx: Context, start: str | None) -> dict[str, Any]:
    """Every attempt (and per task) since ``start``, from the whole ledger."""
    ctx.ws.require_initialised()
    attempts, _state = derive(ctx.snapshot.events, identity.blank(ctx.ws))
    shown = since(attempts, start)
    return {"attempts": shown, "tasks": by_task(shown), "problems": list(ctx.problems)}


def verify(ctx: Context, task: str, result: str, note: str | None) -> dict[str, Any]:
    """Record the verdict of the test-agent stage on ``task``'s work."""
    if result not in ("pass", "fail"):
        raise CloisterError(f"{result!r} is not a verification result (pass or fail)")
    ctx.ws.require_initialised()
    ctx.preflight()
    state = ctx.state
    fields: dict[str, Any] = {"task": task, "result": result, "tier": state.tier, "source": "cli"}
    if note:
        fields["note"] = note
    ctx.append([make_event("verification", state.agent, ctx.clock(), **fields)])
    ctx.publish()
    return fields
