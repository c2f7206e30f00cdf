"""`cost` with nothing new is answered from its memo (``cost.report_memo``) inside the click command,
without the full path's reading (``cost.collect`` is never imported), and any change to what it
read (a transcript, a new file where one could appear, the ledger, the config, the environment)
sends it down the full path, which prints the new figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from cloisterctl.cost.transcripts.locate import project_dir_name
from testing.helpers import write_config
from testing.transcripts import assistant, usage_of, write_lines

SONNET = "claude-sonnet-4-5-20250929"
K = 100_000  # tokens of one response: $0.30 of Sonnet input (below the long-context tier)

# Runs the real entry point and says on stderr which path answered: the full one reads the
# transcripts and the ledger through cost.collect; the memo's answer never imports it.
PROBE = (
    "import sys\n"
    "from cloisterctl.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "full = 'cloisterctl.cost.collect' in sys.modules\n"
    "sys.stderr.write('\\nPATH=' + ('full' if full else 'memo') + '\\n')\n"
    "raise SystemExit(code)\n"
)


def cost(ws: Path, env: dict[str, str], *args: str) -> tuple[str, str]:
    """(stdout, which path answered) of `cloisterctl -C ws cost ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "-C", str(ws), "cost", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.rsplit("PATH=", 1)[1].strip()


def total(stdout: str) -> float:
    return round(float(json.loads(stdout)["total_usd"]), 6)


@pytest.fixture
def claude(tmp_path: Path) -> dict[str, str]:
    return {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}


def transcript(claude: dict[str, str], project: str, name: str) -> Path:
    return Path(claude["CLAUDE_CONFIG_DIR"]) / "projects" / project / name


def response(message: str, fresh: int = K) -> str:
    return assistant("s1", message, f"r-{message}", SONNET, "2026-11-01T10:00:00Z", usage_of(fresh, 0))


def test_a_repeated_cost_prints_the_same_report_from_its_memo(workspace: Path, claude: dict[str, str]) -> None:
    write_lines(transcript(claude, project_dir_name(workspace), "s1.jsonl"), [response("m1")])
    first, path = cost(workspace, claude, "--json")
    assert path == "full" and total(first) == 0.3 and json.loads(first)["bytes_read"] > 0
    again, path = cost(workspace, claude, "--json")
    assert path == "memo"
    assert json.loads(again) == {**json.loads(first), "bytes_read": 0}  # what a run reading nothing says
    table, path = cost(workspace, claude)
    assert path == "memo" and "total" in table and "$0.3000" in table
    grouped, path = cost(workspace, claude, "--by", "session", "--json")
    assert path == "full" and json.loads(grouped)["by"] == "session"  # its own memo, made now
    assert cost(workspace, claude, "--by=session", "--json")[1] == "memo"


def test_any_change_to_what_cost_read_sends_it_down_the_full_path(
    workspace: Path, claude: dict[str, str], tmp_path: Path
) -> None:
    own = project_dir_name(workspace)
    main = transcript(claude, own, "s1.jsonl")
    write_lines(main, [response("m1")])
    assert total(cost(workspace, claude, "--json")[0]) == 0.3

    def after(change: str, expected: float, *args: str) -> None:
        out, path = cost(workspace, claude, "--json", *args)
        assert (path, total(out)) == ("full", expected), change
        assert cost(workspace, claude, "--json", *args)[1] == "memo", change

    with main.open("a") as handle:
        handle.write(response("m2") + "\n")
    after("a line appended to a transcript", 0.6)
    write_lines(transcript(claude, own, "s2.jsonl"), [response("m3")])
    after("a new session in the project", 0.9)
    write_lines(transcript(claude, own, "s1/subagents/agent-a.jsonl"), [response("m4")])
    after("a new subagent's transcript", 1.2)
    write_lines(transcript(claude, own, "s1/subagents/agent-b.jsonl"), [response("m5")])
    after("a second subagent beside the first", 1.5)
    subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(workspace), "usage", "add", "--model", SONNET]
        + ["--input", str(K), "--output", "0"],
        check=True,
        capture_output=True,
        env={**os.environ, **claude},
    )
    after("usage recorded in the ledger", 1.8)
    write_config(workspace, f"cost:\n  prices:\n    {SONNET}: {{input: 6.0}}\n")
    out, path = cost(workspace, claude, "--json")
    assert path == "full" and total(out) != 1.8, "the config changed the prices"

    assert cost(workspace, claude, "--all", "--json")[1] == "full"
    write_lines(transcript(claude, "-elsewhere", "s9.jsonl"), [response("m9", 2 * K)])
    assert cost(workspace, claude, "--json")[1] == "full"  # another project's dir is looked in too
    all_before = total(cost(workspace, claude, "--all", "--json")[0])
    write_lines(transcript(claude, "-third", "s10.jsonl"), [response("m10", K)])
    out, path = cost(workspace, claude, "--all", "--json")
    assert path == "full" and total(out) > all_before, "a new project under --all"

    other = {"CLAUDE_CONFIG_DIR": str(tmp_path / "other-claude")}
    assert cost(workspace, other, "--json")[1] == "full", "another environment"


def test_the_user_config_in_either_place_is_in_the_memo_s_stamp(
    workspace: Path, claude: dict[str, str], isolated_env: Path
) -> None:
    """The old user config is read while the new one is missing: creating the new one changes the
    prices as surely as editing the file in use."""
    write_lines(transcript(claude, project_dir_name(workspace), "s1.jsonl"), [response("m1")])
    assert total(cost(workspace, claude, "--json")[0]) == 0.3
    for place, dollars_per_million, expected in (
        (isolated_env / ".panopticon" / "cloister.yaml", 6.0, 0.6),
        (isolated_env / ".config" / "cloisterctl" / "config.yaml", 9.0, 0.9),
    ):
        place.parent.mkdir(parents=True)
        place.write_text(f"cost:\n  prices:\n    {SONNET}: {{input: {dollars_per_million}}}\n")
        out, path = cost(workspace, claude, "--json")
        assert (path, total(out)) == ("full", expected), place
        assert cost(workspace, claude, "--json")[1] == "memo", place


def test_what_the_memo_cannot_answer_runs_in_full(workspace: Path, claude: dict[str, str]) -> None:
    write_lines(transcript(claude, project_dir_name(workspace), "s1.jsonl"), [response("m1")])
    cost(workspace, claude, "--json")
    assert cost(workspace, claude, "--json")[1] == "memo"
    assert cost(workspace, claude, "--json", "--record")[1] == "full"
    bad = subprocess.run(
        [sys.executable, "-c", PROBE, "-C", str(workspace), "cost", "--by", "colour"],
        capture_output=True,
        text=True,
        env={**os.environ, **claude},
    )
    assert bad.returncode == 2 and "colour" in bad.stderr  # click's own message for a mistake
    missing = subprocess.run(
        [sys.executable, "-c", PROBE, "-C", str(workspace / "nowhere"), "cost"], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "nowhere" in missing.stderr


def days_of_responses(claude: dict[str, str], project: str) -> None:
    """One response on each of four days ($0.03, 0.06, 0.09, 0.12): three ISO weeks, two months."""
    days = ("2026-10-30", "2026-11-01", "2026-11-02", "2026-11-09")
    lines = [
        assistant("s1", f"m{i}", f"r{i}", SONNET, f"{day}T10:00:00Z", usage_of(10_000 * (i + 1), 0))
        for i, day in enumerate(days)
    ]
    write_lines(transcript(claude, project, "s1.jsonl"), lines)


def test_reports_by_week_and_month_with_until_and_breakdown_are_answered_from_the_memo(
    workspace: Path, claude: dict[str, str]
) -> None:
    days_of_responses(claude, project_dir_name(workspace))
    variants = [
        ["--by", "week"],
        ["--by", "month", "--breakdown"],
        ["--by", "day", "--until", "2026-11-01"],
        ["--by=week", "--since=20261101", "--until=20261102", "--breakdown"],
    ]
    for args in variants:
        first, path = cost(workspace, claude, "--json", *args)
        assert path == "full", args
        again, path = cost(workspace, claude, "--json", *args)
        assert path == "memo" and json.loads(again) == {**json.loads(first), "bytes_read": 0}, args
        table, path = cost(workspace, claude, *args)
        assert path == "memo" and table.startswith("cost of workspace"), args
    weeks = json.loads(cost(workspace, claude, "--json", "--by", "week")[0])
    assert [(row["key"], round(row["usd"], 6)) for row in weeks["rows"]] == [
        ("2026-W44", 0.09),
        ("2026-W45", 0.09),
        ("2026-W46", 0.12),
    ]
    cut = json.loads(cost(workspace, claude, "--json", "--by", "day", "--until", "2026-11-01")[0])
    assert [row["key"] for row in cut["rows"]] == ["2026-10-30", "2026-11-01"]


def test_every_option_that_changes_the_output_is_in_the_memo_key(workspace: Path, claude: dict[str, str]) -> None:
    """Runs that share a memo file (same scope, grouping and breakdown) but not their options
    never answer for each other: each prints what a full run with its own options prints."""
    days_of_responses(claude, project_dir_name(workspace))
    variants = [
        ["--by", "week"],
        ["--by", "week", "--since", "2026-11-02"],
        ["--by", "week", "--until", "2026-11-01"],
        ["--by", "week", "--since", "2026-11-01", "--until", "2026-11-01"],
        ["--by", "week", "--all"],
        ["--by", "week", "--breakdown"],
    ]
    firsts = {}
    for args in variants:
        out, path = cost(workspace, claude, "--json", *args)
        assert path == "full", args  # none of them answered from another's memo
        firsts[tuple(args)] = out
    totals = {args: total(out) for args, out in firsts.items()}
    assert len(set(totals.values())) >= 4  # the dates really cut
    for args in variants:
        out, _path = cost(workspace, claude, "--json", *args)
        assert json.loads(out) == {**json.loads(firsts[tuple(args)]), "bytes_read": 0}, args


def test_the_memo_key_holds_every_option_that_changes_the_output() -> None:
    from cloisterctl.cost.report_memo import CostOptions, cost_key

    base = CostOptions()
    changed = [
        CostOptions(all_projects=True),
        CostOptions(by="week"),
        CostOptions(since="2026-11-01"),
        CostOptions(until="2026-11-01"),
        CostOptions(breakdown=True),
    ]
    assert len(changed) == len(fields(CostOptions))
    keys = {cost_key("/r", options) for options in [base, *changed]}
    assert len(keys) == len(changed) + 1
    assert cost_key("/r", CostOptions(since="x")) != cost_key("/r", CostOptions(until="x"))
