"""The reviewer of a close (``verification.reviewer``): a fresh session on a higher tier reads a small
review packet and writes a verdict file; a later tick reads it. Optional: off by default.

A close below ``verification.below_tier`` is verified by its commands first
(``testruns.verification``); with a reviewer set, one whose commands passed (or that had none) is
not yet a verdict: it goes to the reviewer, and the reviewer's verdict is the verification's.

- ``resume`` (the tick, after it read the results): for each such close with no review yet,
  writes the packet ``.cloister/local/verify/TASK.review.md`` -- the task (title, description,
  acceptance criteria, from the tracker), the attempt's diff from its base commit (``git diff``, no
  shell, cut at ``review_diff_chars``), what the commands found, and where to write the verdict in
  what shape -- then the run file ``TASK.review.run.json`` (session id, tmux name, deadline),
  then starts the session through the runtime's spawn template (``handoff.steps.spawn``: a launch
  file, no shell; the reviewer tier's model) in its own tmux session, ``<the agent's>-review``,
  and marks the run file started. Cache-safe: a new session from a small packet, never the
  agent's conversation resumed. Its environment says ``CLOISTER_REVIEW``, so its hooks record
  nothing (its tool use is not the agent at work). A ``session`` line (``source: review``, role ``test-agent``)
  attributes its cost to the task; it is never the agent's session, nor an attempt.
- ``reviewed`` (the next ticks): the verdict file's ``{"verdict": "pass"|"fail", "reason": TEXT}``
  once written (the session is then stopped) becomes the verification's result, the reason its
  note and, for a failure, its output (what the escalation's packet shows); an ``error`` (no
  verdict: the close counts as it stands) when the file is not such a verdict, when the session
  ended without one, or past ``review_timeout_seconds`` (then it is stopped).

Crash-resumable like a handoff: a tick that stopped after the run file and before the start finds
it not started and starts it (with the session id fixed in the run file); one that stopped after
the start finds the session running.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.handoff.steps import spawn
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import make_event
from cloisterctl.routing.route import tracker_for
from cloisterctl.testruns.verification import base_commit
from cloisterctl.testruns.verification_plan import Plan
from cloisterctl.testruns.verify_files import read_json, result_path, review_packet_path, review_run_path, verdict_path

ROLE = "test-agent"
REASON_CHARS = 1500  # of the reviewer's reason kept in the ledger
TEXT_CHARS = 4000  # of the task's description and acceptance criteria in the packet
VERDICTS = ("pass", "fail")
SETTLE_SECONDS = 1.0


def tmux_name(ctx: Context) -> str:
    return f"{ctx.tmux_name(ctx.state.agent)}-review"


def _diff(ctx: Context, base: str | None) -> tuple[str, bool]:
    """The attempt's change (its base commit to HEAD, and what is uncommitted), cut at the
    configured size; whether it was cut."""
    argv = ["git", "-c", "core.quotepath=false", "diff", "--no-color", "--no-ext-diff", base or "HEAD"]
    try:
        found = subprocess.run(argv, cwd=ctx.ws.root, capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        return f"(git diff could not run: {exc.strerror})", False
    text = found.stdout if found.returncode == 0 else f"(git diff failed: {found.stderr.strip()[:300]})"
    limit = ctx.config.verification.review_diff_chars
    return (text[:limit], True) if len(text) > limit else (text, False)


def _task_text(ctx: Context, task: str) -> tuple[str, str, str]:
    """(title, description, acceptance criteria) from the tracker; what the ledger knows otherwise."""
    try:
        found = tracker_for(ctx.ws, ctx.config).show(task)
    except CloisterError:
        return str(ctx.state.tasks.get(task, {}).get("title") or task), "", ""
    return found.title, found.description[:TEXT_CHARS], found.acceptance_criteria[:TEXT_CHARS]


def packet(ctx: Context, plan: Plan, checks: str, base: str | None) -> str:
    """The review packet: all the reviewer gets (module docstring)."""
    title, description, criteria = _task_text(ctx, plan.task)
    diff, cut = _diff(ctx, base)
    verdict = verdict_path(ctx.ws, plan.task)
    lines = [
        f"# Review of {plan.task}: {title}",
        "",
        f"You are the {ROLE}. An agent on {plan.tier} closed this task; decide whether the change does",
        "what the task asks. Read the change and the task; run the tests if you need to. Change no file.",
        "",
        "## The task",
        "",
        description or "(no description)",
        "",
        "## Acceptance criteria",
        "",
        criteria or "(none given: judge by the task's description)",
        "",
        "## What the checks found",
        "",
        checks or "(no command was configured to check it)",
        "",
        f"## The change (git diff {base[:12] if base else 'HEAD'}{', cut' if cut else ''})",
        "",
        "```diff",
        diff.rstrip("\n") or "(no change)",
        "```",
        "",
        "## Your verdict",
        "",
        f"Write your verdict as JSON to: {verdict}",
        '{"verdict": "pass" or "fail", "reason": "one paragraph: what is right or what is wrong"}',
        "Then stop.",
    ]
    return "\n".join(lines) + "\n"


def start(ctx: Context, plan: Plan, checks: str, base: str | None) -> None:
    """Write the packet and the run file, then start the reviewer (module docstring)."""
    tier = str(plan.review)
    packet_file = review_packet_path(ctx.ws, plan.task)
    packet_file.parent.mkdir(parents=True, exist_ok=True)
    verdict_path(ctx.ws, plan.task).unlink(missing_ok=True)
    atomic_write_text(packet_file, packet(ctx, plan, checks, base))
    run = {
        "task": plan.task,
        "attempt": plan.attempt,
        "tier": tier,
        "model": ctx.config.tier_model(tier),
        "session": str(uuid.uuid4()),
        "tmux": tmux_name(ctx),
        "deadline": time.time() + ctx.config.verification.review_timeout_seconds,
        "started": False,
    }
    atomic_write_text(review_run_path(ctx.ws, plan.task), json.dumps(run) + "\n")
    _launch(ctx, run)


def _launch(ctx: Context, run: dict[str, Any]) -> None:
    task, session = str(run["task"]), str(run["session"])
    name = str(run["tmux"])
    if ctx.tmux.alive(name):  # a reviewer of an earlier close still running: this one replaces it
        ctx.tmux.stop(name, ctx.config.runtime.exit_text, ctx.config.runtime.stop_timeout_seconds)
    agent = ctx.state.agent
    prompt = review_packet_path(ctx.ws, task)
    extra = {"CLOISTER_REVIEW": task}  # its hooks record nothing (``hooks.claude``)
    spawn(ctx, agent, session, str(run["model"]), str(run["tier"]), prompt, None, tmux_name=name, extra_env=extra)
    atomic_write_text(review_run_path(ctx.ws, task), json.dumps({**run, "started": True}) + "\n")
    fields = {"session": session, "model": run["model"], "tier": run["tier"], "task": task, "role": ROLE}
    ctx.append([make_event("session", agent, ctx.clock(), **fields, source="review", event="start")])


def resume(ctx: Context, pending: Sequence[Plan]) -> list[str]:
    """Start the review of each pending close with a reviewer whose commands passed and that has no
    reviewer yet (or one a stopped tick never started); the tasks started."""
    started = []
    for plan in pending:
        if not plan.review:
            continue
        outcome = read_json(result_path(ctx.ws, plan.task))  # the worker's (a pass when it ran nothing)
        if outcome is None or outcome.get("attempt") != plan.attempt or outcome.get("result") != "pass":
            continue  # still checking, or failed: no review
        run = read_json(review_run_path(ctx.ws, plan.task))
        if run is not None and run.get("attempt") == plan.attempt:
            if not run.get("started") and not verdict_path(ctx.ws, plan.task).exists():
                _launch(ctx, run)  # a tick stopped between the run file and the start
                started.append(plan.task)
            continue
        # The attempt's base commit: the worker's (with compare_base), else found here.
        base = outcome.get("base") or base_commit(ctx.ws.root, plan.start)
        checks = str(outcome.get("note") or "") if plan.commands else ""
        start(ctx, plan, checks, base if isinstance(base, str) else None)
        started.append(plan.task)
    return started


def _verdict(data: dict[str, Any] | None) -> tuple[str, str] | None:
    """(pass or fail, reason) from a verdict file, or None when it is not one."""
    if data is None or data.get("verdict") not in VERDICTS:
        return None
    reason = data.get("reason")
    return str(data["verdict"]), (reason if isinstance(reason, str) else "")[:REASON_CHARS]


def reviewed(ctx: Context, pending: Sequence[Plan], verified: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``verified`` (the verdicts of the commands, ``testruns.verification.finished``) with each
    pass of a close that has a reviewer replaced by the reviewer's verdict, or held back while the
    review runs (module docstring)."""
    plans = {plan.task: plan for plan in pending}
    found = []
    for fields in verified:
        plan = plans.get(str(fields.get("task")))
        if plan is None or not plan.review or fields.get("result") != "pass":
            found.append(fields)
            continue
        judged = _judge(ctx, plan, fields)
        if judged is not None:
            found.append(judged)
    return found


