"""Writing cloisterctl's subagent definitions (``integrations.subagents``) into ``.claude/agents/``, keeping
them in sync with the config, and removing them again.

Only files cloisterctl wrote are ever changed or removed: a file is ours when its front matter
holds ``integrations.subagents.MARKER``. A user's own ``.claude/agents/cloister-haiku.md`` (no marker) makes
`install subagents` an error before anything is written, and is left alone by `tick`'s sync.

Installed means: a definition of ours is in ``.claude/agents/``, or the sync record is there. The
record, ``.cloister/local/subagents.json`` (machine-local), holds the hash of what was written, so
`tick` (``sync``) compares one hash and rewrites the files only when the config changed. The files
hold no path of this machine: commit them, and every clone's Claude Code has the same subagents.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cloisterctl.config.settings import Config
from cloisterctl.errors import CloisterError, UnsafeFileError
from cloisterctl.files import safeopen
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.integrations import subagents
from cloisterctl.integrations.install import InstallReport
from cloisterctl.integrations.subagents import Definition
from cloisterctl.workspace.layout import Workspace

AGENTS_DIR = ".claude/agents"


def record_path(ws: Workspace) -> Path:
    return ws.local_dir / "subagents.json"


def _ours_present(ws: Workspace) -> dict[str, str]:
    """cloisterctl's definition files in ``.claude/agents/``: name -> text."""
    directory = ws.root / AGENTS_DIR
    found: dict[str, str] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return found
    for entry in entries:
        if not (entry.name.startswith(subagents.PREFIX) and entry.name.endswith(".md")):
            continue
        try:
            text = Path(entry.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if subagents.is_ours(text):
            found[entry.name] = text
    return found


def _foreign(ws: Workspace, wanted: list[Definition], ours: dict[str, str]) -> list[str]:
    """Files in the way: named like one of ours, not written by cloisterctl."""
    directory = ws.root / AGENTS_DIR
    return [d.filename for d in wanted if d.filename not in ours and (directory / d.filename).exists()]


def _refuse_symlinks(ws: Workspace) -> None:
    """`.claude/agents` is committed: a symlink there (to your own ~/.claude/agents, say) must not
    get definitions written, or files removed, outside the clone."""
    for part in (ws.root / AGENTS_DIR).parents:
        if part == ws.root:
            break
        if part.is_symlink():
            raise CloisterError(f"{part.relative_to(ws.root)}: a symlink; not followed (nothing written)")
    if (ws.root / AGENTS_DIR).is_symlink():
        raise CloisterError(f"{AGENTS_DIR}: a symlink; not followed (nothing written)")


def _write(ws: Workspace, wanted: list[Definition], ours: dict[str, str], report: InstallReport) -> None:
    _refuse_symlinks(ws)
    directory = ws.root / AGENTS_DIR
    for definition in wanted:
        relative = f"{AGENTS_DIR}/{definition.filename}"
        if ours.get(definition.filename) == definition.text():
            report.unchanged.append(relative)
            continue
        if definition.filename not in ours and (directory / definition.filename).exists():
            continue  # a user's file: never ours to replace (install refuses before this)
        atomic_write_text(directory / definition.filename, definition.text(), below=ws.root)
        report.changed.append(relative)
    names = {definition.filename for definition in wanted}
    for stale in sorted(set(ours) - names):  # a role or tier the config no longer has
        (directory / stale).unlink(missing_ok=True)
        report.removed.append(f"{AGENTS_DIR}/{stale}")
    ws.local_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record_path(ws), json.dumps({"digest": subagents.digest(wanted)}) + "\n")


def install_subagents(ws: Workspace, config: Config) -> InstallReport:
    """Write the definitions the config asks for (an error, with nothing written, when a file of
    the same name is a user's own)."""
    wanted = subagents.definitions(config)
    ours = _ours_present(ws)
    blocked = _foreign(ws, wanted, ours)
    if blocked:
        raise CloisterError(
            f"{AGENTS_DIR}/{blocked[0]} exists and was not written by cloisterctl; rename it (nothing was written)"
        )
    report = InstallReport()
    _write(ws, wanted, ours, report)
    return report


def uninstall_subagents(ws: Workspace) -> InstallReport:
    """Remove cloisterctl's definitions (only those with its marker) and the sync record."""
    report = InstallReport()
    _refuse_symlinks(ws)
    directory = ws.root / AGENTS_DIR
    for name in sorted(_ours_present(ws)):
        (directory / name).unlink(missing_ok=True)
        report.removed.append(f"{AGENTS_DIR}/{name}")
    record_path(ws).unlink(missing_ok=True)
    try:
        directory.rmdir()  # only when nothing else is in it
    except OSError:
        pass
    return report


def _recorded_digest(ws: Workspace) -> str | None:
    try:
        data = json.loads(safeopen.read_capped(record_path(ws), safeopen.JSON_CAP))
    except (OSError, ValueError, RecursionError, UnsafeFileError):
        return None
    found = data.get("digest") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def sync_subagents(ws: Workspace, config: Config) -> InstallReport | None:
    """For `tick`: when the subagents are installed and the config changed what they say, rewrite
    them (a user's file in the way is skipped). None when there was nothing to do: one small read
    (and, with no record, one directory listing)."""
    recorded = _recorded_digest(ws)
    ours = _ours_present(ws) if recorded is None else None
    if recorded is None and not ours:
        return None  # not installed here
    wanted = subagents.definitions(config)
    if recorded == subagents.digest(wanted):
        return None
    ours = _ours_present(ws) if ours is None else ours
    report = InstallReport()
    _write(ws, wanted, ours, report)
    return report if report.changed or report.removed else None


def subagents_status(ws: Workspace, config: Config) -> tuple[list[str], bool]:
    """For `doctor`: cloisterctl's definition files here, and whether they say what the config asks."""
    ours = _ours_present(ws)
    wanted = subagents.definitions(config)
    in_sync = all(ours.get(d.filename) == d.text() for d in wanted) and set(ours) <= {d.filename for d in wanted}
    return sorted(ours), in_sync
