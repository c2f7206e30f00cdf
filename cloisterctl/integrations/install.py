"""Installing cloisterctl's hooks into beads (`.beads/hooks/on_*`) and Claude Code
(`.claude/settings.local.json`, or the shared `.claude/settings.json`).

Both live alongside other tools' hooks: cloisterctl's part is marked, installing twice changes
nothing, and uninstalling removes only cloisterctl's part. What is written holds no path of this
machine: hooks call `cloisterctl` by name, through the PATH of whoever runs them, and do nothing
(silently, exit 0) where there is no `cloisterctl`, so a teammate without it is never bothered on
every tool call or task change.

- beads: a shell hook gets a marked section after its first line that saves stdin, passes it to
  `cloisterctl hook beads`, and hands the same stdin on to the rest of the hook. A hook in another
  language is kept, renamed `on_X.chained`, and run by a small shell hook that holds our section.
- Claude Code: a command hook under PostToolUse, Stop, SubagentStop and SessionStart, merged into
  the settings without touching anything else in them. By default the local settings (Claude Code
  keeps `settings.local.json` out of git; so does this, in `.git/info/exclude`); ``shared`` writes
  the committed `settings.json` for the whole team. Installing into one removes cloisterctl's
  entries from the other, so an earlier version's absolute path does not linger in a shared file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloisterctl.errors import CloisterError
from cloisterctl.files import safeopen
from cloisterctl.files.atomic import atomic_write_text
from cloisterctl.files.resources import read_resource
from cloisterctl.workspace.layout import Workspace

BEADS_EVENTS = ("on_create", "on_update", "on_close")
CLAUDE_EVENTS = ("PostToolUse", "Stop", "SubagentStop", "SessionStart")
BEGIN = "# >>> cloisterctl >>>"
END = "# <<< cloisterctl <<<"
SHELLS = ("sh", "bash", "dash", "zsh", "ksh")


# How hooks call cloisterctl: by name, and not at all where there is none (a shell runs both).
CLOISTERCTL = "cloisterctl"
GUARD = "command -v cloisterctl >/dev/null 2>&1"
SHARED_SETTINGS = ".claude/settings.json"
LOCAL_SETTINGS = ".claude/settings.local.json"


@dataclass
class InstallReport:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ beads


def beads_section(chained: str | None = None) -> str:
    template = read_resource("hooks", "beads-hook-section.sh")
    run_chained = f'exec "$(dirname "$0")/{chained}" "$@"' if chained else ""
    text = (
        template.replace("@CLOISTERCTL@", CLOISTERCTL)
        .replace("@GUARD@", GUARD)
        .replace("@CHAINED@\n", run_chained + "\n" if chained else "")
    )
    return text


def _strip_section(text: str) -> str:
    start = text.find(BEGIN)
    if start < 0:
        return text
    end = text.find(END, start)
    end = len(text) if end < 0 else text.find("\n", end) + 1 or len(text)
    return text[:start] + text[end:]


def _is_shell(text: str) -> bool:
    first = text.split("\n", 1)[0]
    words = first[2:].split() if first.startswith("#!") else []
    if not words:
        return True  # no interpreter line: a shell runs it
    program = words[1] if os.path.basename(words[0]) == "env" and len(words) > 1 else words[0]
    return os.path.basename(program) in SHELLS


def _read_text(path: Path, root: Path) -> str:
    """A work-tree file a clone may have committed: no symlink below ``root`` followed, regular
    files only, bounded (``files.safeopen``)."""
    data = safeopen.read_capped(path, safeopen.CONFIG_CAP, below=root)
    return data.decode("utf-8", errors="surrogateescape")


def _write_executable(path: Path, text: str, root: Path) -> None:
    atomic_write_text(path, text, below=root)  # never through a committed symlink
    path.chmod(path.stat().st_mode | 0o755)


def install_beads(ws: Workspace) -> InstallReport:
    report = InstallReport()
    directory = ws.root / ".beads" / "hooks"
    directory.mkdir(parents=True, exist_ok=True)
    for name in BEADS_EVENTS:
        path = directory / name
        chained = directory / f"{name}.chained"
        if not path.exists():
            _write_executable(path, "#!/bin/sh\n" + beads_section(), ws.root)
            report.changed.append(str(path.relative_to(ws.root)))
            continue
        text = _read_text(path, ws.root)
        if BEGIN not in text and not _is_shell(text):
            os.replace(path, chained)
            _write_executable(path, "#!/bin/sh\n" + beads_section(chained.name), ws.root)
            report.changed.append(str(path.relative_to(ws.root)))
            continue
        wanted_section = beads_section(chained.name if chained.exists() else None)
        base = _strip_section(text)
        head, newline, rest = base.partition("\n")
        if head.startswith("#!"):
            new = head + "\n" + wanted_section + rest
        else:
            new = "#!/bin/sh\n" + wanted_section + base
        if new == text:
            report.unchanged.append(str(path.relative_to(ws.root)))
        else:
            _write_executable(path, new, ws.root)
            report.changed.append(str(path.relative_to(ws.root)))
    return report


def uninstall_beads(ws: Workspace) -> InstallReport:
    report = InstallReport()
    directory = ws.root / ".beads" / "hooks"
    for name in BEADS_EVENTS:
        path = directory / name
        chained = directory / f"{name}.chained"
        if not path.exists():
            continue
        text = _read_text(path, ws.root)
        if BEGIN not in text:
            report.unchanged.append(str(path.relative_to(ws.root)))
            continue
        if chained.exists():
            os.replace(chained, path)
            report.changed.append(str(path.relative_to(ws.root)))
            continue
        rest = _strip_section(text)
        if rest.strip() in ("", "#!/bin/sh"):
            path.unlink()
            report.removed.append(str(path.relative_to(ws.root)))
        else:
            atomic_write_text(path, rest, below=ws.root)
            report.changed.append(str(path.relative_to(ws.root)))
    return report


# ------------------------------------------------------------------------------------------ claude


def claude_command() -> str:
    return f"{GUARD} && {CLOISTERCTL} hook claude || true"


def _is_ours(hook: Any) -> bool:
    return isinstance(hook, dict) and "cloisterctl hook claude" in str(hook.get("command", ""))


def _load_settings(path: Path, root: Path) -> dict[str, Any]:
    try:
        text = _read_text(path, root)
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text or "{}")
    except (ValueError, RecursionError) as exc:
        raise CloisterError(f"{path}: not valid JSON ({exc}); fix it before installing hooks") from None
    if not isinstance(data, dict):
        raise CloisterError(f"{path}: settings must be a JSON object")
    return data


def _save_settings(path: Path, settings: dict[str, Any], root: Path) -> None:
    atomic_write_text(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n", below=root)


def _with_ours(settings: dict[str, Any], path: Path) -> dict[str, Any]:
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise CloisterError(f"{path}: 'hooks' must be an object")
    ours = {"type": "command", "command": claude_command()}
    for event in CLAUDE_EVENTS:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise CloisterError(f"{path}: 'hooks.{event}' must be a list")
        present = False
        for group in groups:
            for index, hook in enumerate(group.get("hooks", []) if isinstance(group, dict) else []):
                if _is_ours(hook):
                    group["hooks"][index] = {**hook, **ours}
                    present = True
        if not present:
            groups.append({"matcher": "", "hooks": [dict(ours)]})
    return settings


def _without_ours(settings: dict[str, Any]) -> bool:
    """Remove cloisterctl's hooks from ``settings`` (in place); whether there were any."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return False
    changed = False
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                kept = [h for h in group["hooks"] if not _is_ours(h)]
                if len(kept) != len(group["hooks"]):
                    changed = True
                    if not kept:
                        continue
                    group = {**group, "hooks": kept}
            kept_groups.append(group)
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    if not hooks:
        settings.pop("hooks", None)
    return changed


