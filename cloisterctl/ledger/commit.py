"""cloisterctl's own commits: one policy for every command that records something.

With ``tick.commit`` on (the default), a command that recorded something worth a commit of its
own (``ledger.bookkeeping``: a decision, an approval, a handoff begun or ended, a route, spawn,
stop, flags clear, verification or complexity set) commits it, with everything the spool held
for the ledger meanwhile (``ledger.spool.promote``) and STATE.md refreshed: exactly STATE.md and
``.cloister/`` (plus ``.gitattributes`` when the ledger's upkeep changed it), as cloisterctl,
with a message that says what happened. Bookkeeping alone (cost, budget warnings, usage,
activity, test runs, task changes, ...) never makes a commit: it waits in the machine-local spool,
folded by every reader, and rides the next one. With ``tick.commit`` off no command commits, every
command writes the ledger and STATE.md in the tree, and the user's own commit carries them.

Every line of a message is one line of text (``models.names.one_line``): what a merged event
says cannot add a line, a trailer or a control character to a commit.

Never during a merge, rebase, cherry-pick, revert or bisect, nor on a detached HEAD: then the
command recorded to the machine-local spool only (``Context.held``), and the first commit point
after the operation ends promotes and commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloisterctl.config.settings import Config
from cloisterctl.errors import ToolError
from cloisterctl.ledger import segments, spool
from cloisterctl.ledger.bookkeeping import BY_HAND, is_bookkeeping
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event
from cloisterctl.models.names import one_line
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import Workspace

COMMIT_PATHS = ("STATE.md", ".cloister")
_RANK = {
    "decision": 0,
    "decision_status": 0,
    "session": 1,
    "handoff": 1,
    "route": 2,
    "task": 2,
    "test_run": 3,
    "exit": 3,
}


def _line(event: Event, steps: dict[str, list[str]]) -> str | None:
    kind = event["type"]
    if kind == "decision":
        move = f"{event.get('from_tier') or '?'} -> {event.get('to_tier') or '?'}"
        return f"{event.get('trigger')}: {move} {event.get('status')}: {event.get('reason')}"
    if kind == "decision_status":
        return f"decision {event.get('decision')} {event.get('status')}"
    if kind == "handoff" and str(event.get("handoff")) in steps:
        return f"handoff {event.get('handoff')}: {', '.join(steps.pop(str(event.get('handoff'))))}"
    if kind == "route":
        return f"route {event.get('task') or 'the current task'} -> {event.get('tier')}"
    if kind == "task":
        return f"task {event.get('task')} {event.get('status')}"
    if kind == "complexity":
        return f"task {event.get('task')} complexity {event.get('level')}"
    if kind == "init":
        return f"init {event.get('agent')}"
    if kind == "test_run":
        return f"test run {'passed' if event.get('passed') else 'failed'}"
    if kind == "usage":
        return f"usage of {event.get('model')} recorded"
    if kind == "exit":
        code = event.get("exit_code")
        return f"session {event.get('session')} exited" + ("" if code is None else f" (exit code {code})")
    if kind == "flag_cleared":
        return f"flags cleared: {', '.join(event.get('flags') or [])}"
    if kind == "budget":
        return f"budget {event.get('scope')} {event.get('key')}: {event.get('level')}"
    if kind == "session" and event.get("source") == BY_HAND and event.get("event") == "end":
        return f"stop {event.get('agent')}"
    if kind == "session" and event.get("source") == BY_HAND and event.get("event") == "start":
        task = f" on {event.get('task')}" if event.get("task") else ""
        return f"spawn {event.get('agent')}{task} ({event.get('tier')})"
    if kind == "session" and event.get("event") == "start":
        return f"session {event.get('session')} started"
    return None


def commit_message(events: Sequence[Event]) -> str:
    """Decisions first (the subject names the first), then handoff steps, routes and task changes,
    test runs, the rest."""
    steps: dict[str, list[str]] = {}
    for event in events:
        if event["type"] == "handoff" and event.get("status", "done") == "done":
            steps.setdefault(str(event.get("handoff")), []).append(str(event.get("step")))
    by_hand = not any(event["type"] == "handoff" for event in events)
    spawned = by_hand and any(e["type"] == "session" and e.get("source") == BY_HAND for e in events)
    lines: list[str] = []
    for event in sorted(events, key=lambda e: _RANK.get(e["type"], 4)):
        if spawned and event["type"] == "route":
            continue  # a spawn's own route is the spawn: `route --record` before it said it already
        if event["type"] == "session" and not by_hand:
            continue  # a handoff's session: its step says it
        line = _line(event, steps)
        # A reason or a title from a merged line is text: one line, no control characters, so it
        # cannot start a line of its own, a trailer among them.
        line = None if line is None else one_line(line)
        if line is not None and line not in lines:
            lines.append(line)
    subject = lines[0] if lines else "record activity"
    body = "\n".join(f"- {line}" for line in lines[1:])
    return f"cloister: {subject}" + (f"\n\n{body}" if body else "")


def commit(
    ws: Workspace,
    config: Config,
    events: Sequence[Event],
    problems: list[str],
    *,
    extra: Sequence[str] = (),
    catch_up: bool = False,
) -> str | None:
    """Commit what ``events`` changed (and the ``extra`` files the ledger's upkeep changed); returns
    the short sha, or None (and why, in ``problems``, when something stopped it). Does nothing
    with ``tick.commit`` off."""
    tick = config.tick
    if not tick.commit:
        return None
    paths = (*COMMIT_PATHS, *(path for path in extra if path == ".gitattributes"))
    if not is_bookkeeping(events):
        message = commit_message(events)
    elif extra:
        message = f"cloister: ledger upkeep ({', '.join(extra)})"
    elif catch_up:
        message = "cloister: what an interrupted command recorded"
    else:
        message = "cloister: STATE.md's cloister block rebuilt after a merge"
    try:
        busy = git.busy_reason(ws.root)
        if busy:
            problems.append(f"not committing: {busy}; the next tick after it ends commits what was recorded")
            return None
        return git.commit_paths(ws.root, paths, message, tick.author_name, tick.author_email)
    except ToolError as exc:
        problems.append(f"not committing: {exc}")
        return None


def take_up(ctx: Context) -> None:
    """What is waiting for a commit of its own, taken up by this command's commit point (the first
    tick after it can be committed calls this): what a git operation held in the spool (a route,
    a decision, ...), moved to the ledger with everything the spool holds for it; and what an
    earlier command appended to the tracked ledger but did not commit (it was killed, or
    ``tick.commit`` was off then)."""
    if ctx.held is not None or not ctx.config.tick.commit:
        return
    if ctx.ws.signals_path.exists() and not is_bookkeeping(segments.read_events(ctx.ws.signals_path).events):
        ctx.written.extend(spool.promote(ctx.ws, ctx.config.lock_timeout))
    try:
        ctx.catch_up = git.changed(ctx.ws.root, [str(ctx.ws.ledger_dir.relative_to(ctx.ws.root))])
    except (ToolError, ValueError):
        ctx.catch_up = False


def held_note(reason: str) -> str:
    """What a command says when a git operation keeps it from the tracked files (one whole sentence)."""
    return f"{reason}: recorded locally (.cloister/local/); the next tick after it finishes commits it"


def finish(ctx: Context, *, extra: Sequence[str] = ()) -> tuple[str | None, list[str]]:
    """The commit point of a command (once per context): when it recorded something worth a
    commit, move the spool's events to the ledger (``ledger.spool.promote``), then commit, by the
    policy above.
    Returns the new commit's short sha (or None) and what stopped or troubled it."""
    if ctx.committed:
        return None, []
    ctx.committed = True
    problems: list[str] = []
    if ctx.held is not None:
        if ctx.kept_local:
            problems.append(held_note(ctx.held))
        return None, problems
    if not (ctx.written or ctx.state_md_changed or ctx.catch_up or extra):
        return None, problems  # nothing worth a commit: bookkeeping waits in the spool
    if ctx.ws.is_initialised:
        ctx.written.extend(spool.promote(ctx.ws, ctx.config.lock_timeout))
    return commit(ctx.ws, ctx.config, ctx.written, problems, extra=extra, catch_up=ctx.catch_up), problems
