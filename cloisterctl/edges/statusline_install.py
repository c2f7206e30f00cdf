"""Installing `cloisterctl statusline` as Claude Code's status bar: ``statusLine`` in the workspace's
Claude settings, ``{"type": "command", "command": ...}``, merged without touching anything else.

The same rules as the agent hooks: the command calls ``cloisterctl`` by name (no path of this
machine in a file that may be committed) and does nothing, silently, where there is none; by
default it goes into the local settings (``.claude/settings.local.json``, which Claude Code keeps
out of git, and so does this, in the clone's ``info/exclude``), ``shared`` into the committed
``.claude/settings.json`` for the whole team. Installing into one removes cloisterctl's statusLine
from the other. A statusLine that is not cloisterctl's is left alone unless ``replace`` is given.
Uninstalling removes only cloisterctl's, from both files.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cloisterctl.edges.install import InstallReport, _load_settings
from cloisterctl.errors import CloisterError
from cloisterctl.state.fsio import atomic_write_text
from cloisterctl.state.workspace import Workspace

SHARED_SETTINGS = ".claude/settings.json"
LOCAL_SETTINGS = ".claude/settings.local.json"
GUARD = "command -v cloisterctl >/dev/null 2>&1"  # Claude Code runs the command through a shell
COMMAND = f"{GUARD} && cloisterctl statusline || true"


def is_ours(entry: Any) -> bool:
    return isinstance(entry, dict) and "cloisterctl statusline" in str(entry.get("command", ""))


def _save(path: Path, settings: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")


def _keep_local_out_of_git(ws: Workspace) -> None:
    """The local settings in this clone's own ignore list, unless git ignores them already."""
    try:
        ignored = subprocess.run(
            ["git", "-C", str(ws.root), "check-ignore", "-q", LOCAL_SETTINGS], capture_output=True, check=False
        )
        if ignored.returncode == 0:
            return
        found = subprocess.run(
            ["git", "-C", str(ws.root), "rev-parse", "--git-path", "info/exclude"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return  # no git: nothing to keep it out of
    exclude = Path(found.stdout.strip())
    exclude = exclude if exclude.is_absolute() else ws.root / exclude
    text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    exclude.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(exclude, text + ("" if text.endswith("\n") or not text else "\n") + f"/{LOCAL_SETTINGS}\n")


def _remove_ours(ws: Workspace, name: str, report: InstallReport) -> None:
    path = ws.root / name
    if not path.exists():
        return
    settings = _load_settings(path)
    if not is_ours(settings.get("statusLine")):
        report.unchanged.append(name)
        return
    del settings["statusLine"]
    if settings:
        _save(path, settings)
        report.changed.append(name)
    else:  # nothing but ours was in it
        path.unlink()
        report.removed.append(name)


def install_statusline(ws: Workspace, *, shared: bool = False, replace: bool = False) -> InstallReport:
    report = InstallReport()
    name, other = (SHARED_SETTINGS, LOCAL_SETTINGS) if shared else (LOCAL_SETTINGS, SHARED_SETTINGS)
    path = ws.root / name
    settings = _load_settings(path)
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
        _save(path, settings)
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
