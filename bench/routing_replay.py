#!/usr/bin/env python3
"""Routing policies replayed on the dev sets in bench/data (real per-task outcomes per tier).

For each dev set: the default policy (routing.policy as shipped), static and adaptive, each with
no escalation and with --escalate on-failure at --detect 1.0 and 0.5 (seed 0); success, cost and
routing gain next to every single tier and the oracle. Run: python bench/routing_replay.py [--levels]

The issue's figure is the file order's. The adaptive policy learns online, so its gain depends on
the order the tasks come in: beside each policy's file-order gain the bench prints the mean and
standard deviation over ORDERS seeded shuffles of the same tasks (the static policy does not
learn, so its figure is the same in every order), which is the figure to compare policies by.
"""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.routing.replay import Options, replay  # noqa: E402
from cloisterctl.routing.replay_input import parse_lines  # noqa: E402

DATA = ROOT / "bench" / "data"
SETS = ("swebench_verified_dev.jsonl", "swebench_pro_dev.jsonl")
RUNS = (("none", 1.0), ("on-failure", 1.0), ("on-failure", 0.5))
ORDERS = 10


def line(name: str, resolved: int, tasks: int, cost: float, gain: float | None, orders: str = "") -> str:
    shown = "-" if gain is None else f"{gain:+.2f}"
    return f"  {name:<34} {resolved:>5} {resolved * 100 / tasks:>6.1f}% {cost:>12,.2f} {shown:>8}  {orders}"


def over_orders(tasks: list[Any], config: Any, options: Options) -> str:
    """Mean and standard deviation of the gain over ORDERS seeded shuffles of ``tasks``."""
    gains = []
    for seed in range(ORDERS):
        shuffled = list(tasks)
        random.Random(seed).shuffle(shuffled)
        gains.append(replay(shuffled, config, config.prices, options)["totals"]["gain"])
    return f"{statistics.mean(gains):+.2f} ± {statistics.stdev(gains):.2f}"


def main() -> None:
    config = load_config(None, environ={})
    for name in SETS:
        tasks = parse_lines((DATA / name).read_text().splitlines(), name)
        first = replay(tasks, config, config.prices, Options())
        print(f"\n{name}: {len(tasks)} tasks (cost: {'USD' if 'verified' in name else 'turns x relative price'})")
        print(f"  {'':<34} {'solved':>5} {'rate':>7} {'cost':>12} {'gain':>8}  gain over {ORDERS} orders")
        for baseline, figures in first["baselines"].items():
            print(line(baseline, figures["resolved"], len(tasks), figures["cost"], figures["gain"]))
        for policy, label in (
            (None, f"default ({config.routing.policy})"),
            ("static", "static"),
            ("adaptive", "adaptive"),
        ):
            for escalate, detect in RUNS:
                options = Options(policy, escalate, detect, 0)
                result = replay(tasks, config, config.prices, options)
                totals = result["totals"]
                run = label + (f", on-failure @{detect:g}" if escalate != "none" else ", no escalation")
                orders = over_orders(tasks, config, options)
                print(line(run, totals["resolved"], len(tasks), totals["cost"], totals["gain"], orders))
                if "--levels" in sys.argv:
                    for level, part in result["levels"].items():
                        t = part["totals"]
                        print(line(f"    {level} ({t['tasks']})", t["resolved"], t["tasks"], t["cost"], t["gain"]))


if __name__ == "__main__":
    main()