def _settled(path: Path) -> bool:
    """Whether the verdict file is there and was not written in the last ``SETTLE_SECONDS`` (a
    reviewer's editor may write it in more than one go)."""
    try:
        return time.time() - path.stat().st_mtime >= SETTLE_SECONDS
    except OSError:
        return False


def _judge(ctx: Context, plan: Plan, fields: dict[str, Any]) -> dict[str, Any] | None:
    """The verification's fields once the review ended; None while it runs (or is to start)."""
    run = read_json(review_run_path(ctx.ws, plan.task))
    if run is None or run.get("attempt") != plan.attempt:
        return None
    base = {**fields, "review": plan.review, "reviewer_session": run.get("session")}
    if not run.get("started"):  # each tick tries again (a problem in its report) until the deadline
        if time.time() <= float(run.get("deadline", 0)):
            return None
        return {**base, "result": "error", "note": "the reviewer could not be started (see the tick's problems)"}
    name = str(run.get("tmux"))
    checks = str(fields.get("note") or "").removeprefix("pass: ")
    path = verdict_path(ctx.ws, plan.task)
    written = _settled(path)
    verdict = _verdict(read_json(path)) if written else None
    if verdict is not None:
        ctx.tmux.stop(name, ctx.config.runtime.exit_text, ctx.config.runtime.stop_timeout_seconds)
        result, reason = verdict
        note = f"{result}: reviewer on {plan.review}: {reason or '(no reason given)'}"
        if checks:
            note += f" (checks: {checks})"
        output = reason.splitlines()[-10:] if result == "fail" else []
        return {**base, "result": result, "note": note[:REASON_CHARS], "output": output}
    if written:
        problem = 'the reviewer\'s verdict file is not a verdict ({"verdict": "pass" or "fail", ...})'
    elif time.time() > float(run.get("deadline", 0)):
        problem = f"the reviewer wrote no verdict in {ctx.config.verification.review_timeout_seconds:g}s (stopped)"
    elif not ctx.tmux.alive(name):
        problem = "the reviewer's session ended without a verdict"
    else:
        return None
    ctx.tmux.stop(name, ctx.config.runtime.exit_text, ctx.config.runtime.stop_timeout_seconds)
    return {**base, "result": "error", "note": problem, "output": []}
