#!/usr/bin/env python3
"""Routing policies replayed on the dev sets in bench/data (real per-task outcomes per tier), and
the issue-21 targets checked.

Every figure is a mean +- sd over ORDERS seeded orders (``routing.replay_metrics.over_orders``:
the adaptive policy learns online, so one order is one draw), failures noticed at DETECT per
attempt: success and cost as % of all-opus, cost at parity, success at all-sonnet's budget, gain.
The target rows are the default policy (``routing.policy`` as shipped) with no escalation and with
escalation on failure, on the SWE-bench Verified dev set with its human ``difficulty`` removed (as
real tasks come: no estimate) and on the Terminal-Bench 2.0 trials dev set (a trial drawn per
attempt). Run: python bench/routing_replay.py [--all] [--json]; exit 1 when a target fails.
--all adds the static and adaptive policies and the SWE-bench Pro set (turns x relative price).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.config.settings import Config  # noqa: E402
from cloisterctl.routing.replay import Options, replay  # noqa: E402
from cloisterctl.routing.replay_input import USD, ReplayTask, parse_file  # noqa: E402
from cloisterctl.routing.replay_metrics import over_orders  # noqa: E402

DATA = ROOT / "bench" / "data"
ORDERS = 10
DETECT = 0.8
VERIFIED, TERMINAL, PRO = "swebench_verified_dev.jsonl", "terminal_bench_trials_dev.jsonl", "swebench_pro_dev.jsonl"
# (dev set, escalate, at least this % of all-opus success, at most this % of its cost)
TARGETS = (
    (VERIFIED, "none", 98.0, 35.0),
    (VERIFIED, "on-failure", 104.0, 58.0),
    (TERMINAL, "none", 97.0, 105.0),
    (TERMINAL, "on-failure", 99.0, 110.0),
)


def load(name: str) -> tuple[list[ReplayTask], str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    if name == VERIFIED:  # real tasks carry no human estimate: the level must not come from one
        lines = [json.dumps({k: v for k, v in json.loads(x).items() if k != "difficulty"}) for x in lines if x.strip()]
    return parse_file(lines, name)


def measure(name: str, config: Config, policy: str | None, escalate: str) -> dict[str, Any]:
    tasks, unit = load(name)
    handoff = config.routing.adaptive.handoff_usd if unit == USD else 0.0
    return over_orders(tasks, config, config.prices, Options(policy, escalate, DETECT, 0, handoff), ORDERS)


def shown(figure: dict[str, float] | None) -> str:
    return "-" if figure is None else f"{figure['mean']:6.1f} +- {figure['sd']:4.1f}"


def row(label: str, summary: dict[str, Any]) -> str:
    parity = shown(summary["cost_at_parity"]) if summary["at_parity"] else f"below by {shown(summary['below_parity'])}"
    return (
        f"  {label:<36} {shown(summary['success_pct'])}% at {shown(summary['cost_pct'])}%  "
        f"parity: {parity} ({summary['at_parity']}/{summary['orders']})  "
        f"at sonnet's budget {shown(summary['success_at_sonnet_budget'])}%  gain {shown(summary['gain'])}"
    )


def baselines(name: str, config: Config) -> None:
    tasks, unit = load(name)
    found = replay(tasks, config, config.prices, Options())["baselines"]
    top = found["all-opus"]
    print(f"\n{name}: {len(tasks)} tasks, costs in {unit}")
    for baseline, figures in found.items():
        print(
            f"  {baseline:<10} solves {figures['resolved']:>7.1f} ({figures['resolved'] * 100 / top['resolved']:5.1f}% "
            f"of all-opus) for {figures['cost']:>10,.2f} ({figures['cost'] * 100 / top['cost']:5.1f}%)"
        )


def main() -> int:
    config = load_config(None, environ={})
    as_json = "--json" in sys.argv
    results = []
    for name, escalate, success, cost in TARGETS:
        summary = measure(name, config, None, escalate)
        passed = summary["success_pct"]["mean"] >= success and summary["cost_pct"]["mean"] <= cost
        results.append({"set": name, "escalate": escalate, "target": [success, cost], "pass": passed, **summary})
    if as_json:
        print(json.dumps([{k: v for k, v in r.items() if k != "runs"} for r in results], indent=1))
        return 0 if all(r["pass"] for r in results) else 1
    for name in (VERIFIED, TERMINAL):
        baselines(name, config)
    print(f"\ntargets (default policy {config.routing.policy}, --detect {DETECT:g}, {ORDERS} seeded orders):")
    for result in results:
        target = f">= {result['target'][0]:g} at <= {result['target'][1]:g}"
        label = f"{result['set'].split('_dev')[0]}, {result['escalate']}"
        print(row(label, result) + f"  target {target}: {'PASS' if result['pass'] else 'FAIL'}")
    if "--all" in sys.argv:
        for name in (VERIFIED, TERMINAL, PRO):
            print(f"\n{name}:")
            for policy in ("static", "adaptive"):
                for escalate in ("none", "on-failure"):
                    print(row(f"{policy}, {escalate}", measure(name, config, policy, escalate)))
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
