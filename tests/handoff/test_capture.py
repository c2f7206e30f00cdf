"""The agent is never left with nothing because of its prompt: a prompt past tmux's 16 KB reaches
the new session whole (through a launch file, not tmux's command line), task text is clipped,
placeholders inside task text stay as written, and a prompt too big to pass fails the handoff
before the old agent is stopped."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cloisterctl.runtime.launch import fill_template
from testing.helpers import cli, events, standin_config, tmux_sessions, write_config


def _tasks(ws: Path, *tasks: dict[str, Any]) -> None:
    (ws / ".beads").mkdir(exist_ok=True)
    (ws / ".beads" / "issues.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))


def _first_user_message(tmp_path: Path, session: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = list((tmp_path / "claude" / "projects").glob(f"*/{session}.jsonl"))
        if found and found[0].read_text().strip():
            line = json.loads(found[0].read_text().splitlines()[0])
            return str(line["message"]["content"])
        time.sleep(0.1)
    raise AssertionError("the agent wrote no transcript")


def test_placeholders_are_filled_in_one_pass() -> None:
    values = {"prompt": "Fix {workspace} and {agent}", "workspace": "/w", "agent": "a"}
    assert fill_template(["--p={prompt}", "{workspace}", "{unknown}"], values) == [
        "--p=Fix {workspace} and {agent}",
        "/w",
        "{unknown}",
    ]


def test_a_prompt_past_tmux_s_limit_reaches_the_agent_whole(agent_ws: Path, tmux_socket: str, tmp_path: Path) -> None:
    words = " ".join(f"step{n} {{workspace}}" for n in range(1800))  # about 19 KB of task text
    _tasks(agent_ws, {"id": "bd-1", "title": "Keep {agent} and {prompt_file} as written", "description": words})
    started = json.loads(cli(agent_ws, "spawn", "bd-1", "--tier", "haiku", "--json").stdout)
    prompt = (agent_ws / started["prompt"]).read_text()
    assert len(prompt.encode()) > 16 * 1024
    assert "Keep {agent} and {prompt_file} as written" in prompt and "step5 {workspace}" in prompt
    assert _first_user_message(tmp_path, started["session"]) == prompt
    assert started["tmux"] in tmux_sessions(tmux_socket)
    assert not list((agent_ws / ".cloister" / "local").glob("launch-*.json"))  # read, then removed


def test_a_megabyte_title_is_clipped_in_the_packet(agent_ws: Path, tmux_socket: str) -> None:
    _tasks(agent_ws, {"id": "bd-1", "title": "x" * 1_000_000, "description": "y " * 500_000})
    started = json.loads(cli(agent_ws, "spawn", "bd-1", "--tier", "haiku", "--json").stdout)
    packet = json.loads((agent_ws / started["packet"]).read_text())
    assert packet["token_estimate"] <= 8000
    assert len((agent_ws / started["prompt"]).read_bytes()) < 40_000


def test_a_prompt_too_big_to_pass_fails_the_handoff_before_stopping_the_agent(agent_ws: Path, tmux_socket: str) -> None:
    started = json.loads(cli(agent_ws, "spawn", "--tier", "sonnet", "--json").stdout)
    write_config(
        agent_ws,
        standin_config()
        + "handoffs:\n  idle_seconds: 1\n  save_timeout_seconds: 2\n  packet: {budget_tokens: 60000, warn_tokens: 60000}\n",
    )
    state = agent_ws / "STATE.md"
    notes = "".join(f"- progress note {n}: " + "z" * 400 + "\n" for n in range(400))  # 160 KB of notes
    state.write_text(state.read_text() + "\n## Progress\n\n" + notes)
    result = cli(agent_ws, "handoff", "repo", "--to", "haiku", "--reason", "cheaper", "--json", check=False)
    assert result.returncode == 1
    failed = [e for e in events(agent_ws, "handoff") if e["step"] == "failed"]
    assert failed and "more than one program argument may hold" in failed[0]["reason"]
    assert not [e for e in events(agent_ws, "handoff") if e["step"] == "stopped"]
    assert started["tmux"] in tmux_sessions(tmux_socket)  # the working agent is still there
