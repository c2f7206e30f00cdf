"""Starting an agent from a launch file: ``python -m cloisterctl.runtime.launch FILE``.

tmux passes the command it is to run through its own message to the server, which holds about
16 KB, and a handoff prompt is often longer. So the agent's argv template and the values of its
placeholders (the prompt among them) are written to a JSON file under ``.cloister/local/``; tmux
runs this small program with only the file's path. The file is removed once read.

The launcher starts the agent as its child, on the same terminal, and waits for it (no shell): when
the agent exits, its exit code and the last lines the pane shows are written to the launch file's
``exit_file`` (``.cloister/local/exit-SESSION.json``), so a handoff whose new agent dies can say
why, instead of finding only that the tmux session is gone. Ctrl-C reaches the agent (the
launcher ignores it); SIGTERM is passed on. A program that cannot be run exits 127 with the reason.

Placeholders are filled in one pass over the template, so text inside a value (a task title that
says ``{workspace}``) is never expanded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cloisterctl.workspace.layout import without_machine_paths

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# One argv element may hold at most this many bytes on Linux (MAX_ARG_STRLEN); a prompt must fit.
MAX_ARGUMENT_BYTES = 128 * 1024 - 1
TAIL_LINES = 20  # of the pane, kept when the agent exits
TAIL_WIDTH = 300


def fill_template(template: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Substitute ``{name}`` placeholders argument by argument, in one pass; no splitting, no shell.
    A placeholder without a value is left as it is."""
    return [PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in template]


def agent_path(runtime_env: Mapping[str, str]) -> str:
    """The PATH an agent runs with: ``runtime.env.PATH`` when the config sets one, else this
    process's (under cron or systemd, the one the schedule sets), with the directory of this
    cloisterctl's own interpreter last, so that the hooks' `cloisterctl` (called by name) is found
    even when it is installed off the PATH."""
    path = runtime_env.get("PATH") or os.environ.get("PATH") or os.defpath
    own = os.path.dirname(sys.executable)
    return path if own in path.split(os.pathsep) else f"{path}{os.pathsep}{own}"


def resolve_program(name: str, path: str, cwd: Path) -> str | None:
    """Where ``name`` runs from with ``path`` (a name with a slash: relative to ``cwd``); None when it
    is not an executable file there."""
    if not name:
        return None
    if "/" in name:
        candidate = Path(name) if os.path.isabs(name) else cwd / name
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which(name, path=path)


def read_exit_file(path: Path) -> dict[str, Any] | None:
    """What the launcher wrote when the agent exited (``exit_code``, ``output``, ``seconds``), or None.
    The output is bound for the committed ledger: the work tree's path (the file is in its
    ``.cloister/local/``) is written ``.`` and the home directory ``~`` (``without_machine_paths``)."""
    from cloisterctl.errors import UnsafeFileError
    from cloisterctl.files import safeopen

    try:
        data = json.loads(safeopen.read_capped(path, safeopen.JSON_CAP))
    except (OSError, ValueError, RecursionError, UnsafeFileError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exit_code"), int):
        return None
    output = data.get("output")
    root = str(path.parent.parent.parent)
    lines = [without_machine_paths(str(line), root)[:TAIL_WIDTH] for line in output] if isinstance(output, list) else []
    lines = lines[-TAIL_LINES:]
    return {"exit_code": data["exit_code"], "output": lines}


def describe_exit(info: Mapping[str, Any] | None) -> str:
    """``exit code 3; last output: ...`` for a message; what is known when nothing was recorded."""
    if info is None:
        return "no exit code recorded"
    code = int(info["exit_code"])
    text = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    output = [line for line in info.get("output") or [] if line.strip()]
    return text + (f"; last output: {' | '.join(output[-3:])}" if output else "")


def _pane_tail() -> list[str]:
    """The last lines of the tmux pane this launcher runs in (what the agent printed)."""
    socket, pane = os.environ.get("TMUX", "").split(",")[0], os.environ.get("TMUX_PANE")
    tmux = shutil.which("tmux")
    if not (socket and pane and tmux):
        return []
    try:
        shown = subprocess.run(
            [tmux, "-S", socket, "capture-pane", "-p", "-J", "-t", pane, "-S", "-200"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    lines = [line.rstrip()[:TAIL_WIDTH] for line in shown.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines[-TAIL_LINES:]


def _write_exit(path: str, code: int, output: list[str], seconds: float) -> None:
    from cloisterctl.files.atomic import atomic_write_text

    data = {"exit_code": code, "output": output, "seconds": round(seconds, 2)}
    try:
        atomic_write_text(Path(path), json.dumps(data))
    except OSError:
        pass  # nowhere to say it: the handoff reports the agent gone without its exit code


def run_and_report(command: list[str], exit_file: str) -> int:
    """Run the agent as a child on this terminal, wait, and record how it ended."""
    started = time.monotonic()
    # Handlers, not SIG_IGN: the child gets the default actions back when it execs.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGQUIT, lambda *_: None)
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        message = f"cloisterctl launch: cannot run {command[0]!r}: {exc.strerror}"
        print(message, file=sys.stderr)
        _write_exit(exit_file, 127, [message], time.monotonic() - started)
        return 127
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    code = child.wait()
    _write_exit(exit_file, code, _pane_tail(), time.monotonic() - started)
    return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cloisterctl.runtime.launch LAUNCH_FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as handle:
            spec = json.load(handle)
        os.unlink(argv[0])
        command = fill_template(spec["argv"], spec["values"])
        exit_file = spec.get("exit_file")
        # tmux gives a new pane its client's PATH whatever `-e` says: the PATH the command was
        # checked against is set here.
        os.environ.update({str(k): str(v) for k, v in (spec.get("env") or {}).items()})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cloisterctl launch: {argv[0]}: {exc}", file=sys.stderr)
        return 127
    if isinstance(exit_file, str) and exit_file:
        return run_and_report(command, exit_file)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"cloisterctl launch: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
