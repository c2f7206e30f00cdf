from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing.helpers import ROUTING_DATA, run

VERIFIED = ROUTING_DATA / "swebench_verified_dev.jsonl"
PRO = ROUTING_DATA / "swebench_pro_dev.jsonl"
MICRO = 1_000_000


def replay_json(tmp_path: Path, *args: str) -> dict[str, Any]:
    result = run(tmp_path, "replay", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


@pytest.mark.parametrize("data", [VERIFIED, PRO], ids=["verified", "pro"])
@pytest.mark.parametrize(
    "options",
    [("--policy", "static"), ("--policy", "adaptive", "--escalate", "on-failure", "--detect", "0.5", "--seed", "3")],
)
def test_the_per_task_rows_add_up_exactly_to_the_totals(tmp_path: Path, data: Path, options: tuple[str, ...]) -> None:
    result = replay_json(tmp_path, str(data), *options)
    rows, totals = result["tasks"], result["totals"]
    assert len(rows) == totals["tasks"] == sum(1 for line in data.read_text().splitlines() if line.strip())
    assert set(rows[0]) == {"id", "level", "start_tier", "tiers_tried", "resolved", "cost"}
    assert sum(round(row["cost"] * MICRO) for row in rows) == round(totals["cost"] * MICRO)
    assert sum(row["resolved"] for row in rows) == totals["resolved"]
    assert sum(len(row["tiers_tried"]) - 1 for row in rows) == totals["escalations"]
    for level, part in result["levels"].items():
        mine = [row for row in rows if row["level"] == level]
        assert sum(round(row["cost"] * MICRO) for row in mine) == round(part["totals"]["cost"] * MICRO)
        assert sum(row["resolved"] for row in mine) == part["totals"]["resolved"]
    assert set(result["baselines"]) == {"all-haiku", "all-sonnet", "all-opus", "oracle"}


def test_the_verified_dev_set_baselines_are_the_measured_ones(tmp_path: Path) -> None:
    result = replay_json(tmp_path, str(VERIFIED), "--policy", "static")
    base = result["baselines"]
    assert [base[k]["resolved"] for k in ("all-haiku", "all-sonnet", "all-opus", "oracle")] == [100, 176, 179, 192]
    assert round(base["all-opus"]["cost"], 2) == 284.93 and round(base["oracle"]["cost"], 2) == 53.94
    assert base["all-sonnet"]["gain"] == 0 and base["oracle"]["gain"] == pytest.approx(33.0, abs=0.1)
    # the human time bands decide the level: no task is left on the prior for want of evidence
    assert {row["level"] for row in result["tasks"]} == {"simple", "medium", "complex", "expert"}


def test_escalating_every_noticed_failure_finds_every_task_some_tier_solves(tmp_path: Path) -> None:
    result = replay_json(tmp_path, str(VERIFIED), "--policy", "static", "--escalate", "on-failure")
    assert result["totals"]["resolved"] == result["baselines"]["oracle"]["resolved"]
    half = replay_json(tmp_path, str(VERIFIED), "--policy", "static", "--escalate", "on-failure", "--detect", "0.5")
    assert half["totals"]["resolved"] < result["totals"]["resolved"]
    again = replay_json(tmp_path, str(VERIFIED), "--policy", "static", "--escalate", "on-failure", "--detect", "0.5")
    assert again == half  # seeded


def test_adaptive_learns_from_earlier_lines_only(tmp_path: Path) -> None:
    lines = VERIFIED.read_text().splitlines()
    whole = replay_json(tmp_path, str(VERIFIED), "--policy", "adaptive")
    head = tmp_path / "head.jsonl"
    head.write_text("\n".join(lines[:60]) + "\n")
    part = replay_json(tmp_path, str(head), "--policy", "adaptive")
    assert part["tasks"] == whole["tasks"][:60]


def test_text_output_shows_every_baseline_and_the_gain(tmp_path: Path) -> None:
    result = run(tmp_path, "replay", str(PRO))
    assert result.exit_code == 0, result.output
    for word in ("policy", "all-haiku", "all-sonnet", "all-opus", "oracle", "gain", "medium (730 tasks"):
        assert word in result.output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        (
            '{"id": "x", "resolved": {"haiku": 1, "sonnet": 1}, "cost_usd": {"haiku": 1, "sonnet": 1, "opus": 1}}',
            "resolved.opus",
        ),
        (
            '{"id": "x", "resolved": {"haiku": 1, "sonnet": 1, "opus": 2}, "cost_usd": {}}',
            "resolved.opus must be 0 or 1",
        ),
        ('{"id": "x", "resolved": {"haiku": 1, "sonnet": 1, "opus": 1}}', "needs 'cost_usd'"),
        (
            '{"id": "x", "resolved": {"haiku": 1, "sonnet": 1, "opus": 1}, "cost_usd": {"haiku": -1, "sonnet": 1, "opus": 1}}',
            "cost_usd.haiku",
        ),
        ('{"title": "no id"}', "needs a text 'id'"),
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    good = VERIFIED.read_text().splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(f"{good}\n\n{line}\n")
    result = run(tmp_path, "replay", str(bad))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cloisterctl: error: {bad}:3: ") and message in lines[0]


def test_missing_turns_cost_the_tiers_mean_turns(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "resolved": {"haiku": 1, "sonnet": 1, "opus": 1},
            "turns": {"haiku": 10, "sonnet": 20, "opus": 30},
            "relative_price": {"haiku": 1, "sonnet": 3, "opus": 15},
        },
        {
            "id": "b",
            "resolved": {"haiku": 0, "sonnet": 1, "opus": 1},
            "turns": {"haiku": None, "sonnet": 40, "opus": 10},
            "relative_price": {"haiku": 1, "sonnet": 3, "opus": 15},
        },
    ]
    path = tmp_path / "turns.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = replay_json(tmp_path, str(path), "--policy", "static")
    assert result["baselines"]["all-haiku"]["cost"] == 10 + 10  # b's missing haiku turns: the mean, 10
    assert result["source"]["imputed_costs"] == 1


