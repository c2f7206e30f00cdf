"""`cloisterctl doctor`: every check a user needs when something does not fire, in one list.

The facts come from ``doctor.probe`` (and the state and engine modules that own them: the
merge driver's registration, the ledger's reader, the tick stamp); the verdicts from
``doctor.verdicts``. Programs are looked up on the PATH tick will have: the installed schedule's own
(cron's is /usr/bin:/bin otherwise), or, with none installed, this shell's, which `schedule` would
write into it. A workspace with no schedule of its own may be covered by another's `tick --all` (a
worktree by its main checkout's, unless ``tick.worktrees`` is off there): that schedule counts.
`cloisterctl` itself is looked up on this shell's PATH: git, Claude Code and beads call it by name
from the user's environment. Nothing is written in the work tree (reading the ledger for the
prices check may refresh the fold's cache, as `status` does); a config that does not load is one
check among the others, never an error of the command.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cloisterctl.config.load import load_config
from cloisterctl.config.schema import DEFAULTS
from cloisterctl.config.settings import Config
from cloisterctl.doctor import probe, verdicts
from cloisterctl.doctor.verdicts import Check
from cloisterctl.errors import CloisterError, UnsafeFileError, WorkspaceError
from cloisterctl.files import safeopen
from cloisterctl.integrations.install import CLAUDE_EVENTS
from cloisterctl.integrations.merge_driver import is_registered
from cloisterctl.integrations.subagents_install import subagents_status
from cloisterctl.ledger import segments
from cloisterctl.ledger.context import Context, tracked_private
from cloisterctl.ledger.init import STATE_LINE, has_line
from cloisterctl.ledger.projection import unpriced_models
from cloisterctl.models.tiers import normalise_model_id
from cloisterctl.tick import stamp
from cloisterctl.workspace.covered import all_workspaces
from cloisterctl.workspace.layout import Workspace, find_workspace

SHELL_PATH = "this shell's PATH, which `schedule` would give it"


def run_doctor(directory: Path, now: float | None = None) -> list[Check]:
    try:
        ws = find_workspace(directory)
    except WorkspaceError:
        return [verdicts.workspace(None, False)]
    checks = [verdicts.workspace(str(ws.root), ws.is_initialised)]
    if not ws.is_initialised:
        return checks
    config, config_check = _config(ws)
    facts, covered_by = _schedule_facts(ws)
    shell_path = os.environ.get("PATH") or os.defpath
    tick_path, origin = (facts.path, f"the {facts.kind} schedule's PATH") if facts.path else (shell_path, SHELL_PATH)
    checks += _tools(ws, config, tick_path, origin)
    checks.append(verdicts.cloisterctl_found(probe.which("cloisterctl", shell_path), "this shell's PATH"))
    checks += _hooks(ws)
    checks.append(verdicts.subagents(*subagents_status(ws, config)))
    checks.append(verdicts.merge_driver(is_registered(ws), _state_attribute(ws)))
    checks.append(_schedule(ws, facts, covered_by, time.time() if now is None else now))
    checks.append(config_check)
    checks.append(
        verdicts.verification(config.verifies, config.verification.below_tier, sorted(config.verification.commands))
    )
    user = probe.user_config_files()
    checks.append(verdicts.user_config(user.path, user.exists, user.legacy, user.legacy_exists))
    found, looked_in = probe.transcript_dirs(ws.root)
    checks.append(verdicts.transcripts(found, looked_in))
    checks.append(_ledger(ws))
    checks.append(verdicts.local_state(tracked_private(ws)))
    checks.append(_prices(ws, config))
    return checks


def _config(ws: Workspace) -> tuple[Config, Check]:
    try:
        config = load_config(ws.config_path)
    except CloisterError as exc:
        return Config(DEFAULTS, {}), verdicts.config(str(exc), None, [])
    sources = sorted({source.rsplit(":", 1)[0] for source in config.sources.values() if source != "default"})
    return config, verdicts.config(None, config.untrusted_note, sources, config.warnings)


def _tools(ws: Workspace, config: Config, path: str, origin: str) -> list[Check]:
    spawn = config.runtime.spawn[0] if config.runtime.spawn else "claude"
    uses_claude = os.path.basename(spawn) == "claude"
    beads = config.beads
    checks = [
        verdicts.tool("git", "git", probe.which("git", path), origin),
        verdicts.tool("tmux", "tmux", probe.which("tmux", path), origin),
        verdicts.tool(
            "bd",
            beads.command,
            probe.which(beads.command, path),
            origin,
            needed=beads.use_cli == "always",
            used=(ws.root / ".beads").is_dir() or beads.use_cli == "always",
        ),
        verdicts.tool("claude", "claude", probe.which("claude", path), origin, needed=uses_claude, used=uses_claude),
    ]
    if not uses_claude:
        checks.append(verdicts.tool("spawn command", spawn, probe.which(spawn, path), origin))
    return checks


def _hooks(ws: Workspace) -> list[Check]:
    listed, problem = probe.pre_commit_config(ws.root)
    stages = [stage for hook in listed or [] for stage in verdicts.HOOK_STAGES.get(hook, ())]
    gone = probe.pre_commit_gone(ws.root, stages)
    checks = [verdicts.pre_commit(listed, probe.installed_git_hooks(ws.root, stages), problem, gone)]
    uses_beads = (ws.root / ".beads").is_dir()
    checks.append(verdicts.beads_hooks(uses_beads, probe.beads_hooks_missing(ws.root) if uses_beads else []))
    settings = probe.claude_settings(ws.root)
    missing = [event for event in CLAUDE_EVENTS if event not in settings.hook_events] if settings.hooks_in else []
    checks.append(verdicts.agent_hooks(settings.hooks_in, missing, settings.problem))
    checks.append(verdicts.statusline(settings.statusline_in, settings.other_statusline))
    return checks


def _state_attribute(ws: Workspace) -> bool:
    try:
        text = safeopen.read_capped(ws.root / ".gitattributes", safeopen.CONFIG_CAP, below=ws.root).decode("utf-8")
    except (OSError, UnicodeDecodeError, UnsafeFileError):
        return False
    return has_line(text, STATE_LINE)


def _schedule_facts(ws: Workspace) -> tuple[probe.ScheduleFacts, Path | None]:
    """This workspace's own schedule; else that of another workspace whose `tick --all` covers
    this one (the main checkout's, for a worktree: ``workspace.covered.all_workspaces``), and that
    workspace; else no schedule."""
    own = probe.installed_schedule(ws.root)
    if own.kind is not None:
        return own, None
    here = ws.root.resolve()
    for root in probe.scheduled_workspaces():
        if root.resolve() == here or not (root / ".cloister").is_dir():
            continue
        other = Workspace(root)
        try:
            config = load_config(other.config_path)
        except CloisterError:
            continue  # its tick cannot load its config either: it covers nothing
        if any(covered.root.resolve() == here for covered in all_workspaces(other, config)):
            return probe.installed_schedule(root), root
    return own, None


def _schedule(ws: Workspace, facts: probe.ScheduleFacts, covered_by: Path | None, now: float) -> Check:
    if facts.argv0 and probe.which(facts.argv0, "") is None:
        return Check(
            "schedule",
            verdicts.PROBLEM,
            f"the {facts.kind} schedule runs {facts.argv0}, which is not there any more",
            f"cloisterctl schedule --{facts.kind} --install (again, from the cloisterctl you use now)",
        )
    last = stamp.last_tick(ws)
    age = None if last is None else max(0.0, (now - last) / 60)
    return verdicts.schedule(facts.kind, facts.every_minutes, age, str(covered_by) if covered_by else None)


def _prices(ws: Workspace, config: Config) -> Check:
    table = config.prices
    try:
        state = Context.for_workspace(ws, config).state
    except (CloisterError, OSError) as exc:
        return verdicts.prices([], table.file, table.as_of, str(exc))
    return verdicts.prices([normalise_model_id(model) for model in unpriced_models(state)], table.file, table.as_of)


def _ledger(ws: Workspace) -> Check:
    files = ws.ledger_files()
    events = bad = 0
    first: str | None = None
    for path in files:
        label = str(path.relative_to(ws.root))
        try:
            read = segments.read_events(path, label=label)
        except CloisterError as exc:
            return verdicts.ledger(len(files), events, bad, first, str(exc))
        events += len(read.events)
        bad += read.bad_lines
        if read.problems and first is None:
            first = read.problems[0]
    return verdicts.ledger(len(files), events, bad, first, None)
