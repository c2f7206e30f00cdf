"""The verification of a close, run as its own detached process; the tick starts it and reads it.

``verification_plan`` says what to verify; here it runs, never inside a tick or a hook:

- ``launch`` (the tick, after it recorded a ``pending`` verification): writes the run file
  ``.cloister/local/verify/TASK.run.json`` (attempt, commands, base commit, deadline, pid) and
  starts ``python -m cloisterctl.testruns.verification ROOT TASK`` in a new session, detached.
- the worker (``main``): runs each command without a shell, under ``verification.timeout_seconds``,
  in the workspace; for ``tests.command`` a failure is compared with the same command at the
  attempt's base commit (the last commit before the attempt began, in a temporary checkout made
  with ``git archive``), so only failures new after the attempt count. A named per-task command must
  pass outright (its task is to make it pass). The result goes to ``TASK.json``, atomically.
- ``finished`` (a later tick): the verdict of each pending verification with a result, as the
  fields of a ``verification`` event with its evidence; a process that ended with no result is
  started once more (crash-resumable, like a handoff), then recorded as ``error`` (no verdict);
  one past its deadline is killed and recorded as ``error``.

A failing test is named from a JUnit report (``tests.junit_xml``) or lines like ``FAILED name``
(pytest's ``-rf``, unittest, go); when none is named, the exit code stands for the failures.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cloisterctl.config.load import load_config
from cloisterctl.config.settings import Config
from cloisterctl.errors import CloisterError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.ledger.context import Context
from cloisterctl.testruns.run import junit_counts, report_stamp
from cloisterctl.testruns.verification_plan import TESTS, Plan, argv_of
from cloisterctl.testruns.verify_files import read_json, result_path, run_path, verify_dir
from cloisterctl.workspace.layout import Workspace

OUTPUT_LINES = 20  # the last lines of a failing command's output kept as evidence
NOTE_CHARS = 1500
LINE_CHARS = 300  # of each output line and test name kept (the ledger keeps them)
RESTARTS = 1  # a verification whose process died with no result is started again this many times
_FAILED_NAME = re.compile(r"^(?:FAILED|ERROR|FAIL:?|--- FAIL:)\s+(\S+)", re.MULTILINE)


# ------------------------------------------------------------------------------------------ start


def base_commit(root: Path, start: str | None) -> str | None:
    """The last commit on HEAD's first-parent line made before ``start`` (the attempt's base)."""
    if not start:
        return None
    try:
        epoch = int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp())
        found = subprocess.run(
            ["git", "rev-list", "-1", "--first-parent", f"--before=@{epoch}", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except (OSError, ValueError):
        return None
    sha = found.stdout.strip()
    return sha if found.returncode == 0 and sha else None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child of this process is a zombie until reaped: reap it, it is not alive
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not _zombie(pid)  # another's child, reaped (or not) by whoever adopted it
    return done == 0


def _zombie(pid: int) -> bool:
    """A process that ended and was not reaped yet (an init that does not reap leaves it so)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def launch(ctx: Context, plan: Plan, *, restarts: int = 0) -> None:
    """Start the verification of ``plan`` as a detached process (the run file first)."""
    ws = ctx.ws
    verify_dir(ws).mkdir(parents=True, exist_ok=True)
    result_path(ws, plan.task).unlink(missing_ok=True)
    run = {
        "task": plan.task,
        "attempt": plan.attempt,
        "tier": plan.tier,
        "commands": list(plan.commands),
        "base": base_commit(ws.root, plan.start) if ctx.config.verification.compare_base else None,
        "started": time.time(),
        "deadline": time.time() + ctx.config.verification.timeout_seconds,
        "restarts": restarts,
        "pid": None,
    }
    atomic_write_text(run_path(ws, plan.task), json.dumps(run) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "cloisterctl.testruns.verification", str(ws.root), plan.task],
        cwd=ws.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    atomic_write_text(run_path(ws, plan.task), json.dumps({**run, "pid": process.pid}) + "\n")


