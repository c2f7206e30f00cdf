#!/usr/bin/env python3
"""Complexity detection against the labelled tasks in tests/data/complexity_tasks.yaml.

Prints the confusion matrix (rows: expected, columns: detected), exact and within-one accuracy,
and every miss with its reasons, with every signal voting (``complexity.weak_signals: []``, what
the word lists are tuned for); then the exact share with the defaults, where the weak text
signals keep the prior level. Run: python bench/complexity_eval.py [--misses]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloisterctl.config.load import load_config  # noqa: E402
from cloisterctl.models.tiers import LEVELS, level_index  # noqa: E402
from cloisterctl.routing.complexity import classify  # noqa: E402
from cloisterctl.tasks.records import task_from_json  # noqa: E402

DATA = ROOT / "tests" / "data" / "complexity_tasks.yaml"


def load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(DATA.read_text())
    for number, case in enumerate(cases, start=1):
        case.setdefault("id", f"case-{number}")
    return cases


def evaluate(every_signal: bool = True) -> tuple[list[tuple[dict[str, Any], Any]], dict[tuple[str, str], int]]:
    defaults = load_config(None, environ={}).complexity
    settings = {**defaults, "weak_signals": []} if every_signal else defaults
    results = []
    matrix = {(e, d): 0 for e in LEVELS for d in LEVELS}
    for case in load_cases():
        fields = {k: v for k, v in case.items() if k not in ("expected", "children")}
        fields.setdefault("status", "open")
        task = task_from_json(fields)
        found = classify(task, settings, child_count=int(case.get("children", 0)))
        results.append((case, found))
        matrix[(case["expected"], found.level)] += 1
    return results, matrix


def main() -> None:
    results, matrix = evaluate()
    total = len(results)
    exact = sum(1 for case, found in results if found.level == case["expected"])
    within = sum(1 for case, found in results if abs(level_index(found.level) - level_index(case["expected"])) <= 1)
    width = max(len(level) for level in LEVELS)
    print(f"{len(results)} labelled tasks; rows = expected, columns = detected\n")
    print(" " * (width + 2) + " ".join(f"{level[:7]:>7}" for level in LEVELS))
    for expected in LEVELS:
        print(f"{expected:<{width}}  " + " ".join(f"{matrix[(expected, d)]:>7}" for d in LEVELS))
    print(f"\nexact: {exact}/{total} = {exact / total:.1%}   within one level: {within}/{total} = {within / total:.1%}")
    plain, _ = evaluate(every_signal=False)
    kept = sum(1 for case, found in plain if found.level == case["expected"])
    print(f"with the defaults (weak text keeps the prior level): exact {kept}/{total} = {kept / total:.1%}")
    if "--misses" in sys.argv or exact < total:
        print("\nmisses:")
        for case, found in results:
            if found.level != case["expected"]:
                print(f"- {case['title']!r}: expected {case['expected']}, got {found.level} ({found.confidence})")
                for reason in found.reasons:
                    print(f"    {reason}")


if __name__ == "__main__":
    main()
