"""`cloisterctl hook git|beads|claude|check|pre-push ...`, dispatched without click.

A hook never fails or blocks what the user is doing because of cloisterctl's own trouble: it
reports on stderr and exits 0. The exceptions are `check`, whose job is to fail, and `pre-push`,
which passes on the test command's verdict.

Arguments are checked before anything is recorded: ``--help`` (or ``-h``) prints the hook's usage
and records nothing; an unknown git stage, beads event or Claude Code hook event records nothing,
says why on stderr and exits 0 (a hook must never block git, bd or the agent over its arguments).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing's own import costs a hook more than everything else it does
if TYPE_CHECKING:
    from collections.abc import Callable

HOOKS = ("git", "beads", "claude", "check", "pre-push", "merge-state")
USAGE = {
    "git": (
        "usage: cloisterctl hook git [post-commit|post-merge|post-checkout|post-rewrite [git's hook arguments]]\n"
        "Records the commit, merge, checkout or rewrite as activity (pre-commit's cloister-activity hook;\n"
        "with no stage, pre-commit's variables tell it). Never fails."
    ),
    "beads": (
        "usage: cloisterctl hook beads ISSUE_ID create|update|close < issue.json\n"
        "Records the task change (.beads/hooks/on_create, on_update, on_close). Never fails."
    ),
    "claude": (
        "usage: cloisterctl hook claude [EVENT] < hook-input.json\n"
        "Records a Claude Code hook (SessionStart, PostToolUse, Stop, SubagentStop, ...; the input's\n"
        "hook_event_name, else EVENT) as activity, the session, idleness or a test run. Never fails."
    ),
    "check": (
        "usage: cloisterctl hook check [FILES]\n"
        "Fails when STATE.md's front matter or .cloister/config.yaml is invalid (pre-commit's cloister-check)."
    ),
    "pre-push": (
        "usage: cloisterctl hook pre-push\n"
        "Runs tests.command, records the result, and fails the push when the tests fail (cloister-pre-push)."
    ),
}
OVERVIEW = "usage: cloisterctl hook git|beads|claude|check|pre-push ARGS...\n\n" + "\n\n".join(USAGE.values())


def _wants_help(args: list[str]) -> bool:
    return any(arg in ("-h", "--help") for arg in args)


def _handler(kind: str) -> Callable[[list[str]], int] | None:
    # Each kind imports only its own module: the git hook's path stays lean.
    if kind == "git":
        from cloisterctl.hooks.git import git_hook

        return git_hook
    if kind == "beads":
        from cloisterctl.hooks.beads import beads_hook

        return beads_hook
    if kind == "claude":
        from cloisterctl.hooks.claude import claude_hook

        return claude_hook
    return None


def run(argv: list[str]) -> int:
    """Dispatch `hook KIND ARGS...`; turn our own failures into a message and exit 0."""
    kind, rest = (argv[0], argv[1:]) if argv else ("", [])
    if kind in ("-h", "--help") or not argv:
        print(OVERVIEW, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if kind in USAGE and _wants_help(rest):
        print(USAGE[kind])
        return 0
    if kind == "check":
        from cloisterctl.hooks.check import check_hook

        return check_hook(rest)
    if kind == "pre-push":
        from cloisterctl.hooks.prepush import pre_push_hook

        return pre_push_hook(rest)
    if kind == "merge-state":
        from cloisterctl.hooks.mergestate import merge_state_hook

        return merge_state_hook(rest)
    handler = _handler(kind)
    if handler is None:
        print(f"cloisterctl: unknown hook {kind!r} ({', '.join(HOOKS)})", file=sys.stderr)
        return 2
    try:
        return handler(rest)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the user's git, bd or agent
        from cloisterctl.hooks.record import WRITTEN

        done = (
            f"recorded {len(WRITTEN)} event(s) in {', '.join(sorted(set(WRITTEN)))}" if WRITTEN else "nothing recorded"
        )
        print(f"cloister: {kind} hook: {exc} ({done})", file=sys.stderr)
        return 0
