"""One order for everything: two copies of one event id with different content (a forged or edited
line merged from another clone) fold the same whatever order the files hold them in, and the
reader reports the id once."""

from __future__ import annotations

import json
from pathlib import Path

from cloisterctl.ledger.events import content_digest, encode, ordered
from cloisterctl.ledger.fold import fold
from cloisterctl.workspace.layout import Workspace
from testing.helpers import DATA, cli

CONFLICTING = DATA / "bad" / "ledger-conflicting-copies.jsonl"


def _copies() -> list[dict[str, object]]:
    return [json.loads(line) for line in CONFLICTING.read_text().splitlines()]


def test_copies_of_one_id_fold_the_same_in_either_order() -> None:
    one, other = _copies()[:2]
    assert (one["ts"], one["id"]) == (other["ts"], other["id"]) and one != other
    kept = min((one, other), key=content_digest)
    conflicts: set[str] = set()
    assert ordered([one, other], conflicts) == [kept] == ordered([other, one])
    assert conflicts == {one["id"]}
    costs = {fold(order, agent="repo").cost_totals.micro_usd for order in ([one, other], [other, one])}
    assert len(costs) == 1
    same: set[str] = set()
    ordered([one, dict(one)], same)  # an identical copy (a union merge) is no conflict
    assert same == set()


def test_status_reports_each_conflicting_id_once_and_two_clones_agree(workspace: Path) -> None:
    ws = Workspace(workspace)
    lines = [encode(event) for event in _copies()]
    segment = ws.segment_for(str(_copies()[0]["ts"]))
    segment.parent.mkdir(parents=True, exist_ok=True)
    totals = []
    for order in (lines, list(reversed(lines))):
        segment.write_text("".join(line + "\n" for line in order))
        status = json.loads(cli(workspace, "status", "--json").stdout)
        totals.append(status["cost"]["total_usd"])
        [report] = [p for p in status["problems"] if "appear twice with different content" in p]
        assert report.startswith("ledger: 2 event id(s)") and report.count("aaaaaaaaaaaaaaaa") == 1
        assert (status["handoffs"], status["handoff_in_flight"]) == (0, None)
    assert totals[0] == totals[1]
