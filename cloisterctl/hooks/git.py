"""`cloisterctl hook git [TYPE [git's hook arguments]]`: commits, merges, checkouts and rewrites,
recorded as activity (pre-commit's `cloister-activity` hook). Imports nothing beyond ``os``,
``sys`` and ``hooks.record``. An argument that is no git stage records nothing (and says so).
"""

from __future__ import annotations

import os
import sys

from cloisterctl.hooks.record import append_event, event, find_workspace

SELF_ENV = "CLOISTER_SELF_COMMIT"  # set by cloisterctl's own commits (cloisterctl.workspace.git.SELF_ENV)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def head_commit(root: str) -> str | None:
    """HEAD's sha read straight from the git directory (worktrees and packed refs included)."""
    git_path = os.path.join(root, ".git")
    if os.path.isfile(git_path):
        pointer = _read(git_path) or ""
        if not pointer.startswith("gitdir:"):
            return None
        git_dir = os.path.normpath(os.path.join(root, pointer[len("gitdir:") :].strip()))
    else:
        git_dir = git_path
    head = _read(os.path.join(git_dir, "HEAD"))
    if head is None:
        return None
    if not head.startswith("ref:"):
        return head
    ref = head[4:].strip()
    common = _read(os.path.join(git_dir, "commondir"))
    common_dir = os.path.normpath(os.path.join(git_dir, common)) if common else git_dir
    for base in (git_dir, common_dir):
        sha = _read(os.path.join(base, ref))
        if sha:
            return sha
    packed = _read(os.path.join(common_dir, "packed-refs")) or ""
    for line in packed.splitlines():
        if line.endswith(" " + ref):
            return line.split(" ", 1)[0]
    return None


STAGES = ("post-commit", "post-merge", "post-checkout", "post-rewrite")


def hook_type(args: list[str]) -> str | None:
    """The git hook being run: named in the arguments, or (under pre-commit, which passes none)
    told by the variables pre-commit sets for each stage; None for an argument that is no stage."""
    if args:
        return args[0] if args[0] in STAGES else None
    if "PRE_COMMIT_CHECKOUT_TYPE" in os.environ:
        return "post-checkout"
    if "PRE_COMMIT_IS_SQUASH_MERGE" in os.environ:
        return "post-merge"
    if "PRE_COMMIT_REWRITE_COMMAND" in os.environ:
        return "post-rewrite"
    return "post-commit"


def git_hook(args: list[str]) -> int:
    """`hook git [TYPE [git's hook arguments]]`: record the commit as activity (the cheap part of a
    tick: the signal is in place, with the commit it is about, before the next tick looks)."""
    hook = hook_type(args)
    if hook is None:
        print(f"cloister: git hook: unknown stage {args[0]!r} ({', '.join(STAGES)}); nothing recorded", file=sys.stderr)
        return 0
    if args and args[0] == hook:
        args = args[1:]
    if os.environ.get(SELF_ENV):
        return 0  # cloisterctl's own commit is not anyone's progress
    workspace = find_workspace(os.getcwd())
    if workspace is None:
        return 0
    fields: dict[str, str | int | bool | None] = {"source": "git", "hook": hook, "commit": head_commit(workspace)}
    if hook == "post-checkout":
        fields["checkout"] = os.environ.get("PRE_COMMIT_CHECKOUT_TYPE") or (args[2] if len(args) > 2 else None)
        if fields["checkout"] == "0":
            return 0  # a file checkout, not a branch switch
    if hook == "post-rewrite":
        fields["rewrite"] = os.environ.get("PRE_COMMIT_REWRITE_COMMAND") or (args[0] if args else None)
    append_event(workspace, event("activity", **fields))
    if hook in ("post-merge", "post-rewrite") and _has_conflict_markers(os.path.join(workspace, "STATE.md")):
        _repair_state_md(workspace)
    return 0


def _has_conflict_markers(path: str) -> bool:
    from cloisterctl.errors import CloisterError
    from cloisterctl.files.safeopen import STATE_CAP, read_capped

    try:  # a symlink, a special file or a huge one is not repaired here: the tick says what it is
        data = read_capped(path, STATE_CAP, below=os.path.dirname(path))
    except (OSError, CloisterError):
        return False
    return data.startswith(b"<<<<<<< ") or b"\n<<<<<<< " in data


def _repair_state_md(workspace: str) -> None:
    """A merge or rewrite that left conflict markers in STATE.md (a clone without the merge
    driver, a conflict committed by mistake): rebuild the cloister block from the ledger, the one
    change a hook makes to a tracked file, and only to one that is broken already."""
    from pathlib import Path

    from cloisterctl.integrations.merge_driver import repair
    from cloisterctl.ledger.context import Context

    for note in repair(Context.find(Path(workspace))):
        print(f"cloister: {note}", file=sys.stderr)
