"""A model with no price is counted at $0, and every figure that leaves it out says so: `tick`
warns once, STATE.md names it, `status` and its budgets say "at least", `doctor` warns, until the
config gives it a price."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from cloisterctl.ledger import statefile
from testing.helpers import events, run, write_config
from testing.transcripts import assistant, usage_of, write_lines

SESSION = "44444444-4444-4444-8444-444444444444"
OPUS_47 = (5 * 1_000 + 25 * 1_000) / 1e6  # 1K input + 1K output at $5 / $25 per million
# With tick.commit off every command writes STATE.md in the tree; with it on, cost is bookkeeping and
# STATE.md shows it with cloisterctl's next commit (tests/ledger/test_commit_policy.py).
CONFIG = "budgets:\n  agent_usd: 0.1\ntick:\n  commit: false\n"


def _json(root: Path, *args: str) -> Any:
    result = run(root, *args, "--json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def _doctor_prices(root: Path) -> dict[str, str]:
    checks = {check["name"]: check for check in _json(root, "doctor")["checks"]}
    found: dict[str, str] = checks["prices"]
    return found


@pytest.fixture
def spent(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose transcript holds a priced model (in a Bedrock spelling), and one the table
    does not know."""
    claude = tmp_path / "claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    write_config(workspace, CONFIG)
    write_lines(
        claude / "projects" / project_dir_name(workspace) / f"{SESSION}.jsonl",
        [
            assistant(
                SESSION, "m1", "q1", "us.anthropic.claude-opus-4-7-v1:0", "2026-12-01T10:00:00Z", usage_of(1_000, 1_000)
            ),
            assistant(SESSION, "m2", "q2", "claude-opus-4-8", "2026-12-01T10:01:00Z", usage_of(1_000_000, 1_000_000)),
        ],
    )
    return workspace


def test_an_unpriced_model_is_named_everywhere_a_total_leaves_it_out(spent: Path) -> None:
    [report] = _json(spent, "tick")
    warnings = [problem for problem in report["problems"] if "claude-opus-4-8" in problem]
    assert warnings == [
        "cost: model claude-opus-4-8 has no price, so it counts as $0 and every cost and budget figure is a lower "
        "bound (add cost.prices.claude-opus-4-8 to the config)"
    ]

    block = statefile.read(spent / "STATE.md").cloister
    assert block["unpriced_models"] == ["claude-opus-4-8"]
    assert block["cost"]["total_usd"] == pytest.approx(OPUS_47, abs=1e-4)  # the wrapped opus 4.7 id is priced

    view = _json(spent, "status")
    assert view["unpriced_models"] == ["claude-opus-4-8"]
    [budget] = view["budgets"]
    assert (budget["scope"], budget["unpriced_models"]) == ("agent", ["claude-opus-4-8"])
    text = run(spent, "status").output
    assert "at least $0.03, cache hit rate 0.0%; 1 unpriced model (claude-opus-4-8) counted as $0" in text
    assert "agent: at least $0.03 of $0.1 (30%; 1 unpriced)" in text

    prices = _doctor_prices(spent)
    assert prices["level"] == "warning"
    assert prices["detail"].startswith("no price for claude-opus-4-8: counted as $0")
    assert prices["fix"].startswith("add cost.prices.claude-opus-4-8:")

    # Said once: a tick with nothing new does not repeat it (STATE.md and status keep it).
    [again] = _json(spent, "tick")
    assert not [problem for problem in again["problems"] if "claude-opus-4-8" in problem]

    # Priced in the config: the flag goes, the cost counts it, the budget is a plain figure.
    write_config(spent, CONFIG + "cost:\n  prices:\n    claude-opus-4-8: {input: 5, output: 25}\n")
    _json(spent, "tick")
    block = statefile.read(spent / "STATE.md").cloister
    assert "unpriced_models" not in block
    assert block["cost"]["total_usd"] == pytest.approx(OPUS_47 + 30, abs=1e-4)
    view = _json(spent, "status")
    assert view["unpriced_models"] == [] and view["budgets"][0]["unpriced_models"] == []
    assert "at least" not in run(spent, "status").output
    prices = _doctor_prices(spent)
    assert prices["level"] == "ok"
    assert prices["detail"].startswith(
        "every model in this workspace's cost has a price (cloisterctl/models/prices.json"
    )


def test_the_budget_rule_says_its_figure_is_a_lower_bound(spent: Path) -> None:
    write_config(spent, "budgets:\n  agent_usd: 0.02\n")
    _json(spent, "tick")
    assert "budget_agent" in _json(spent, "status")["flags"]
    [decision] = [event for event in events(spent, "decision") if event["trigger"] == "budget_agent"]
    assert decision["reason"] == (
        "the agent has spent at least $0.03 of budgets.agent_usd $0.02 (150%); 1 unpriced model (claude-opus-4-8) "
        "counted as $0: the limit is reached"
    )