def resume(ctx: Context, pending: Sequence[Plan]) -> list[str]:
    """Start each pending verification that has no process and no result (never started, or its
    process died and may be restarted); the tasks started."""
    started = []
    for plan in pending:
        if result_path(ctx.ws, plan.task).exists():
            continue
        run = read_json(run_path(ctx.ws, plan.task))
        if run is not None and run.get("attempt") == plan.attempt:
            if _alive(run.get("pid")) or int(run.get("restarts", 0)) >= RESTARTS:
                continue
            launch(ctx, plan, restarts=int(run.get("restarts", 0)) + 1)
        else:
            launch(ctx, plan)
        started.append(plan.task)
    return started


# ------------------------------------------------------------------------------------------ read


def _verdict_fields(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("result", "attempt", "tier", "commands", "exit_code", "new_failures", "output", "base", "seconds", "note")
    return {key: result[key] for key in keys if result.get(key) is not None}


def finished(ctx: Context, pending: Sequence[Plan]) -> list[dict[str, Any]]:
    """The ``verification`` event fields of each pending verification that ended: its result, or
    ``error`` when its process is gone with none (and may not be restarted) or ran out of time."""
    found = []
    for plan in pending:
        result = read_json(result_path(ctx.ws, plan.task))
        if result is not None and result.get("attempt") == plan.attempt:
            found.append({"task": plan.task, "source": "tick", **_verdict_fields(result)})
            continue
        run = read_json(run_path(ctx.ws, plan.task))
        if run is None or run.get("attempt") != plan.attempt:
            continue  # not started yet: the tick starts it
        note = None
        if _alive(run.get("pid")):
            if time.time() > float(run.get("deadline", 0)) + 5:
                _kill(run.get("pid"))
                note = f"timed out after {ctx.config.verification.timeout_seconds:g}s (killed)"
        elif int(run.get("restarts", 0)) >= RESTARTS:
            note = "its process ended without a result (started again, and again without one)"
        if note is not None:
            found.append(
                {"task": plan.task, "source": "tick", "result": "error", "attempt": plan.attempt, "note": note}
            )
    return found


def _kill(pid: Any) -> None:
    try:
        os.killpg(int(pid), signal.SIGKILL)
    except (OSError, ValueError):
        pass


# ------------------------------------------------------------------------------------------ worker


def failure_names(output: str, junit: Path | None) -> set[str]:
    """The failing tests a run names: from its JUnit report when there is one, else its output."""
    if junit is not None and junit_counts(junit) is not None:
        import xml.etree.ElementTree as ElementTree

        try:
            root = ElementTree.parse(junit).getroot()
        except (OSError, ElementTree.ParseError):
            root = None
        if root is not None:
            return {
                f"{case.get('classname', '')}::{case.get('name', '')}"[:LINE_CHARS]
                for case in root.iter("testcase")
                if case.find("failure") is not None or case.find("error") is not None
            }
    return {name[:LINE_CHARS] for name in _FAILED_NAME.findall(output)}


def _run(argv: Sequence[str], cwd: Path, timeout: float, junit: Path | None = None) -> tuple[int | None, str, bool]:
    """(exit code, merged output, whether it wrote ``junit``); exit code None when it could not run
    or ran out of time. Only a JUnit report this run wrote names its failures (not a stale one)."""
    before = report_stamp(junit)
    code, output = _run_command(argv, cwd, timeout)
    return code, output, junit is not None and report_stamp(junit) not in (None, before)


def _run_command(argv: Sequence[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    except FileNotFoundError:
        return None, f"`{argv[0]}`: command not found"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return None, out + f"\ntimed out after {timeout:g}s"
    return done.returncode, done.stdout + done.stderr


def _failures(code: int | None, output: str, junit: Path | None) -> set[str]:
    if code == 0:
        return set()
    return failure_names(output, junit) or {f"exit code {code}"}


def _at_base(argv: Sequence[str], root: Path, base: str, config: Config, timeout: float) -> set[str] | None:
    """The failures of ``argv`` at ``base``, in a temporary checkout of it; None when it cannot be
    made. A ``git archive`` of the commit, not a ``git worktree``: a worktree would be listed by
    git, and `tick --all` ticks a listed worktree whose committed ``.cloister/`` makes it a workspace."""
    import tarfile

    with tempfile.TemporaryDirectory(prefix="cloister-verify-") as scratch:
        tree = Path(scratch) / "base"
        archive = Path(scratch) / "base.tar"
        made = subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(archive), base], cwd=root, capture_output=True, check=False
        )
        if made.returncode != 0:
            return None
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: no links out of the tree
                tar.extractall(tree, filter="data")
            else:  # pragma: no cover - older 3.11: our own git's archive of our own commit
                tar.extractall(tree)  # noqa: S202
        junit = tree / config.tests.junit_xml if config.tests.junit_xml else None
        code, output, fresh = _run(argv, tree, timeout, junit)
        return _failures(code, output, junit if fresh else None) if code is not None else None


def _check(name: str, root: Path, config: Config, base: str | None, deadline: float) -> dict[str, Any]:
    argv = argv_of(name, config)
    if not argv:
        return {"name": name, "exit_code": None, "new_failures": [], "output": [f"{name}: no such command"]}
    junit = root / config.tests.junit_xml if name == TESTS and config.tests.junit_xml else None
    code, output, fresh = _run(argv, root, max(1.0, deadline - time.time()), junit)
    after = _failures(code, output, junit if fresh else None) if code is not None else set()
    new = after
    note = None
    if name == TESTS and after and base:
        before = _at_base(argv, root, base, config, max(1.0, deadline - time.time()))
        if before is not None:
            new = after - before
            if after and not new:
                note = f"failing at the base commit {base[:12]} too: not blamed on the attempt"
    return {
        "name": name,
        "argv": " ".join(argv),
        "exit_code": code,
        "new_failures": sorted(new),
        "output": [line[:LINE_CHARS] for line in output.splitlines()[-OUTPUT_LINES:]],
        "note": note,
    }


def _summary(checks: Sequence[dict[str, Any]], result: str) -> str:
    parts = []
    for check in checks:
        failures = ", ".join(check["new_failures"][:10]) or "none new"
        parts.append(f"`{check.get('argv') or check['name']}` exit {check['exit_code']} (new failures: {failures})")
        if check.get("note"):
            parts.append(str(check["note"]))
    text = f"{result}: " + "; ".join(parts)
    return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 6] + " [...]"


