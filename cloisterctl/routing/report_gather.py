"""`report routing`: the outcome counts of this workspace (or of every workspace `tick --all`
covers), folded already, through ``routing.report``."""

from __future__ import annotations

from typing import Any

from cloisterctl.ledger import store
from cloisterctl.ledger.context import Context
from cloisterctl.routing.adaptive import add_counts
from cloisterctl.routing.detection import detection_section
from cloisterctl.routing.report import routing_report
from cloisterctl.workspace.covered import all_workspaces


def routing_data(ctx: Context, every: bool) -> dict[str, Any]:
    ctx.ws.require_initialised()
    books = [ctx.state.outcomes]
    names = [str(ctx.ws.root)]
    if every:
        for ws in all_workspaces(ctx.ws, ctx.config):
            if ws.root == ctx.ws.root:
                continue
            books.append(store.snapshot(ws).state.outcomes)
            names.append(str(ws.root))
    report = routing_report(add_counts(*(book.counts for book in books)), ctx.config, ctx.config.prices)
    report["workspaces"] = names
    report["policy"] = ctx.config.routing.policy
    report["detection"] = detection_section(books, ctx.config.verifies)
    return report
