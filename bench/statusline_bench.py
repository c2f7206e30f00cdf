#!/usr/bin/env python3
"""`cloisterctl statusline`'s wall time against a bare start of the same interpreter (`python -c pass`).

Claude Code runs the statusLine command on every refresh of its status bar, so it must cost little
more than starting Python. Installs cloisterctl into a fresh venv the way users do (`pip install .`:
compiled bytecode, the console script), makes a workspace with an agent on a task, a transcript and
a budget, runs `tick` (which writes the statusline's summary), and times, alternating, many runs of

    <venv>/bin/python -c pass                         (Claude Code's real statusLine JSON on stdin)
    <venv>/bin/cloisterctl statusline                 (the same stdin)

Target: statusline <= 2.5x a bare start, as for the git hook (bench/hook_bench.py).

    python bench/statusline_bench.py [--runs 200] [--venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUT = ROOT / "tests" / "data" / "fixtures" / "claude-code" / "statusline-input.json"
TARGET = 2.5  # x a bare `python -c pass`


def run(argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes) -> tuple[float, bytes]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, input=stdin, check=True, capture_output=True)
    return time.perf_counter() - started, done.stdout


def venv_with_cloisterctl(venv: Path, env: dict[str, str]) -> None:
    if (venv / "bin" / "cloisterctl").exists():
        return
    print(f"installing cloisterctl into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=env)
    subprocess.run([*pip, str(ROOT)], check=True, env=env)


def workspace(base: Path, cloisterctl: str, env: dict[str, str]) -> tuple[Path, bytes]:
    """A workspace on task bench-1 with a session of its own; returns it and the statusLine input."""
    repo = base / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([cloisterctl, "init"], cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL)
    (repo / ".beads").mkdir()
    task = {"_type": "issue", "id": "bench-1", "title": "Bench", "status": "open", "issue_type": "task"}
    (repo / ".beads" / "issues.jsonl").write_text(json.dumps(task) + "\n")
    (repo / ".cloister" / "config.yaml").write_text("budgets: {day_usd: 12, task_usd: 50}\n")
    subprocess.run([cloisterctl, "route", "bench-1", "--record"], cwd=repo, check=True, env=env, capture_output=True)
    data = json.loads(INPUT.read_text())
    session = data["session_id"]
    project = Path(env["CLAUDE_CONFIG_DIR"]) / "projects" / "".join(c if c.isalnum() else "-" for c in str(repo))
    project.mkdir(parents=True)
    moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    usage = {
        "input_tokens": 900,
        "output_tokens": 400,
        "cache_read_input_tokens": 90_000,
        "cache_creation_input_tokens": 0,
    }
    lines = [
        {
            "type": "assistant",
            "sessionId": session,
            "timestamp": moment,
            "requestId": f"r{n}",
            "message": {"id": f"m{n}", "model": "claude-sonnet-4-6", "usage": usage},
        }
        for n in range(300)
    ]
    transcript = project / f"{session}.jsonl"
    transcript.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    subprocess.run([cloisterctl, "tick"], cwd=repo, check=True, env=env, capture_output=True)
    data.update(cwd=str(repo), transcript_path=str(transcript))
    data["workspace"] = {"current_dir": str(repo), "project_dir": str(repo), "added_dirs": []}
    return repo, json.dumps(data).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--venv", type=Path, help="reuse (or create) the venv here")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cloister-statusline-bench-"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(HOME=str(base / "home"), CLAUDE_CONFIG_DIR=str(base / "claude"), XDG_CACHE_HOME=str(base / "cache"))
    venv = args.venv or base / "venv"
    venv_with_cloisterctl(venv, env)
    python, cloisterctl = str(venv / "bin" / "python"), str(venv / "bin" / "cloisterctl")
    repo, stdin = workspace(base, cloisterctl, env)
    bare_argv, line_argv = [python, "-c", "pass"], [cloisterctl, "statusline"]
    _, shown = run(line_argv, repo, env, stdin)
    for _ in range(10):  # warm the page cache
        run(bare_argv, repo, env, stdin)
        run(line_argv, repo, env, stdin)
    bare: list[float] = []
    lined: list[float] = []
    for _ in range(args.runs):
        bare.append(run(bare_argv, repo, env, stdin)[0])
        lined.append(run(line_argv, repo, env, stdin)[0])
    b, s = statistics.median(bare), statistics.median(lined)
    print(f"{args.runs} runs each, alternating; the line: {shown.decode().strip()}")
    print(f"bare `python -c pass`:        median {b * 1000:.1f} ms   (min {min(bare) * 1000:.1f})")
    print(f"`cloisterctl statusline`:     median {s * 1000:.1f} ms   (min {min(lined) * 1000:.1f})")
    met = "met" if s / b <= TARGET else "MISSED"
    print(
        f"ratio statusline / bare: {s / b:.2f}x (median), {min(lined) / min(bare):.2f}x (min); target <= {TARGET}x: {met}"
    )


if __name__ == "__main__":
    main()