def _keep_local_out_of_git(ws: Workspace) -> None:
    """Add the local settings file to the clone's own ignore list (``.git/info/exclude``), unless
    git ignores it already. Not committed: it is this clone's business."""
    from cloisterctl.workspace import git

    try:
        if git.is_ignored(ws.root, LOCAL_SETTINGS):
            return
        exclude = git.info_exclude(ws.root)
    except CloisterError:
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    atomic_write_text(exclude, text + ("" if text.endswith("\n") or not text else "\n") + f"/{LOCAL_SETTINGS}\n")


def install_claude(ws: Workspace, *, shared: bool = False) -> InstallReport:
    """cloisterctl's hooks into the local settings (or, ``shared``, the committed ones), and out of
    the other file."""
    report = InstallReport()
    target, other = (SHARED_SETTINGS, LOCAL_SETTINGS) if shared else (LOCAL_SETTINGS, SHARED_SETTINGS)
    path = ws.root / target
    settings = _load_settings(path, ws.root)
    before = json.dumps(settings, sort_keys=True)
    if json.dumps(_with_ours(settings, path), sort_keys=True) == before:
        report.unchanged.append(target)
    else:
        _save_settings(path, settings, ws.root)
        report.changed.append(target)
    if not shared:
        _keep_local_out_of_git(ws)
    other_path = ws.root / other
    if other_path.exists():
        other_settings = _load_settings(other_path, ws.root)
        if _without_ours(other_settings):
            _save_settings(other_path, other_settings, ws.root)
            report.removed.append(other)
    return report


def uninstall_claude(ws: Workspace) -> InstallReport:
    """cloisterctl's hooks out of both settings files."""
    report = InstallReport()
    for name in (LOCAL_SETTINGS, SHARED_SETTINGS):
        path = ws.root / name
        if not path.exists():
            continue
        settings = _load_settings(path, ws.root)
        if _without_ours(settings):
            _save_settings(path, settings, ws.root)
            report.changed.append(name)
        else:
            report.unchanged.append(name)
    return report
