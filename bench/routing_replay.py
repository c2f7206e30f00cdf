#!/usr/bin/env python3
"""Routing policies replayed on the dev sets in bench/data (real per-task outcomes per tier).

For each dev set: the default policy (routing.policy as shipped), static and adaptive, each with
no escalation and with --escalate on-failure at --detect 1.0 and 0.5 (seed 0); success, cost and
routing gain next to every single tier and the oracle. Run: python bench/routing_replay.py [--levels]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.core.replay import Options, replay  # noqa: E402
from cloisterctl.core.replay_input import parse_lines  # noqa: E402

DATA = ROOT / "bench" / "data"
SETS = ("swebench_verified_dev.jsonl", "swebench_pro_dev.jsonl")
RUNS = (("none", 1.0), ("on-failure", 1.0), ("on-failure", 0.5))


def line(name: str, resolved: int, tasks: int, cost: float, gain: float | None) -> str:
    shown = "-" if gain is None else f"{gain:+.2f}"
    return f"  {name:<34} {resolved:>5} {resolved * 100 / tasks:>6.1f}% {cost:>12,.2f} {shown:>8}"


def main() -> None:
    config = load_config(None, environ={})
    for name in SETS:
        tasks = parse_lines((DATA / name).read_text().splitlines(), name)
        first = replay(tasks, config, config.prices, Options())
        print(f"\n{name}: {len(tasks)} tasks (cost: {'USD' if 'verified' in name else 'turns x relative price'})")
        print(f"  {'':<34} {'solved':>5} {'rate':>7} {'cost':>12} {'gain':>8}")
        for baseline, figures in first["baselines"].items():
            print(line(baseline, figures["resolved"], len(tasks), figures["cost"], figures["gain"]))
        for policy, label in (
            (None, f"default ({config.routing.policy})"),
            ("static", "static"),
            ("adaptive", "adaptive"),
        ):
            for escalate, detect in RUNS:
                result = replay(tasks, config, config.prices, Options(policy, escalate, detect, 0))
                totals = result["totals"]
                run = label + (f", on-failure @{detect:g}" if escalate != "none" else ", no escalation")
                print(line(run, totals["resolved"], len(tasks), totals["cost"], totals["gain"]))
                if "--levels" in sys.argv:
                    for level, part in result["levels"].items():
                        t = part["totals"]
                        print(line(f"    {level} ({t['tasks']})", t["resolved"], t["tasks"], t["cost"], t["gain"]))


if __name__ == "__main__":
    main()
