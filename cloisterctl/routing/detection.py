"""How often the verification stage catches a failed close, per tier, from the fold's counts. Pure.

The fold (``ledger.attempts``) counts, per tier of the closing attempt, the failures a
verification *caught* (a failed verification of a close no verification had accepted) and the
ones it *missed* (an accepted close, passed or never checked, that was later reopened or failed a
later verification). Recall = caught / (caught + missed), with a 95% Wilson interval. An accepted
close that never fails again counts in neither: it is not known to have been a failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cloisterctl.ledger.state import OutcomeBook, WorkspaceState
from cloisterctl.models.tiers import TIERS
from cloisterctl.routing.intervals import wilson


def _rate(caught: int, missed: int) -> dict[str, Any]:
    interval = wilson(caught, caught + missed)
    return {
        "caught": caught,
        "missed": missed,
        "recall": round(caught / (caught + missed), 4) if caught + missed else None,
        "interval": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
    }


def detection_rows(detection: Mapping[str, Sequence[int]]) -> list[dict[str, Any]]:
    """Per tier with any count (in tier order), and ``all``: caught, missed, recall and its interval."""
    rows = [{"tier": tier, **_rate(*detection[tier][:2])} for tier in TIERS if tier in detection]
    if rows:
        caught = sum(row["caught"] for row in rows)
        missed = sum(row["missed"] for row in rows)
        rows.append({"tier": "all", **_rate(caught, missed)})
    return rows


def detection_rate(state: WorkspaceState) -> float | None:
    """The recall of failure detection over every tier; None while no failure is known."""
    caught = sum(row[0] for row in state.outcomes.detection.values())
    missed = sum(row[1] for row in state.outcomes.detection.values())
    return caught / (caught + missed) if caught + missed else None


def detection_section(books: Sequence[OutcomeBook], configured: bool) -> dict[str, Any]:
    """`report routing`'s detection: the verification results (the latest per task) and the recall
    per tier, summed over the workspaces' books; ``configured``: whether this workspace verifies."""
    results = {"pending": 0, "pass": 0, "fail": 0, "error": 0}
    detection: dict[str, list[int]] = {}
    for book in books:
        for found in book.verifications.values():
            key = str(found.get("result"))
            results[key] = results.get(key, 0) + 1
        for tier, row in book.detection.items():
            total = detection.setdefault(tier, [0, 0])
            total[0] += row[0]
            total[1] += row[1]
    return {"configured": configured, "results": results, "rows": detection_rows(detection)}
