"""Hook entry points: `cloisterctl hook git|beads|claude|check|pre-push ...`, dispatched without click.

The git hooks run on every commit, merge, checkout and rewrite, so their path imports nothing
beyond ``os``, ``sys``, ``time`` and ``fcntl`` (no json, pathlib, yaml or filelock). A hook never
fails or blocks what the user is doing because of cloisterctl's own trouble: it reports on stderr
and exits 0. The exceptions are `check`, whose job is to fail, and `pre-push`, which passes on the
test command's verdict.
"""

from __future__ import annotations

import os
import sys
import time

from cloisterctl.appendlog import append_bytes, lock, unlock

LOCK_TIMEOUT_SECONDS = 2.0
SELF_ENV = "CLOISTER_SELF_COMMIT"  # set by cloisterctl's own commits (cloisterctl.git.SELF_ENV)
_SAFE = frozenset(" !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~")


def now_iso() -> str:
    moment = time.time()
    seconds = int(moment)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((moment - seconds) * 1e6):06d}Z"


def _json_string(text: str) -> str:
    if all(char in _SAFE for char in text):
        return '"' + text + '"'
    import json  # rare: only for text outside plain ASCII

    return json.dumps(text, ensure_ascii=False)


def encode_flat(fields: dict[str, str | int | bool | None]) -> str:
    """One JSON object of flat values, without the json module."""
    parts = []
    for key, value in fields.items():
        if value is None:
            rendered = "null"
        elif isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int):
            rendered = str(value)
        else:
            rendered = _json_string(value)
        parts.append(f'"{key}":{rendered}')
    return "{" + ",".join(parts) + "}"


def find_workspace(start: str) -> str | None:
    """The nearest directory at or above ``start`` with a `.cloister/` directory."""
    current = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(current, ".cloister")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def append_line(workspace: str, line: str, *, local: bool) -> None:
    """Append one event line to the signal spool (local) or the committed ledger, under the lock."""
    directory = os.path.join(workspace, ".cloister", "local")
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, "signals.jsonl") if local else os.path.join(workspace, ".cloister", "ledger.jsonl")
    fd = lock(os.path.join(directory, "ledger.lock"), LOCK_TIMEOUT_SECONDS)
    try:
        append_bytes(target, (line + "\n").encode("utf-8"))
    finally:
        unlock(fd)


def event(type_: str, **fields: str | int | bool | None) -> dict[str, str | int | bool | None]:
    return {
        "id": os.urandom(8).hex(),
        "ts": now_iso(),
        "type": type_,
        "agent": os.environ.get("CLOISTER_AGENT_ID", ""),
        **fields,
    }


# ----------------------------------------------------------------------------------------- git


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


def hook_type(args: list[str]) -> str:
    """The git hook being run: named in the arguments, or (under pre-commit, which passes none)
    told by the variables pre-commit sets for each stage."""
    if args and args[0].startswith("post-"):
        return args[0]
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
    append_line(workspace, encode_flat(event("activity", **fields)), local=True)
    return 0


# ----------------------------------------------------------------------------------------- beads


def beads_hook(args: list[str]) -> int:
    """`hook beads ID EVENT` with the issue JSON on stdin (beads' on_create/on_update/on_close)."""
    import json

    if len(args) < 2:
        raise ValueError("usage: cloisterctl hook beads ISSUE_ID create|update|close")
    issue_id, kind = args[0], args[1]
    workspace = find_workspace(os.environ.get("CLOISTER_WORKSPACE") or os.getcwd())
    if workspace is None:
        return 0
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    try:
        issue = json.loads(raw) if raw.strip() else {}
    except ValueError:
        issue = {}
    if isinstance(issue, list):  # some callers pass `bd show --json` output, an array
        issue = issue[0] if issue and isinstance(issue[0], dict) else {}
    status = issue.get("status") if isinstance(issue, dict) else None
    if kind == "update" and status == "closed":
        kind = "close"  # `bd update --status closed` fires on_update, not on_close
    parent = issue.get("parent")
    for dep in issue.get("dependencies") or []:
        if isinstance(dep, dict) and dep.get("type") == "parent-child" and not parent:
            parent = dep.get("depends_on_id")
    record = event(
        "task",
        task=issue_id,
        event=kind,
        status=status or ("closed" if kind == "close" else None),
        title=issue.get("title"),
        issue_type=issue.get("issue_type"),
        parent=parent,
        source="beads-hook",
    )
    payload = dict(record)
    payload["labels"] = issue.get("labels") or []  # type: ignore[assignment]
    append_line(workspace, json.dumps(payload, ensure_ascii=False, separators=(",", ":")), local=False)
    return 0


# ----------------------------------------------------------------------------------------- main


def run(argv: list[str]) -> int:
    """Dispatch `hook KIND ARGS...`; turn our own failures into a message and exit 0."""
    kind, rest = (argv[0], argv[1:]) if argv else ("", [])
    if kind == "git":
        handler = git_hook
    elif kind == "beads":
        handler = beads_hook
    elif kind == "claude":
        from cloisterctl.hooks.claude import claude_hook

        handler = claude_hook
    elif kind == "check":
        from cloisterctl.hooks.check import check_hook

        return check_hook(rest)
    elif kind == "pre-push":
        from cloisterctl.hooks.prepush import pre_push_hook

        return pre_push_hook(rest)
    else:
        print(f"cloisterctl: unknown hook {kind!r} (git, beads, claude, check, pre-push)", file=sys.stderr)
        return 2
    try:
        return handler(rest)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the user's git, bd or agent
        print(f"cloister: {kind} hook: {exc} (nothing recorded)", file=sys.stderr)
        return 0
