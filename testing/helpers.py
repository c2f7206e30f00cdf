"""Helpers every test module may use: where things are, git, the CLI in-process, stand-in configs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from cloisterctl.cli.app import cli as cli_group
from cloisterctl.ledger import segments
from cloisterctl.workspace.layout import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT / "tests" / "data"
# Real-format samples (beads exports, Claude Code transcripts), copied from the project's shared
# fixtures so that a clone of this repository alone can run the tests.
FIXTURES = DATA / "fixtures"
STANDINS = Path(__file__).resolve().parent / "standins"
STANDIN_BD = STANDINS / "bd"  # the real bd cannot be installed here
# The routing dev sets (real per-task outcomes per tier on SWE-bench), shipped with the benches.
ROUTING_DATA = REPO_ROOT / "bench" / "data"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def run(cwd: Path, *args: str, input: str | None = None) -> Result:
    """Invoke the real CLI in-process, as if started in ``cwd``."""
    return CliRunner().invoke(cli_group, ["-C", str(cwd), *args], input=input, catch_exceptions=False)


def pane_text(socket: str | None, name: str, lines: int = 200) -> str:
    """What tmux session ``name`` (on the server of ``socket``) shows now; "" when it is gone."""
    result = subprocess.run(
        ["tmux", *(["-L", socket] if socket else []), "capture-pane", "-p", "-t", f"={name}:", "-S", f"-{lines}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else ""


STANDIN_SPAWN = (
    "runtime:\n"
    "  spawn: [{python}, -m, cloisterctl.demo.standin_agent, --model, '{{model}}', --session-id, '{{session_id}}',"
    " --turn-seconds, '{turn}', {extra}'{{prompt}}']\n"
    "  resume: [{python}, -m, cloisterctl.demo.standin_agent, --resume, '{{session_id}}', --model, '{{model}}',"
    " --turn-seconds, '{turn}', {extra}'{{prompt}}']\n"
    "  stop_timeout_seconds: 3\n"
)


def standin_config(quiet: bool = False, turn: float = 0.5, extra: str = "") -> str:
    """A workspace config whose agents are stand-ins (``cloisterctl.demo.standin_agent``)."""
    flags = "--quiet, " if quiet else ""
    return STANDIN_SPAWN.format(python=sys.executable, turn=turn, extra=flags) + extra


def cli(
    ws: Path, *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``cloisterctl -C ws ARGS`` as its own process (the installed copy); a hang past ``timeout``
    seconds fails the test."""
    result = subprocess.run(
        [sys.executable, "-m", "cloisterctl", "-C", str(ws), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"cloisterctl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def handoff_events(ws: Path) -> list[tuple[str, str]]:
    return [(e["step"], e.get("status", "done")) for e in events(ws, "handoff")]


def tmux_sessions(socket: str) -> list[str]:
    result = subprocess.run(
        ["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True, text=True
    )
    return result.stdout.split()


def events(ws: Path, type_: str | None = None) -> list[dict[str, Any]]:
    """Every event a reader folds -- the committed ledger and the machine-local spool (where
    bookkeeping waits for the next commit) -- in ``(ts, id)`` order, of ``type_`` when given."""
    from cloisterctl.ledger.events import ordered

    found = ordered([*ledger_events(ws), *spooled_events(ws)])  # type: ignore[list-item]
    return [e for e in found if type_ is None or e["type"] == type_]


TASKS = [
    {
        "_type": "issue",
        "id": "app-plan",
        "title": "Plan: checkout redesign",
        "status": "open",
        "issue_type": "task",
        "labels": ["planning"],
        "metadata": {"complexity": "expert"},
    },
    {
        "_type": "issue",
        "id": "app-1",
        "title": "Implement the cart endpoint with tests",
        "status": "open",
        "issue_type": "feature",
        "dependencies": [{"issue_id": "app-1", "depends_on_id": "app-plan", "type": "blocks"}],
    },
    {
        "_type": "issue",
        "id": "app-2",
        "title": "Fix typo in README",
        "status": "open",
        "issue_type": "chore",
        "labels": ["docs"],
    },
]


def finish_handoff(ws: Path, ticks: int = 40) -> None:
    for _ in range(ticks):
        if handoff_events(ws)[-1:] in ([("completed", "done")], [("failed", "done")]):
            return
        cli(ws, "tick")
        time.sleep(0.3)
    raise AssertionError(handoff_events(ws))


def tick_json(ws: Path, *args: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(cli(ws, "tick", "--json", *args).stdout)
    return data


def write_tasks(ws: Path, tasks: list[dict[str, Any]]) -> None:
    (ws / ".beads").mkdir(exist_ok=True)
    (ws / ".beads" / "issues.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and ".git/" not in f"{p.relative_to(root)}/"[: len(".git/")]
        and not str(p.relative_to(root)).startswith(".git/")
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def beads_repo(root: Path, *extra: str) -> Path:
    (root / ".beads").mkdir(parents=True)
    lines = []
    for name in ("issues.jsonl", "issues-dolt-era.jsonl", "issues-sqlite-era.jsonl"):
        lines += (FIXTURES / "beads" / name).read_text().splitlines()
    lines += extra
    (root / ".beads" / "issues.jsonl").write_text("\n".join(lines) + "\n")
    return root


def write_config(root: Path, text: str, *, trusted: bool = True) -> Path:
    """Write the workspace's .cloister/config.yaml and, as its user would, trust it in this clone
    (`cloisterctl trust`), so the keys that name programs (a stand-in agent, a test command) count."""
    from cloisterctl.workspace.trust import set_trust

    path = root / ".cloister" / "config.yaml"
    path.write_text(text)
    if trusted:
        set_trust(Workspace(root), trusted=True)
    return path


def ledger_events(root: Path) -> list[dict[str, Any]]:
    """Every valid event of the workspace's committed ledger, from all its files, in file order."""
    found: list[dict[str, Any]] = []
    for path in Workspace(root).ledger_files():
        found += segments.read_events(path).events
    return found


def spooled_events(root: Path) -> list[dict[str, Any]]:
    """Every valid event in the workspace's machine-local signal spool (where hooks record)."""
    return segments.read_events(Workspace(root).signals_path).events


def ledger_bytes(root: Path) -> dict[str, bytes]:
    """The committed ledger's files and their bytes: to check that nothing was written."""
    return {path.name: path.read_bytes() for path in Workspace(root).ledger_files()}


def pre_commit(*args: str, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pre-commit {' '.join(args)}: {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def install_hooks(ws: Path, hooks_repo: tuple[Path, str], env: dict[str, str], *, pre_push: bool = False) -> None:
    """This checkout's pre-commit hooks (``hooks_repo``), installed in ``ws`` with the real pre-commit."""
    snapshot, sha = hooks_repo
    stages = "pre-commit, post-commit, post-merge, post-checkout, post-rewrite" + (", pre-push" if pre_push else "")
    (ws / ".pre-commit-config.yaml").write_text(
        f"default_install_hook_types: [{stages}]\n"
        "repos:\n"
        f"  - repo: {snapshot}\n"
        f"    rev: {sha}\n"
        "    hooks:\n"
        "      - id: cloister-check\n"
        "      - id: cloister-activity\n" + ("      - id: cloister-pre-push\n" if pre_push else "")
    )
    pre_commit("install", "--install-hooks", cwd=ws, env=env)


def readme_block(needle: str, lang: str = "") -> str:
    """The README's first fenced block (of ``lang``) that contains ``needle``, verbatim: tests run
    what the README says, so the two cannot drift."""
    text = (REPO_ROOT / "README.md").read_text()
    for chunk in text.split(f"```{lang}\n")[1:]:
        block = chunk.split("```", 1)[0]
        if needle in block:
            return block
    raise AssertionError(f"README.md has no ```{lang} block containing {needle!r}")


def readme_pre_commit_config(*, pre_push: bool = False) -> str:
    """The README's `.pre-commit-config.yaml`; with ``pre_push``, its opt-in hook uncommented and
    pre-push added to ``default_install_hook_types``, as the README says to."""
    block = readme_block("repo: local", "yaml")
    if not pre_push:
        return block
    lines = []
    for line in block.splitlines():
        if line.startswith(("      # - id: cloister-pre-push", "      #   ")):
            line = "      " + line[len("      # ") :]
        elif line.startswith("default_install_hook_types: ["):
            line = line.replace("]", ", pre-push]")
        lines.append(line)
    return "\n".join(lines) + "\n"


def projected(root: Path) -> dict[str, Any]:
    """STATE.md's cloister block as the fold (ledger and spool) makes it now: what STATE.md holds
    after cloisterctl's next commit (bookkeeping alone leaves STATE.md as it is until then)."""
    from cloisterctl.ledger.projection import front_matter
    from cloisterctl.ledger.store import snapshot

    block: dict[str, Any] = front_matter(snapshot(Workspace(root)).state)
    return block


_EVENT_NUMBER = iter(range(1, 10**9))


def minute_event(type_: str, minute: int, **fields: Any) -> dict[str, Any]:
    """A well-formed ledger event of agent ``a`` at minute ``minute`` of 2026-12-01 10:00 UTC, with
    increasing ids (events of one minute keep the order they were made in)."""
    from cloisterctl.ledger.schema import problem

    event = {
        "id": f"e{next(_EVENT_NUMBER):06d}",
        "ts": f"2026-12-01T10:{minute:02d}:00.000000Z",
        "type": type_,
        "agent": "a",
        **fields,
    }
    assert problem(event) is None, event
    return event


def crontab_stand_in(tmp_path: Path, table_text: str = "") -> tuple[Path, Path]:
    """No cron daemon here: a `crontab` that keeps the table in a file, as `crontab -l` prints it and
    `crontab -` sets it. Returns (the directory to put first on PATH, the table file)."""
    table = tmp_path / "crontab.txt"
    table.write_text(table_text)
    stub = tmp_path / "cron-bin" / "crontab"
    stub.parent.mkdir()
    stub.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\np = pathlib.Path({str(table)!r})\n"
        "if sys.argv[1] == '-l':\n    sys.stdout.write(p.read_text())\nelse:\n    p.write_text(sys.stdin.read())\n"
    )
    stub.chmod(0o755)
    return stub.parent, table
