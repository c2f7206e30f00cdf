"""`cloisterctl doctor`'s verdicts: facts the engine gathered (``doctor.gather``) -> one check each,
``ok``, ``warning`` or ``problem``, with what was found and, unless ok, how to fix it in one line.
Pure.

A problem is something that stops cloisterctl working here (a tool tick cannot find, hooks that
do not fire, no schedule, a config that does not load); a warning is something to know that does
not (an optional part not installed, config keys ignored until trusted, a user config in its old
place, no transcripts yet).
`doctor` exits 1 when any check is a problem.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

OK, WARNING, PROBLEM = "ok", "warning", "problem"
# The git hooks pre-commit must have installed for cloisterctl's pre-commit hooks to run, by id.
HOOK_STAGES = {
    "cloister-check": ("pre-commit",),
    "cloister-activity": ("post-commit", "post-merge", "post-checkout", "post-rewrite"),
}
INSTALL_TYPES = "default_install_hook_types: [pre-commit, post-commit, post-merge, post-checkout, post-rewrite]"
STALE_TICK_RUNS = 3  # a scheduled tick this many intervals late has stopped running
STALE_TICK_MINUTES = 5  # and never less than this


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok, warning or problem
    detail: str  # what was found
    fix: str | None = None  # one line: how to fix it (None when ok)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(name: str, detail: str) -> Check:
    return Check(name, OK, detail)


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(check.level == PROBLEM for check in checks) else 0


def tool(
    name: str, program: str, found: str | None, path_origin: str, *, needed: bool = True, used: bool = True
) -> Check:
    """A program tick runs, looked up on the PATH tick will have (``path_origin`` says whose); one
    that is not ``needed`` is a warning when missing, one not ``used`` here is fine."""
    if found:
        return ok(name, found if program == name else f"{program}: {found}")
    if not used:
        return ok(name, f"{program} is not on the PATH tick will have; not used here")
    level = PROBLEM if needed else WARNING
    return Check(
        name,
        level,
        f"{program} is not on the PATH tick will have ({path_origin})",
        f"install {program}, or run `cloisterctl schedule --cron|--systemd --install` again from a shell "
        f"where `command -v {program}` finds it",
    )


def pre_commit(
    listed: Sequence[str] | None,
    installed: Mapping[str, bool | None],
    config_problem: str | None = None,
    runner_gone: str | None = None,
) -> Check:
    """``listed``: the cloister hook ids in .pre-commit-config.yaml (None: no such file);
    ``installed``: per git hook stage, True when pre-commit installed it, False when some other
    hook is there, None when there is none; ``runner_gone``: the interpreter the installed hooks
    run, when it is gone and no pre-commit is on PATH."""
    name = "pre-commit hooks"
    if runner_gone:
        return Check(
            name,
            PROBLEM,
            f"the installed hooks run {runner_gone}, which is gone, and no `pre-commit` is on PATH: commits fail",
            "install pre-commit (pip install pre-commit), then run `pre-commit install` again",
        )
    if config_problem:
        return Check(name, PROBLEM, config_problem, "fix .pre-commit-config.yaml (see README, Install)")
    if listed is None:
        return Check(
            name,
            PROBLEM,
            "no .pre-commit-config.yaml: commits are not checked and not recorded as activity",
            "add the cloister-check and cloister-activity hooks to .pre-commit-config.yaml (README, Install)",
        )
    missing_ids = [hook for hook in HOOK_STAGES if hook not in listed]
    if missing_ids:
        return Check(
            name,
            PROBLEM,
            f".pre-commit-config.yaml does not list {', '.join(missing_ids)}",
            f"add {', '.join(f'`- id: {hook}`' for hook in missing_ids)} under cloisterctl's repo (README, Install)",
        )
    stages = [stage for hook in listed if hook in HOOK_STAGES for stage in HOOK_STAGES[hook]]
    absent = [stage for stage in stages if not installed.get(stage)]
    if absent:
        other = [stage for stage in absent if installed.get(stage) is False]
        said = f"{', '.join(absent)} not installed by pre-commit" + (
            f" ({', '.join(other)}: another hook is there)" if other else ""
        )
        return Check(
            name,
            PROBLEM,
            said,
            f"put `{INSTALL_TYPES}` in .pre-commit-config.yaml, then run `pre-commit install`",
        )
    return ok(name, f"{', '.join(listed)} listed; {', '.join(stages)} installed by pre-commit")


def beads_hooks(uses_beads: bool, missing: Sequence[str]) -> Check:
    name = "beads hooks"
    if not uses_beads:
        return ok(name, "no .beads/ here: tasks come from elsewhere (nothing to hook)")
    if missing:
        return Check(
            name,
            PROBLEM,
            f"{', '.join(missing)} in .beads/hooks without cloisterctl's section: task changes wait for the next tick",
            "cloisterctl install beads-hooks",
        )
    return ok(name, ".beads/hooks/on_create, on_update, on_close call cloisterctl")


def agent_hooks(where: Sequence[str], missing_events: Sequence[str], problem: str | None = None) -> Check:
    """``where``: the settings files holding cloisterctl's hooks; ``missing_events``: hook events
    none of them has cloisterctl's entry for."""
    name = "agent hooks"
    if problem:
        return Check(name, PROBLEM, problem, "fix the JSON, then `cloisterctl install agent-hooks`")
    if not where:
        return Check(
            name,
            PROBLEM,
            "no cloisterctl hooks in .claude/settings.local.json or .claude/settings.json: agent activity is "
            "seen only from transcripts",
            "cloisterctl install agent-hooks",
        )
    if missing_events:
        return Check(
            name, PROBLEM, f"{', '.join(where)} lacks {', '.join(missing_events)}", "cloisterctl install agent-hooks"
        )
    return ok(name, f"in {', '.join(where)}")


