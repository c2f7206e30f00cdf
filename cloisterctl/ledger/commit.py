"""cloisterctl's own commits: one policy for every command that records something.

With ``tick.commit`` on (the default), a command that appended to the ledger or changed STATE.md
commits exactly that (STATE.md and ``.cloister/``, plus ``.gitattributes`` when the ledger's
upkeep changed it) as cloisterctl, with a message naming what it recorded; with it off, none
does, and the changes wait for the user's own commit. Never during a merge, rebase, cherry-pick
or bisect (the next command or tick commits instead).

Cost moves every minute, and a commit a minute would bury the history a team reviews. So a
bookkeeping commit -- one that records only cost checkpoints (and the budget warnings that move
with them), or only STATE.md refreshed from the ledger -- amends cloisterctl's own bookkeeping
commit when that is HEAD and no remote-tracking branch has it yet; otherwise it is a new commit,
which later bookkeeping amends in turn. A pushed commit is never rewritten, and nothing but
bookkeeping is ever amended.

Every line of a message is one line of text (``models.names.one_line``): what a merged event
says cannot add a line, a trailer or a control character to a commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloisterctl.config.settings import Config
from cloisterctl.errors import ToolError
from cloisterctl.ledger import spool
from cloisterctl.ledger.context import Context
from cloisterctl.ledger.events import Event
from cloisterctl.models.names import one_line
from cloisterctl.workspace import git
from cloisterctl.workspace.layout import Workspace

COMMIT_PATHS = ("STATE.md", ".cloister")
# The trailer of a bookkeeping commit (cost, or STATE.md refreshed): one later bookkeeping amends.
BOOKKEEPING_TRAILER = "Cloister-Commit: bookkeeping"
_RANK = {"decision": 0, "decision_status": 0, "handoff": 1, "route": 2, "task": 2, "test_run": 3, "exit": 3}


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
    lines: list[str] = []
    for event in sorted(events, key=lambda e: _RANK.get(e["type"], 4)):
        line = _line(event, steps)
        # A reason or a title from a merged line is text: one line, no control characters, so it
        # cannot start a trailer (``Cloister-Commit: bookkeeping`` would let a later commit amend it).
        line = None if line is None else one_line(line)
        if line is not None and line not in lines:
            lines.append(line)
    subject = lines[0] if lines else "record activity"
    body = "\n".join(f"- {line}" for line in lines[1:])
    return f"cloister: {subject}" + (f"\n\n{body}" if body else "")


def bookkeeping_message(events: Sequence[Event], total_usd: float) -> str:
    subject = f"cost ${total_usd:,.2f} so far" if events else "STATE.md refreshed from the ledger"
    return f"cloister: {subject}\n\n{BOOKKEEPING_TRAILER}"


def is_bookkeeping(events: Sequence[Event]) -> bool:
    """Only cost checkpoints and budget warnings (or nothing: STATE.md alone changed); a budget's
    flag at its limit is a decision."""
    return all(event["type"] in ("cost", "budget") for event in events)


def commit(
    ws: Workspace,
    config: Config,
    events: Sequence[Event],
    problems: list[str],
    *,
    extra: Sequence[str] = (),
    total_usd: float = 0.0,
) -> str | None:
    """Commit what ``events`` changed (and the ``extra`` files the ledger's upkeep changed); returns
    the short sha, or None (and why, in ``problems``, when something stopped it). Does nothing
    with ``tick.commit`` off."""
    tick = config.tick
    if not tick.commit:
        return None
    paths = (*COMMIT_PATHS, *(path for path in extra if path == ".gitattributes"))
    bookkeeping = is_bookkeeping(events) and not extra
    if bookkeeping:
        message = bookkeeping_message(events, total_usd)
    elif events:
        message = commit_message(events)
    else:
        message = f"cloister: ledger upkeep ({', '.join(extra)})"
    try:
        busy = git.busy_reason(ws.root)
        if busy:
            problems.append(f"not committing: {busy}; the next command or tick will")
            return None
        amend = bookkeeping and git.head_is_own_unpushed(ws.root, tick.author_email, BOOKKEEPING_TRAILER)
        return git.commit_paths(ws.root, paths, message, tick.author_name, tick.author_email, amend=amend)
    except ToolError as exc:
        problems.append(f"not committing: {exc}")
        return None


def finish(ctx: Context, *, extra: Sequence[str] = ()) -> tuple[str | None, list[str]]:
    """The commit point of a command that recorded something (once per context): move the spool's
    durable events to the ledger (``ledger.spool.promote``), then commit, by the policy above.
    Returns the new commit's short sha (or None) and what stopped or troubled it."""
    if ctx.committed:
        return None, []
    ctx.committed = True
    problems: list[str] = []
    if not (ctx.written or ctx.state_md_changed or extra):
        return None, problems  # a command that recorded nothing is no commit point
    if ctx.ws.is_initialised:
        ctx.written.extend(spool.promote(ctx.ws, ctx.config.lock_timeout))
    total = ctx.state.cost_totals.micro_usd / 1_000_000
    return commit(ctx.ws, ctx.config, ctx.written, problems, extra=extra, total_usd=total), problems