def verify(root: Path, task: str) -> dict[str, Any]:
    """Run the verification the run file describes; the result (also written to the result file)."""
    ws = Workspace(root)
    run = read_json(run_path(ws, task))
    if run is None:
        raise CloisterError(f"{run_path(ws, task)}: no verification to run")
    config = load_config(ws.config_path)
    started = time.monotonic()
    deadline = float(run.get("deadline", time.time() + config.verification.timeout_seconds))
    checks = [_check(str(name), root, config, run.get("base"), deadline) for name in run.get("commands", [])]
    if any(check["exit_code"] is None for check in checks):
        result = "error"
    else:
        result = "fail" if any(check["new_failures"] for check in checks) else "pass"
    failing = [check for check in checks if check["new_failures"] or check["exit_code"] is None]
    shown = failing[0] if failing else (checks[-1] if checks else None)
    data = {
        "task": task,
        "attempt": run.get("attempt"),
        "tier": run.get("tier"),
        "result": result,
        "commands": [check.get("argv") or check["name"] for check in checks],
        "exit_code": shown["exit_code"] if shown else None,
        "new_failures": sorted({name for check in checks for name in check["new_failures"]})[:50],
        "output": shown["output"] if shown and (failing or result != "pass") else [],
        "base": run.get("base"),
        "seconds": round(time.monotonic() - started, 2),
        "note": _summary(checks, result),
    }
    atomic_write_text(result_path(ws, task), json.dumps(data) + "\n")
    return data


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m cloisterctl.testruns.verification ROOT TASK", file=sys.stderr)
        return 2
    try:
        verify(Path(argv[0]), argv[1])
    except CloisterError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
