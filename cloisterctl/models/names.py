"""Names are data: the one safe pattern for every id that reaches a file name, a tmux name, a commit
message or an argv (handoff, session, task, agent, decision and event ids). Stdlib only, no I/O.

A safe name is 1 to 128 characters of ``[A-Za-z0-9_.:@+-]`` whose first is a letter, a digit or
``_``. That admits every id seen in real use -- beads ids (``bd-a1b2``, ``cloister-3.1``), Claude
Code session UUIDs, our own handoff ids (``20261208T001020-1a2b3c``, ``spawn-...``, ``next-...``)
and event ids (hex), agent names (``layout.slug`` of a directory name) -- and refuses what could be
read as more than a name: a slash or ``..`` (a path), a leading ``-`` (a flag to ``bd`` or git),
whitespace, newlines and NUL (a commit trailer, an argv that fails), anything non-ASCII.

The ledger's schema checks id fields with ``is_safe_name`` (a bad line is reported and skipped);
commands, hooks and the task readers check names taken from outside the same way. ``file_in``
is the second fence where a path is built from a name. The check is a character-set test, not a
regex, because the hooks import this on every commit and tool call.
"""

from __future__ import annotations

from cloisterctl.errors import CloisterError

TYPE_CHECKING = False  # annotations only: the hooks import this module
if TYPE_CHECKING:
    from pathlib import Path

MAX_NAME = 128
_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_CHARS = _FIRST | frozenset(".:@+-")
PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,127}$"  # what is_safe_name checks, for messages and docs


def is_safe_name(value: object) -> bool:
    """Whether ``value`` is a string matching ``PATTERN``."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_NAME
        and value[0] in _FIRST
        and all(char in _CHARS for char in value)
    )


def name_problem(what: str, value: object) -> str | None:
    """Why ``value`` cannot be a ``what`` (``"task id"``, ``"agent name"``), or None when it can."""
    if is_safe_name(value):
        return None
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{what} {shown} is not a safe name (it must match {PATTERN})"


def file_in(directory: Path, name: str) -> Path:
    """``directory/name``, after checking that it is a direct child of ``directory``: the second
    fence (after the schema) wherever a file name is made from an id."""
    path = directory / name
    if "/" in name or "\x00" in name or name in ("", ".", "..") or path.parent != directory:
        raise CloisterError(f"{directory}: refusing the file name {name[:60]!r}: it would leave the directory")
    return path


def one_line(text: str, limit: int = 200) -> str:
    """``text`` as one line of at most ``limit`` characters, control characters (newlines, NUL,
    escapes) made spaces: what may go into a commit message, where a newline starts a trailer."""
    cleaned = "".join(" " if ord(char) < 32 or 127 <= ord(char) < 160 else char for char in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."
