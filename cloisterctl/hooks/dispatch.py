"""`cloisterctl hook git|beads|claude|check|pre-push ...`, dispatched without click.

A hook never fails or blocks what the user is doing because of cloisterctl's own trouble: it
reports on stderr and exits 0. The exceptions are `check`, whose job is to fail, and `pre-push`,
which passes on the test command's verdict.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing's own import costs a hook more than everything else it does
if TYPE_CHECKING:
    from collections.abc import Callable

HOOKS = ("git", "beads", "claude", "check", "pre-push")


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
    if kind == "check":
        from cloisterctl.hooks.check import check_hook

        return check_hook(rest)
    if kind == "pre-push":
        from cloisterctl.hooks.prepush import pre_push_hook

        return pre_push_hook(rest)
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
