"""`report routing`: the outcome counts of this workspace (or of every workspace `tick --all`
covers), folded already, through ``routing.report``."""

from __future__ import annotations

from typing import Any

from cloisterctl.ledger import store
from cloisterctl.ledger.context import Context
from cloisterctl.routing.adaptive import add_counts
from cloisterctl.routing.report import routing_report
from cloisterctl.workspace.covered import all_workspaces


def routing_data(ctx: Context, every: bool) -> dict[str, Any]:
    ctx.ws.require_initialised()
    tables = [ctx.state.outcomes.counts]
    names = [str(ctx.ws.root)]
    if every:
        for ws in all_workspaces(ctx.ws, ctx.config):
            if ws.root == ctx.ws.root:
                continue
            tables.append(store.snapshot(ws).state.outcomes.counts)
            names.append(str(ws.root))
    report = routing_report(add_counts(*tables), ctx.config, ctx.config.prices)
    report["workspaces"] = names
    report["policy"] = ctx.config.routing.policy
    return report
