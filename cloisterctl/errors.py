"""The one error family, and the one place an exception becomes an exit code.

Every error cloisterctl raises on purpose is a ``CloisterError`` whose message is complete on its
own (it names the file, key, command or task involved). ``exit_code`` is the single mapping the CLI
and the hooks use:

- a ``CloisterError``: its ``exit_code`` (1);
- a usage mistake (click's own errors): 2, decided by the CLI before anything runs;
- an ``OSError`` (permissions, a full disk, a vanished directory): 1, reported with its file;
- anything else is a bug: 3 (the CLI writes the traceback to a log file and prints one line).

``error_code`` names the kind of error for ``--json`` output.

This module imports nothing of cloisterctl's, so every layer may use it.
"""

from __future__ import annotations

EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class CloisterError(Exception):
    """A problem the user can act on (bad input, missing tool, locked file)."""

    exit_code = EXIT_PROBLEM


class WorkspaceError(CloisterError):
    """Not inside a git work tree, or the workspace is not initialised."""


class ConfigError(CloisterError):
    """The user config (~/.config/cloisterctl/config.yaml) or .cloister/config.yaml is unreadable or invalid."""


class StateFileError(CloisterError):
    """STATE.md front matter cannot be read or written safely."""


class LedgerError(CloisterError):
    """The ledger cannot be read or appended to."""


class LockTimeout(CloisterError):
    """Another cloisterctl process held a lock for longer than the timeout."""

    def __init__(self, message: str, *, path: object = None) -> None:
        super().__init__(message)
        self.path = path  # the lock file, so a caller can tell which lock it was


class UnsafeFileError(CloisterError):
    """A workspace file that is a symlink where none is followed, not a regular file (a device, a
    FIFO), or over its size cap (``files.safeopen``); nothing was read or written through it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason  # without the path, for a caller that names the file its own way


class ToolError(CloisterError):
    """An external tool (git, bd, tmux, an agent CLI) is missing or failed."""


class TaskError(CloisterError):
    """A beads task is unknown or its data is unusable."""


class UnknownModelError(CloisterError):
    """A model id that no tier's patterns claim (or that several claim)."""


class CostError(CloisterError):
    """A usage record or a cost option cannot be used."""


class UsageError(CloisterError):
    """A transcript or usage file cannot be read or understood."""


class ReplayError(CloisterError):
    """A replay input line (``FILE:LINE``) or replay option cannot be used."""


class HandoffError(CloisterError):
    """A handoff step cannot be carried out (the handoff is then recorded as failed)."""


class MalformedLine(ValueError):
    """A transcript line is JSON but its usage cannot be read (the message says why).

    Not a CloisterError: it never reaches the user on its own; the reader turns it into a
    reported-and-skipped line."""


class YamlLimit(ValueError):
    """YAML text over a size, alias-expansion or nesting limit; ``line`` (1-based) says where.

    Not a CloisterError: the reader turns it into its own error naming the file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def exit_code(exc: BaseException) -> int:
    """The exit code a command ends with when ``exc`` escapes it."""
    if isinstance(exc, CloisterError):
        return exc.exit_code
    if isinstance(exc, OSError):
        return EXIT_PROBLEM
    return EXIT_INTERNAL


def error_code(exc: BaseException) -> str:
    """A short name for the kind of error, for ``--json`` errors (``{"error": ..., "code": ...}``)."""
    names = (
        (LockTimeout, "lock_timeout"),
        (WorkspaceError, "workspace"),
        (ConfigError, "config"),
        (StateFileError, "state_file"),
        (LedgerError, "ledger"),
        (UnsafeFileError, "unsafe_file"),
        (ToolError, "tool"),
        (TaskError, "task"),
        (UnknownModelError, "unknown_model"),
        (CostError, "cost"),
        (UsageError, "usage_data"),
        (HandoffError, "handoff"),
        (ReplayError, "replay"),
        (CloisterError, "error"),
        (OSError, "os_error"),
    )
    return next((name for kind, name in names if isinstance(exc, kind)), "internal")


def describe(exc: BaseException) -> str:
    """One line for the user: the message of our errors, the file and reason of an OSError."""
    if isinstance(exc, CloisterError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"internal error: {type(exc).__name__}: {exc}"
