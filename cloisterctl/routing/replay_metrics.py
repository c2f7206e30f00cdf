"""Replay metrics that cannot be gamed, over seeded orders. Pure.

The gain alone can be bought (spend less, solve less, stay near the frontier). Beside it, per run,
against the top tier ("every task on opus", an expectation over the recorded trials):

- ``success_pct`` and ``cost_pct``: the policy's success and cost as % of all-opus's;
- ``cost_at_parity``: the policy's ``cost_pct`` when its success is within ``PARITY`` points of
  all-opus's, else None with ``below_parity`` the points it trails by;
- ``success_at_sonnet_budget``: the success (% of all-opus's) of the tasks the policy finished,
  in its order, before its spend passed all-sonnet's whole cost.

The adaptive policy learns online, so one order is one draw: ``over_orders`` replays ``orders``
seeded shuffles (order i: the tasks shuffled by ``random.Random(i)``, the replay seeded with i, so
which trial is drawn and which failure noticed vary too) and reports each figure as mean and sd.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from collections.abc import Sequence
from typing import Any

from cloisterctl.config.settings import Config
from cloisterctl.models.prices import PriceTable
from cloisterctl.routing.replay import Options, replay
from cloisterctl.routing.replay_input import ReplayTask

PARITY = 1.0  # points of all-opus success
REFERENCE, BUDGET = "all-opus", "all-sonnet"
FIGURES = ("success_pct", "cost_pct", "gain", "cost_at_parity", "below_parity", "success_at_sonnet_budget")


def run_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The figures of one replay (module docstring)."""
    top, budget = result["baselines"][REFERENCE], result["baselines"][BUDGET]
    totals = result["totals"]
    success = totals["resolved"] * 100 / top["resolved"] if top["resolved"] else 0.0
    cost = totals["cost"] * 100 / top["cost"] if top["cost"] else 0.0
    spent = within = 0.0
    for row in result["tasks"]:
        spent += row["cost"]
        if spent > budget["cost"] + 1e-9:
            break
        within += bool(row["resolved"])
    at_parity = success >= 100 - PARITY
    return {
        "success_pct": round(success, 2),
        "cost_pct": round(cost, 2),
        "gain": totals["gain"],
        "cost_at_parity": round(cost, 2) if at_parity else None,
        "below_parity": 0.0 if at_parity else round(100 - PARITY - success, 2),
        "success_at_sonnet_budget": round(within * 100 / top["resolved"], 2) if top["resolved"] else 0.0,
    }


def _spread(values: Sequence[float]) -> dict[str, float]:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(statistics.mean(values), 2), "sd": round(sd, 2)}


def over_orders(
    tasks: Sequence[ReplayTask], config: Config, prices: PriceTable, options: Options, orders: int
) -> dict[str, Any]:
    """Every figure as mean and sd over ``orders`` seeded orders, and the runs themselves."""
    runs = []
    for seed in range(orders):
        shuffled = list(tasks)
        random.Random(seed).shuffle(shuffled)
        runs.append(run_metrics(replay(shuffled, config, prices, dataclasses.replace(options, seed=seed))))
    summary: dict[str, Any] = {"orders": orders}
    for name in FIGURES:
        values = [run[name] for run in runs if run[name] is not None]
        summary[name] = _spread(values) if values else None
    summary["at_parity"] = sum(run["cost_at_parity"] is not None for run in runs)
    summary["runs"] = runs
    return summary


def describe(summary: dict[str, Any]) -> list[str]:
    """The summary's lines, for the text report and the bench."""

    def shown(name: str) -> str:
        figure = summary[name]
        return "-" if figure is None else f"{figure['mean']:.1f} +- {figure['sd']:.1f}"

    orders = summary["orders"]
    parity = (
        f"cost at parity {shown('cost_at_parity')}% ({summary['at_parity']} of {orders} orders at parity)"
        if summary["at_parity"]
        else f"below parity by {shown('below_parity')} points"
    )
    return [
        f"over {orders} seeded orders: success {shown('success_pct')}% of all-opus at {shown('cost_pct')}% of its cost",
        f"  {parity}; success at all-sonnet's budget {shown('success_at_sonnet_budget')}%; gain {shown('gain')}",
    ]
