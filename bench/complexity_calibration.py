#!/usr/bin/env python3
"""Is detection's confidence calibrated? A reliability table: tasks binned by stated confidence,
against how often the level was right.

Truth: the 68 hand-labelled tasks (tests/data/complexity_tasks.yaml, their `expected` level) and
the SWE-bench Verified dev set (bench/data), whose human time band gives the level
(complexity.difficulty_bands); the Verified tasks are classified from their title alone, the band
withheld (what detection knows without an estimate), and again with it. Explicit levels
(metadata.complexity, complexity:LEVEL) are left out: they are right by definition.
Run: python bench/complexity_calibration.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.routing.complexity import classify  # noqa: E402
from cloisterctl.tasks.records import task_from_json  # noqa: E402

BINS = ((0.0, 0.3), (0.3, 0.45), (0.45, 0.6), (0.6, 0.75), (0.75, 0.9), (0.9, 1.01))


def cases() -> list[tuple[str, dict[str, Any], str]]:
    """(set, task fields, true level)."""
    found = []
    labelled = yaml.safe_load((ROOT / "tests" / "data" / "complexity_tasks.yaml").read_text())
    for number, case in enumerate(labelled, start=1):
        fields = {k: v for k, v in case.items() if k not in ("expected", "children")}
        found.append(("labelled", {"id": f"case-{number}", "status": "open", **fields}, case["expected"]))
    bands = load_config(None, environ={}).complexity["difficulty_bands"]
    for text in (ROOT / "bench" / "data" / "swebench_verified_dev.jsonl").read_text().splitlines():
        row = json.loads(text)
        truth = bands[row["difficulty"]]
        base = {"id": row["id"], "title": row["title"], "status": "open"}
        found.append(("verified, title only", base, truth))
        found.append(("verified, with band", {**base, "metadata": {"difficulty": row["difficulty"]}}, truth))
    return found


def table(results: list[tuple[float, bool]]) -> list[str]:
    lines = [f"  {'stated':>11} {'n':>5} {'mean stated':>12} {'right':>7}"]
    for low, high in BINS:
        inside = [(c, ok) for c, ok in results if low <= c < high]
        if inside:
            mean = sum(c for c, _ in inside) / len(inside)
            right = sum(ok for _, ok in inside) / len(inside)
            lines.append(f"  {low:.2f}-{min(high, 1):.2f} {len(inside):>5} {mean:>12.2f} {right:>7.1%}")
    return lines


def main() -> None:
    settings = load_config(None, environ={}).complexity
    by_set: dict[str, list[tuple[float, bool]]] = {}
    for name, fields, truth in cases():
        found = classify(task_from_json(fields), settings, child_count=int(fields.get("children", 0)))
        if found.is_explicit:
            continue
        by_set.setdefault(name, []).append((found.confidence, found.level == truth))
    pooled = [pair for pairs in by_set.values() for pair in pairs]
    for name, pairs in [*by_set.items(), ("all", pooled)]:
        print(f"\n{name}: {len(pairs)} tasks, {sum(ok for _, ok in pairs) / len(pairs):.1%} right")
        print("\n".join(table(pairs)))


if __name__ == "__main__":
    main()