def statusline(where: Sequence[str], other_command: str | None) -> Check:
    name = "statusline"
    if where:
        return ok(name, f"in {', '.join(where)}")
    if other_command:
        return Check(
            name,
            WARNING,
            f"another statusLine is set ({other_command[:60]})",
            "cloisterctl install statusline --replace (if you want cloisterctl's)",
        )
    return Check(name, WARNING, "not installed (optional)", "cloisterctl install statusline")


def subagents(files: Sequence[str], in_sync: bool) -> Check:
    name = "subagents"
    if not files:
        return Check(
            name, WARNING, "no cloister-* subagents in .claude/agents (optional)", "cloisterctl install subagents"
        )
    if not in_sync:
        return Check(
            name,
            WARNING,
            f"{len(files)} definitions that do not say what the config asks (the next tick rewrites them)",
            "cloisterctl install subagents (or wait for tick)",
        )
    return ok(name, f"{len(files)} definitions in .claude/agents, as the config asks")


def cloisterctl_found(found: str | None, path_origin: str) -> Check:
    """The hooks, the statusline and the merge driver call `cloisterctl` by name."""
    name = "cloisterctl on PATH"
    if found:
        return ok(name, f"hooks and the merge driver call {found}")
    return Check(
        name,
        PROBLEM,
        f"`cloisterctl` is not on the PATH ({path_origin}): every hook and the merge driver do nothing",
        "install cloisterctl (pip install .) so `command -v cloisterctl` finds it",
    )


def merge_driver(registered: bool, attribute: bool) -> Check:
    name = "merge driver"
    if registered and attribute:
        return ok(name, "merge.cloister-state.driver in git config; STATE.md merge=cloister-state in .gitattributes")
    missing = [
        *([] if registered else ["merge.cloister-state.driver is not in this clone's git config"]),
        *([] if attribute else [".gitattributes lacks `STATE.md merge=cloister-state`"]),
    ]
    return Check(name, PROBLEM, "; ".join(missing), "cloisterctl install git")


def schedule(
    kind: str | None, every_minutes: int | None, last_tick_age: float | None, covered_by: str | None = None
) -> Check:
    """``kind``: cron or systemd when this workspace's schedule is installed, or the schedule of
    ``covered_by``, another workspace whose `tick --all` covers this one; ``last_tick_age``: minutes
    since tick last ran here (None: never seen)."""
    name = "schedule"
    last = "tick has not run here yet" if last_tick_age is None else f"tick last ran {_ago(last_tick_age)}"
    if kind is None:
        return Check(
            name,
            PROBLEM,
            f"no crontab line or systemd timer runs tick here, nor `tick --all` of a workspace that covers this one; "
            f"{last}",
            "cloisterctl schedule --cron --install (or --systemd --install; in a worktree: in the main checkout)",
        )
    every = every_minutes or 1
    when = f"every {every}m" + (f" by `tick --all` in {covered_by}, which covers this workspace" if covered_by else "")
    stale_after = max(STALE_TICK_MINUTES, STALE_TICK_RUNS * every)
    if last_tick_age is None or last_tick_age > stale_after:
        log = f"{covered_by}/.cloister/local/tick.log" if covered_by else ".cloister/local/tick.log"
        fix = (
            f"see {log}; is cron running?"
            if kind == "cron"
            else "systemctl --user enable --now the timer (`cloisterctl schedule --systemd` prints it)"
        )
        return Check(name, PROBLEM, f"{kind}, {when}, but {last}", fix)
    return ok(name, f"{kind}, {when}; {last}")


def _ago(minutes: float) -> str:
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes:.0f} minutes ago"
    return f"{minutes / 60:.0f} hours ago" if minutes < 48 * 60 else f"{minutes / 1440:.0f} days ago"