TERMINAL = ROUTING_DATA / "terminal_bench_trials_dev.jsonl"
PRICES = {"haiku": 1, "sonnet": 3, "opus": 15}


def write_lines(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_relative_price_without_turns_costs_the_price_per_attempt(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path, [{"id": "a", "resolved": {"haiku": 0, "sonnet": 1, "opus": 1}, "relative_price": PRICES}]
    )
    result = replay_json(tmp_path, str(path), "--policy", "static")
    assert [result["baselines"][f"all-{t}"]["cost"] for t in ("haiku", "sonnet", "opus")] == [1, 3, 15]
    assert result["source"]["unit"] == "relative"


def test_imputed_turns_come_from_earlier_lines_only_and_never_from_nothing(tmp_path: Path) -> None:
    solved = {"haiku": 1, "sonnet": 1, "opus": 1}
    rows = [
        {"id": "a", "resolved": solved, "turns": {"haiku": 10, "sonnet": 20, "opus": 30}, "relative_price": PRICES},
        {"id": "b", "resolved": solved, "turns": {"haiku": None, "sonnet": 20, "opus": 30}, "relative_price": PRICES},
        {"id": "c", "resolved": solved, "turns": {"haiku": 1000, "sonnet": 20, "opus": 30}, "relative_price": PRICES},
    ]
    result = replay_json(tmp_path, str(write_lines(tmp_path, rows)), "--policy", "static")
    assert result["baselines"]["all-haiku"]["cost"] == 10 + 10 + 1000  # b's haiku: a's 10, not c's 1000
    nothing = [{"id": "a", "resolved": solved, "turns": dict.fromkeys(solved), "relative_price": PRICES}]
    failed = run(tmp_path, "replay", str(write_lines(tmp_path, nothing)))
    assert failed.exit_code == 1 and f"{tmp_path / 'lines.jsonl'}:1: no tier's turns" in failed.output


def test_trials_are_drawn_per_attempt_and_the_baselines_are_expectations(tmp_path: Path) -> None:
    result = replay_json(tmp_path, str(TERMINAL), "--policy", "static", "--detect", "0.8", "--orders", "2")
    base = result["baselines"]
    assert [round(base[f"all-{t}"]["resolved"], 1) for t in ("haiku", "sonnet", "opus")] == [16.3, 20.6, 24.2]
    assert [round(base[f"all-{t}"]["cost"], 2) for t in ("haiku", "sonnet", "opus")] == [8.97, 23.16, 23.37]
    assert result["source"]["unit"] == "USD"
    metrics = result["metrics"]
    assert metrics["success_pct"] == round(result["totals"]["resolved"] * 100 / base["all-opus"]["resolved"], 2)
    assert (metrics["cost_at_parity"] is None) == (metrics["below_parity"] > 0)
    orders = result["orders"]
    assert orders["orders"] == 2 and len(orders["runs"]) == 2 and set(orders["success_pct"]) == {"mean", "sd"}
    assert orders["runs"][0] != orders["runs"][1]  # another order, another draw of trials
    text = run(tmp_path, "replay", str(TERMINAL), "--orders", "2")
    assert text.exit_code == 0 and "over 2 seeded orders: success" in text.output
    assert "at all-sonnet's budget" in text.output


def test_a_trial_list_whose_costs_do_not_pair_is_an_error(tmp_path: Path) -> None:
    row = {
        "id": "a",
        "resolved": {"haiku": [0, 1], "sonnet": [1], "opus": [1]},
        "cost_usd": {"haiku": [0.1, 0.2, 0.3], "sonnet": 1, "opus": 2},
    }
    failed = run(tmp_path, "replay", str(write_lines(tmp_path, [row])))
    assert failed.exit_code == 1 and "haiku has 2 outcomes but 3 costs" in failed.output
