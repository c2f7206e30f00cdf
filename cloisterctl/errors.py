"""The one error family. The CLI turns any of these into one line on stderr and an exit code."""

from __future__ import annotations


class CloisterError(Exception):
    """A problem the user can act on (bad input, missing tool, locked file).

    The message is complete on its own: it names the file, key, command or task involved.
    """

    exit_code = 1


class WorkspaceError(CloisterError):
    """Not inside a git work tree, or the workspace is not initialised."""


class ConfigError(CloisterError):
    """cloister.yaml / .cloister/config.yaml is unreadable or invalid."""


class StateFileError(CloisterError):
    """STATE.md front matter cannot be read or written safely."""


class LedgerError(CloisterError):
    """The ledger cannot be read or appended to."""


class LockTimeout(CloisterError):
    """Another cloisterctl process held a lock for longer than the timeout."""


class ToolError(CloisterError):
    """An external tool (git, bd, tmux, an agent CLI) is missing or failed."""


class TaskError(CloisterError):
    """A beads task is unknown or its data is unusable."""