def config(
    problem: str | None, untrusted_note: str | None, sources: Sequence[str], warnings: Sequence[str] = ()
) -> Check:
    name = "config"
    if problem:
        return Check(name, PROBLEM, problem, "fix it (`cloisterctl config validate` lists every problem)")
    if untrusted_note:
        return Check(name, WARNING, untrusted_note, "cloisterctl trust (after reading .cloister/config.yaml)")
    if warnings:
        more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
        return Check(name, WARNING, warnings[0] + more, "rename the key as the warning says")
    return ok(name, f"valid ({', '.join(sources) or 'built-in defaults only'})")


def user_config(path: str, exists: bool, legacy: str, legacy_exists: bool) -> Check:
    """The user config: ``path`` is where it lives now; ``legacy`` its old place, read only while
    ``path`` does not exist."""
    name = "user config"
    if legacy_exists and exists:
        return Check(
            name,
            WARNING,
            f"{legacy} is ignored: {path} exists and is read instead",
            f"move what you still need from {legacy} into {path}, then delete {legacy}",
        )
    if legacy_exists:
        folder = posixpath.dirname(path)
        return Check(
            name,
            WARNING,
            f"{legacy} is read from the old place; the user config now lives in {path}",
            f"mkdir -p {shlex.quote(folder)} && mv {shlex.quote(legacy)} {shlex.quote(path)}",
        )
    return ok(name, path if exists else f"none (optional: {path})")


def transcripts(found: Sequence[str], looked_in: Sequence[str]) -> Check:
    name = "transcripts"
    if found:
        return ok(name, ", ".join(found))
    return Check(
        name,
        WARNING,
        f"no Claude Code transcripts for this workspace yet (looked in {', '.join(looked_in) or 'nothing'})",
        "start an agent here; if Claude Code keeps its files elsewhere, set CLAUDE_CONFIG_DIR before `schedule`",
    )


def ledger(files: int, events: int, bad_lines: int, first_bad: str | None, unreadable: str | None) -> Check:
    name = "ledger"
    if unreadable:
        return Check(name, PROBLEM, unreadable, "check the file's permissions")
    if bad_lines:
        return Check(
            name,
            WARNING,
            f"{_count(bad_lines, 'bad line')} skipped by every reader; the first: {first_bad}",
            "fix or delete those lines by hand (the rest of the ledger is read as it is)",
        )
    return ok(name, f"{_count(events, 'event')} in {_count(files, 'file')}, no bad lines")


def local_state(tracked: Sequence[str]) -> Check:
    """Whether git tracks a file of ``.cloister/local/`` (this machine's own, never committed)."""
    name = "machine-local state"
    if tracked:
        shown = ", ".join(tracked[:3]) + (" ..." if len(tracked) > 3 else "")
        return Check(
            name,
            PROBLEM,
            f"git tracks {shown}: a clone committed it; tick and every recording command refuse to run",
            f"git rm -r --cached {tracked[0].rsplit('/', 1)[0]} and commit, then check what it held",
        )
    return ok(name, ".cloister/local/ is not tracked")


def prices(unpriced: Sequence[str], table: str, as_of: str, problem: str | None = None) -> Check:
    """The models this workspace's cost counts at $0 for want of a price (from the folded ledger)."""
    name = "prices"
    if problem:
        return Check(name, WARNING, f"cannot tell which models have no price: {problem}", "see the ledger check")
    if unpriced:
        models = ", ".join(unpriced)
        return Check(
            name,
            WARNING,
            f"no price for {models}: counted as $0, so the cost, STATE.md and every budget undercount",
            f"add cost.prices.{unpriced[0]}: {{input: USD, output: USD}} (per million tokens) to .cloister/config.yaml",
        )
    return ok(name, f"every model in this workspace's cost has a price ({table}, as of {as_of})")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def workspace(root: str | None, initialised: bool) -> Check:
    name = "workspace"
    if root is None:
        return Check(name, PROBLEM, "not inside a git work tree", "cd into your repository (or give -C DIR)")
    if not initialised:
        return Check(name, PROBLEM, f"{root}: no .cloister/ here", "cloisterctl init")
    return ok(name, root)


def verification(configured: bool, below_tier: str, commands: Sequence[str]) -> Check:
    """Whether closes are verified before they count; without it the recall of failure detection
    is unknown (a wrong close on a cheap tier is recorded as a success). Optional, so never a warning."""
    name = "verification"
    if not configured:
        return ok(
            name,
            f"none configured (optional): a close below {below_tier} counts unchecked and the recall of failure "
            "detection is unknown; set tests.command (or verification.commands) to verify closes",
        )
    named = f" and {len(commands)} named command(s) ({', '.join(commands)})" if commands else ""
    return ok(name, f"closes below {below_tier} are verified before they count: tests.command{named}")
