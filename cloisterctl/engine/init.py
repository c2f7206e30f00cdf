"""`cloisterctl init`: lay down STATE.md and .cloister/ in a git work tree.

Idempotent and never destructive: a file the user already has is kept as it is (a missing line is
appended to .gitattributes, nothing else is edited), and a second run changes no byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cloisterctl.core.projection import front_matter
from cloisterctl.edges.resources import read_resource
from cloisterctl.model.events import encode, make_event
from cloisterctl.state import ledger, statefile
from cloisterctl.state.fsio import atomic_write_text
from cloisterctl.state.locking import locked
from cloisterctl.state.store import snapshot
from cloisterctl.state.workspace import Workspace, agent_slug

GITATTRIBUTES_LINE = ".cloister/ledger.jsonl merge=union"
CLOISTER_GITIGNORE = "# machine-local state: locks, ingest offsets, runtime handles, signals\n/local/\n"


@dataclass
class InitReport:
    workspace: str
    agent: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def render_state_template(title: str) -> str:
    import jinja2

    source = read_resource("templates", "STATE.md.j2")
    template = jinja2.Environment(keep_trailing_newline=True, autoescape=False).from_string(source)
    return template.render(title=title, title_yaml=json.dumps(title, ensure_ascii=False))


def _has_line(text: str, wanted: str) -> bool:
    return any(line.split() == wanted.split() for line in text.splitlines())


def init(ws: Workspace, agent: str | None, now: datetime, timeout: float | None = None) -> InitReport:
    agent_id = agent_slug(agent) if agent else None
    with locked(ws.lock_path, timeout, what="the workspace"):
        current = snapshot(ws).state
        report = InitReport(str(ws.root), agent_id or current.agent)

        ws.cloister_dir.mkdir(exist_ok=True)
        _write_if_absent(ws, ws.cloister_dir / ".gitignore", CLOISTER_GITIGNORE, report)
        _write_if_absent(ws, ws.config_path, read_resource("templates", "config.yaml"), report)

        attributes = ws.root / ".gitattributes"
        if not attributes.exists():
            atomic_write_text(attributes, GITATTRIBUTES_LINE + "\n")
            report.created.append(".gitattributes")
        else:
            text = attributes.read_text(encoding="utf-8")
            if _has_line(text, GITATTRIBUTES_LINE):
                report.kept.append(".gitattributes")
            else:
                newline = "\r\n" if "\r\n" in text else "\n"
                lead = "" if not text or text.endswith("\n") else newline
                atomic_write_text(attributes, text + lead + GITATTRIBUTES_LINE + newline)
                report.updated.append(".gitattributes")

        # The init event names the agent; it is written once, or again only to rename the agent.
        existed = ws.ledger_path.exists()
        if not existed or (agent_id is not None and agent_id != current.agent):
            name = agent_id or current.agent
            ledger.append_lines(ws.ledger_path, [encode(make_event("init", name, now))])
            report.agent = name
            (report.updated if existed else report.created).append(".cloister/ledger.jsonl")
        else:
            report.kept.append(".cloister/ledger.jsonl")

        folded = snapshot(ws).state
        if not ws.state_md.exists():
            text = render_state_template(ws.root.name)
            atomic_write_text(
                ws.state_md, statefile.with_cloister(statefile.parse(text, ws.state_md), front_matter(folded))
            )
            report.created.append("STATE.md")
        elif statefile.write_cloister(ws.state_md, front_matter(folded)):
            report.updated.append("STATE.md")
        else:
            report.kept.append("STATE.md")
    return report


def _write_if_absent(ws: Workspace, path: Path, text: str, report: InitReport) -> None:
    name = str(path.relative_to(ws.root))
    if path.exists():
        report.kept.append(name)
        return
    atomic_write_text(path, text)
    report.created.append(name)
