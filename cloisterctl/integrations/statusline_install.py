"""Installing `cloisterctl statusline` as Claude Code's status bar: ``statusLine`` in the workspace's
Claude settings, ``{"type": "command", "command": ...}``, merged without touching anything else.

The agent hooks' rules (``integrations.install``): the command calls ``cloisterctl`` by name (no path of
this machine in a file that may be committed) and does nothing, silently, where there is none; by
default it goes into the local settings (``.claude/settings.local.json``, kept out of git in the
clone's ``info/exclude``), ``shared`` into the committed ``.claude/settings.json`` for the whole
team; installing into one removes cloisterctl's statusLine from the other. A statusLine that is
not cloisterctl's is left alone unless ``replace`` is given. Uninstalling removes only
cloisterctl's, from both files (and a file that held nothing else).
"""

from __future__ import annotations

import json
from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.integrations.install import (
    CLOISTERCTL,
    GUARD,
    LOCAL_SETTINGS,
    SHARED_SETTINGS,
    InstallReport,
    _keep_local_out_of_git,
    _load_settings,
    _save_settings,
)
from cloisterctl.workspace.layout import Workspace

COMMAND = f"{GUARD} && {CLOISTERCTL} statusline || true"  # Claude Code runs it through a shell


def is_ours(entry: Any) -> bool:
    return isinstance(entry, dict) and "cloisterctl statusline" in str(entry.get("command", ""))


def _remove_ours(ws: Workspace, name: str, report: InstallReport) -> None:
    path = ws.root / name
    if not path.exists():
        return
    settings = _load_settings(path, ws.root)
    if not is_ours(settings.get("statusLine")):
        report.unchanged.append(name)
        return
    del settings["statusLine"]
    if settings:
        _save_settings(path, settings, ws.root)
        report.changed.append(name)
    else:  # nothing but ours was in it
        path.unlink()
        report.removed.append(name)


def install_statusline(ws: Workspace, *, shared: bool = False, replace: bool = False) -> InstallReport:
    report = InstallReport()
    name, other = (SHARED_SETTINGS, LOCAL_SETTINGS) if shared else (LOCAL_SETTINGS, SHARED_SETTINGS)
    path = ws.root / name
    settings = _load_settings(path, ws.root)
    present = settings.get("statusLine")
    if present is not None and not is_ours(present) and not replace:
        shown = present.get("command") if isinstance(present, dict) else present
        raise CloisterError(
            f"{path}: a statusLine is set already ({json.dumps(shown)[:120]}); "
            "give --replace to put cloisterctl's in its place"
        )
    # Keep what the user added to ours (padding, say); the type and command are cloisterctl's.
    kept = present if isinstance(present, dict) and is_ours(present) else {}
    wanted = {**kept, "type": "command", "command": COMMAND}
    if present == wanted:
        report.unchanged.append(name)
    else:
        settings["statusLine"] = wanted
        _save_settings(path, settings, ws.root)
        report.changed.append(name)
    if not shared:
        _keep_local_out_of_git(ws)
    _remove_ours(ws, other, report)
    return report


def uninstall_statusline(ws: Workspace) -> InstallReport:
    report = InstallReport()
    for name in (LOCAL_SETTINGS, SHARED_SETTINGS):
        _remove_ours(ws, name, report)
    return report
