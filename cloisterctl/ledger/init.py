"""`cloisterctl init`: lay down STATE.md and .cloister/ in a git work tree.

``--agent NAME`` makes NAME this worktree's agent: recorded in the worktree's private git
directory (``workspace.origin.host_agent``) and, as history, by an ``init`` event. In a workspace
whose ledger is already committed (a clone, a worktree), that event is a commit of its own
(``cloister: init NAME``, by ``ledger.commit``); the first ``init`` of a repository leaves its files
for the user to commit. During a git operation in progress or on a detached HEAD, the event goes to
the machine-local spool and STATE.md is left as it is: the next tick after it commits them.

Idempotent and never destructive: a file the user already has is kept as it is (a missing line is
appended to .gitattributes, nothing else is edited), and a second run changes no byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cloisterctl.config.settings import Config
from cloisterctl.errors import CloisterError, ToolError
from cloisterctl.files import safeopen
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.locking import locked
from cloisterctl.files.resources import read_resource
from cloisterctl.ledger import identity, segments, statefile
from cloisterctl.ledger.commit import commit, held_note
from cloisterctl.ledger.events import encode, make_event
from cloisterctl.ledger.projection import front_matter
from cloisterctl.ledger.store import snapshot
from cloisterctl.models.names import name_problem
from cloisterctl.workspace import git, origin
from cloisterctl.workspace.layout import Workspace, slug

GITATTRIBUTES_LINE = ".cloister/ledger.jsonl merge=union"  # the single-file ledger of earlier versions
SEGMENTS_LINE = ".cloister/ledger/*.jsonl merge=union"
STATE_LINE = "STATE.md merge=cloister-state"  # the driver: integrations.merge_driver (a clone without it merges text)
CLOISTER_GITIGNORE = "# machine-local state: locks, ingest offsets, runtime handles, signals\n/local/\n"


@dataclass
class InitReport:
    workspace: str
    agent: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    commit: str | None = None  # the commit of the init event, in a workspace already committed
    problems: list[str] = field(default_factory=list)


def render_state_template(title: str) -> str:
    import jinja2

    source = read_resource("templates", "STATE.md.j2")
    template = jinja2.Environment(keep_trailing_newline=True, autoescape=False).from_string(source)
    return template.render(title=title, title_yaml=json.dumps(title, ensure_ascii=False))


def has_line(text: str, wanted: str) -> bool:
    return any(line.split() == wanted.split() for line in text.splitlines())


def ensure_gitattributes(ws: Workspace) -> str:
    """Give the ledger's segments (and the single-file ledger of an earlier version, when there is
    one) git's union merge, and STATE.md its merge driver; returns "created", "updated" or "kept".
    Other lines stay as they are."""
    wanted = [SEGMENTS_LINE, STATE_LINE] + ([GITATTRIBUTES_LINE] if ws.ledger_path.exists() else [])
    attributes = ws.root / ".gitattributes"
    try:  # committed, so never followed out of the clone, and never read forever
        text = safeopen.read_capped(attributes, safeopen.CONFIG_CAP, below=ws.root).decode("utf-8")
    except FileNotFoundError:
        atomic_write_text(attributes, "".join(line + "\n" for line in wanted))
        return "created"
    missing = [line for line in wanted if not has_line(text, line)]
    if not missing:
        return "kept"
    newline = "\r\n" if "\r\n" in text else "\n"
    lead = "" if not text or text.endswith("\n") else newline
    atomic_write_text(attributes, text + lead + "".join(line + newline for line in missing))
    return "updated"


def init(
    ws: Workspace, agent: str | None, now: datetime, timeout: float | None = None, config: Config | None = None
) -> InitReport:
    """Lay the workspace down; with ``config``, commit the init event where the ledger is committed."""
    agent_id = slug(agent) if agent else None
    wrong = None if agent_id is None else name_problem("agent name", agent_id)
    if wrong is not None:  # slug keeps only safe characters; a name may still be too long
        raise CloisterError(wrong)
    with locked(ws.lock_path, timeout, what="the workspace"):
        current = snapshot(ws).state
        report = InitReport(str(ws.root), agent_id or current.agent)

        ws.cloister_dir.mkdir(exist_ok=True)
        _write_if_absent(ws, ws.cloister_dir / ".gitignore", CLOISTER_GITIGNORE, report)
        _write_if_absent(ws, ws.config_path, read_resource("templates", "config.yaml"), report)

        outcome = ensure_gitattributes(ws)
        getattr(report, outcome).append(".gitattributes")

        # The worktree's own record of its agent, which no merge can change (``workspace.origin``);
        # the init event names the agent in the ledger's history; it is written once, or again only
        # to rename the agent.
        if agent_id is not None:
            origin.host_agent(str(ws.root), agent_id)
        existed = bool(ws.ledger_files())
        held = _held(ws) if existed else None  # a git operation in progress: no tracked file now
        event = None
        if not existed or (agent_id is not None and agent_id != current.agent):
            name = agent_id or current.agent
            event = make_event("init", name, now)
            identity.stamp(ws, [event])
            identity.prove(ws, [event])
            segment = ws.segment_for(event["ts"]) if held is None else ws.signals_path
            created = not segment.exists()
            segments.append_lines(segment, [encode(event)])
            report.agent = name
            (report.created if created else report.updated).append(segment.relative_to(ws.root).as_posix())
            if held is not None:
                report.problems.append(held_note(held))
        else:
            report.kept.append(".cloister/ledger/")

        folded = snapshot(ws).state
        if held is not None:
            report.kept.append("STATE.md")
        elif not ws.state_md.exists():
            text = render_state_template(ws.root.name)
            atomic_write_text(
                ws.state_md, statefile.with_cloister(statefile.parse(text, ws.state_md), front_matter(folded))
            )
            report.created.append("STATE.md")
        elif statefile.write_cloister(ws.state_md, front_matter(folded)):
            report.updated.append("STATE.md")
        else:
            report.kept.append("STATE.md")
    if event is not None and config is not None and held is None and existed and _committed(ws):
        report.commit = commit(ws, config, [event], report.problems)
    return report


def _held(ws: Workspace) -> str | None:
    """Why no tracked file may be written now (``a rebase is in progress``), or None."""
    try:
        operation = git.operation_in_progress(ws.root)
    except ToolError:  # no git here: nothing of git's to disturb
        return None
    return None if operation is None else git.describe_operation(operation)


def _committed(ws: Workspace) -> bool:
    """Whether the workspace's ledger is in git already (so the user is not the one to commit it)."""
    try:
        return git.tracked(ws.root, [ws.ledger_dir.relative_to(ws.root).as_posix()])
    except ToolError:  # no git here: nothing to commit to
        return False


def _write_if_absent(ws: Workspace, path: Path, text: str, report: InitReport) -> None:
    name = str(path.relative_to(ws.root))
    if path.exists():
        report.kept.append(name)
        return
    atomic_write_text(path, text)
    report.created.append(name)
